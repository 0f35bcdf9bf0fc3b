"""Benchmark: the producer service at full speed against a bare confluent-kafka loop.

Both write the same kind of payloads (the generator's orders, with their keys and headers)
with the same client settings (`orderdesk.kafka.clients.producer_config`: idempotent,
`acks=all`, lz4, the configured `linger.ms`, a delivery callback counting acknowledgements)
to fresh topics with the same partition count on the same broker, in the same run. The bare
loop gets its payloads generated before the clock starts; the service generates its own as
it goes, so the ratio shows what generation, pacing, counting and stats cost.

Rounds alternate between the two so that a busy machine slows both alike. Reported: the
best and the median rate of each, and the CPU time per order of the producing thread
(least of the rounds), which load elsewhere on the machine disturbs far less than wall
clock rates; the generator's own cost is given for reference.

Run: ``python bench/producer_baseline.py [--bootstrap-servers HOST:PORT] [--count N]
[--rounds R]``. Without ``--bootstrap-servers`` a broker is started from tests/broker.py.
``--profile`` runs the service once more under pyinstrument and prints where time goes.
The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid

from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from harness import SEED, Timing, broker

from orderdesk.config import Settings, load_settings
from orderdesk.kafka.clients import producer_config
from orderdesk.producer.generator import GeneratedEvent, OrderGenerator
from orderdesk.producer.service import ProducerService
from orderdesk.producer.stats import ProducerStats


def fresh_topic(admin: AdminClient, settings: Settings, prefix: str) -> str:
    name = f"bench-{prefix}-{uuid.uuid4().hex[:8]}"
    new = NewTopic(name, settings.topics.partitions, 1)
    admin.create_topics([new], operation_timeout=30)[name].result(30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        topic = admin.list_topics(name, timeout=5).topics.get(name)
        if topic and topic.error is None and all(p.leader >= 0 for p in topic.partitions.values()):
            return name
        time.sleep(0.05)
    raise TimeoutError(f"topic {name} not ready")


def bare_loop(settings: Settings, topic: str, events: list[GeneratedEvent]) -> Timing:
    """A plain produce/poll loop over ready-made payloads, timed to the end of its flush."""
    acknowledged = 0
    failed = 0

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        nonlocal acknowledged, failed
        if err is None:
            acknowledged += 1
        else:
            failed += 1

    producer = Producer(
        producer_config(
            settings.kafka, **{"linger.ms": settings.producer.linger_ms, "on_delivery": on_delivery}
        )
    )
    producer.list_topics(topic, timeout=10)  # connected and with metadata before the clock
    produce = producer.produce
    poll = producer.poll
    started, cpu = time.perf_counter(), time.thread_time()
    for event in events:
        while True:
            try:
                produce(topic, event.value, event.key, headers=event.headers)
                break
            except BufferError:
                poll(0.1)
        poll(0)
    remaining = producer.flush(60)
    elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu
    if remaining or failed or acknowledged != len(events):
        raise RuntimeError(f"bare loop: {acknowledged} acknowledged of {len(events)}")
    return Timing(len(events) / elapsed, cpu / len(events) * 1e6)


def service_run(settings: Settings, topic: str, count: int) -> tuple[Timing, float]:
    """The producer service, timed like the bare loop from its first order to the end of
    its final flush; also its rate over the whole run, set-up included."""
    run_settings = settings.model_copy(
        update={
            "topics": settings.topics.model_copy(update={"orders": topic}),
            "producer": settings.producer.model_copy(
                update={"count": count, "rate": 0.0, "seed": SEED}
            ),
        }
    )
    first_stats: list[tuple[float, float]] = []

    def on_stats(stats: ProducerStats) -> None:
        # The first snapshot is taken as the production loop starts, before any order;
        # it is called on the service's thread, which is this one.
        if not first_stats:
            first_stats.append((time.perf_counter(), time.thread_time()))

    result = ProducerService(run_settings, on_stats=on_stats).run()
    ended, cpu = time.perf_counter(), time.thread_time()
    if not result.ok:
        raise RuntimeError(f"service: {result.summary()}")
    started, cpu_started = first_stats[0]
    timing = Timing(
        result.acknowledged / (ended - started), (cpu - cpu_started) / result.acknowledged * 1e6
    )
    return timing, result.rate


def generator_only(settings: Settings, count: int) -> Timing:
    gen = OrderGenerator(settings.producer, SEED)
    started, cpu = time.perf_counter(), time.thread_time()
    for _ in range(count):
        gen.next_event()
    elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu
    return Timing(count / elapsed, cpu / count * 1e6)


def profile(settings: Settings, admin: AdminClient, count: int) -> None:
    from pyinstrument import Profiler

    topic = fresh_topic(admin, settings, "profile")
    profiler = Profiler(interval=0.0005)
    profiler.start()
    service_run(settings, topic, count)
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap-servers")
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)

    with broker(args.bootstrap_servers) as bootstrap:
        settings = load_settings(overrides={"kafka.bootstrap_servers": bootstrap}, environ={})
        admin = AdminClient({"bootstrap.servers": bootstrap})
        gen = OrderGenerator(settings.producer, SEED)
        events = [gen.next_event() for _ in range(args.count)]
        # Warm up the broker (JIT, log segments) so the first measured round is not penalised.
        bare_loop(settings, fresh_topic(admin, settings, "warmup"), events[: args.count // 4])

        bare: list[Timing] = []
        service: list[Timing] = []
        whole: list[float] = []
        generator: list[Timing] = []
        for round_ in range(1, args.rounds + 1):
            bare.append(bare_loop(settings, fresh_topic(admin, settings, "bare"), events))
            timing, overall = service_run(settings, fresh_topic(admin, settings, "svc"), args.count)
            service.append(timing)
            whole.append(overall)
            generator.append(generator_only(settings, args.count))
            print(
                f"round {round_}: bare {bare[-1].per_s:,.0f}/s {bare[-1].cpu_us:.1f} us  "
                f"service {service[-1].per_s:,.0f}/s {service[-1].cpu_us:.1f} us  "
                f"generator alone {generator[-1].per_s:,.0f}/s {generator[-1].cpu_us:.1f} us",
                file=sys.stderr,
            )
        figures = {
            "count": args.count,
            "rounds": args.rounds,
            "payload_bytes_mean": round(statistics.mean(len(e.value) for e in events)),
            # Best of the rounds: the run least disturbed by anything else on the machine.
            "bare_loop_best_per_s": round(max(t.per_s for t in bare)),
            "service_best_per_s": round(max(t.per_s for t in service)),
            "bare_loop_median_per_s": round(statistics.median(t.per_s for t in bare)),
            "service_median_per_s": round(statistics.median(t.per_s for t in service)),
            "service_whole_run_median_per_s": round(statistics.median(whole)),
            "generator_best_per_s": round(max(t.per_s for t in generator)),
            # CPU time of the producing thread per order, least of the rounds.
            "bare_loop_cpu_us": round(min(t.cpu_us for t in bare), 2),
            "service_cpu_us": round(min(t.cpu_us for t in service), 2),
            "generator_cpu_us": round(min(t.cpu_us for t in generator), 2),
        }
        figures["service_over_bare_best"] = round(
            figures["service_best_per_s"] / figures["bare_loop_best_per_s"], 3
        )
        figures["bare_over_service_cpu"] = round(
            figures["bare_loop_cpu_us"] / figures["service_cpu_us"], 3
        )
        print(
            f"best of {args.rounds}: bare loop {figures['bare_loop_best_per_s']:,}/s, "
            f"producer service {figures['service_best_per_s']:,}/s "
            f"(ratio {figures['service_over_bare_best']:.2f}); "
            f"medians {figures['bare_loop_median_per_s']:,}/s and "
            f"{figures['service_median_per_s']:,}/s; CPU per order "
            f"{figures['bare_loop_cpu_us']} us bare, {figures['service_cpu_us']} us service "
            f"(ratio {figures['bare_over_service_cpu']:.2f}), "
            f"generator alone {figures['generator_cpu_us']} us",
            file=sys.stderr,
        )
        if args.profile:
            profile(settings, admin, args.count)
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
