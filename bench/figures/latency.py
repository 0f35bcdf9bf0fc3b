"""Produce-to-validation latency through producer and tracker at a fixed pace, against a
bare producer and consumer at the same pace on the same broker."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from harness import SEED, Figure, Plan, say, tag

from orderdesk.config import Settings
from orderdesk.domain import LogEntry, Order
from orderdesk.kafka.clients import consumer_config, producer_config
from orderdesk.producer.generator import OrderGenerator
from orderdesk.producer.service import ProducerService
from orderdesk.tracker.service import TrackerService


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def service_latency(settings: Settings, rate: float, count: int) -> list[float]:
    """Seconds from each order's `metadata.timestamp` (set as it is generated, just before
    it is produced) to its validation in the tracker, through both services."""
    name = tag()
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as log_dir:
        s = settings.model_copy(
            update={
                "topics": settings.topics.model_copy(
                    update={"orders": f"bench-lat-{name}", "dlq": f"bench-lat-{name}-dlq"}
                ),
                "tracker": settings.tracker.model_copy(update={"group": f"bench-lat-{name}"}),
                "producer": settings.producer.model_copy(
                    update={"rate": rate, "count": count, "seed": SEED, "faulty_ratio": 0.0}
                ),
                "log_dir": Path(log_dir),
            }
        )
        latencies: list[float] = []
        now = time.time

        def downstream(order: Order) -> None:
            # Called by the tracker right after parsing and validating, before the audit.
            created = order.metadata.created_at
            if created is not None:
                latencies.append(now() - created.timestamp())

        assigned = threading.Event()

        def on_log(entry: LogEntry) -> None:
            if entry.message == "partitions assigned":
                assigned.set()

        tracker = TrackerService(s, on_log=on_log, downstream=downstream)
        errors: list[BaseException] = []

        def run_tracker() -> None:
            try:
                tracker.run()
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=run_tracker, name="bench-tracker")
        thread.start()
        try:
            if not assigned.wait(60):
                raise RuntimeError(f"tracker got no partitions: {errors}")
            result = ProducerService(s).run()
            if not result.ok:
                raise RuntimeError(f"producer: {result.summary()}")
            deadline = time.monotonic() + 60
            while len(latencies) < count and time.monotonic() < deadline and not errors:
                time.sleep(0.05)
        finally:
            tracker.stop()
            thread.join(60)
        if len(latencies) < count:
            raise RuntimeError(f"tracker validated {len(latencies)} of {count}: {errors}")
        return latencies


def bare_latency(settings: Settings, rate: float, count: int) -> list[float]:
    """Seconds from produce() to the bare consumer's receipt, by the message's CreateTime
    (stamped by the client in produce(), in milliseconds like `metadata.timestamp`)."""
    name = tag()
    topic = f"bench-lat-bare-{name}"
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    from confluent_kafka.admin import NewTopic

    admin.create_topics([NewTopic(topic, settings.topics.partitions, 1)])[topic].result(30)
    gen = OrderGenerator(settings.producer, SEED)
    payloads = [gen.next_event() for _ in range(count)]
    latencies: list[float] = []
    assigned = threading.Event()
    done = threading.Event()

    def consume() -> None:
        consumer = Consumer(consumer_config(settings.kafka, f"bench-lat-bare-{name}"))
        consumer.subscribe([topic], on_assign=lambda c, p: assigned.set())
        now = time.time
        try:
            while not done.is_set() and len(latencies) < count:
                msg = consumer.poll(0.2)
                if msg is None or msg.error() is not None:
                    continue
                latencies.append(now() - msg.timestamp()[1] / 1000)
        finally:
            consumer.close()

    thread = threading.Thread(target=consume, name="bench-bare-consumer")
    thread.start()
    try:
        if not assigned.wait(60):
            raise RuntimeError("bare consumer got no partitions")
        producer = Producer(
            producer_config(settings.kafka, **{"linger.ms": settings.producer.linger_ms})
        )
        producer.list_topics(topic, timeout=10)
        start = time.perf_counter()
        for i, event in enumerate(payloads):
            # The same pace as the producer service: due times from the first order.
            wait = start + i / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            producer.produce(topic, event.value, event.key, headers=event.headers)
            producer.poll(0)
        producer.flush(30)
        deadline = time.monotonic() + 60
        while len(latencies) < count and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        done.set()
        thread.join(30)
    if len(latencies) < count:
        raise RuntimeError(f"bare consumer read {len(latencies)} of {count}")
    return latencies


def figures(settings: Settings, plan: Plan) -> list[Figure]:
    rate, count = plan.latency_rate, plan.latency_count
    # The first second (at least a tenth) warms up connections, fetchers and the group.
    warm = max(count // 10, int(rate))
    service: list[float] = []
    bare: list[float] = []
    for round_ in range(plan.latency_rounds):
        if round_ % 2 == 0:
            bare += bare_latency(settings, rate, count)[warm:]
            service += service_latency(settings, rate, count)[warm:]
        else:
            service += service_latency(settings, rate, count)[warm:]
            bare += bare_latency(settings, rate, count)[warm:]
        say(
            f"  latency round {round_ + 1}: bare p50 {percentile(bare, 50) * 1e3:.1f} ms "
            f"p99 {percentile(bare, 99) * 1e3:.1f} ms, services p50 "
            f"{percentile(service, 50) * 1e3:.1f} ms p99 {percentile(service, 99) * 1e3:.1f} ms"
        )
    ms = {
        "service_p50": percentile(service, 50) * 1e3,
        "service_p99": percentile(service, 99) * 1e3,
        "service_max": max(service) * 1e3,
        "bare_p50": percentile(bare, 50) * 1e3,
        "bare_p99": percentile(bare, 99) * 1e3,
        "bare_max": max(bare) * 1e3,
    }
    details = {
        "rate": rate,
        "orders_per_round": count,
        "rounds": plan.latency_rounds,
        "samples": len(service),
        "linger_ms": settings.producer.linger_ms,
        **{k: round(v, 2) for k, v in ms.items()},
    }
    p50 = ms["service_p50"] / ms["bare_p50"] if ms["bare_p50"] > 0 else None
    p99 = ms["service_p99"] / ms["bare_p99"]
    return [
        Figure(
            f"end-to-end latency p50 at {rate:g}/s",
            ms["service_p50"],
            ms["bare_p50"],
            "ms",
            p50,
            "info",
            None,
            details,
        ),
        Figure(
            f"end-to-end latency p99 at {rate:g}/s",
            ms["service_p99"],
            ms["bare_p99"],
            "ms",
            p99,
            "<= 1.5",
            p99 <= 1.5,
        ),
    ]
