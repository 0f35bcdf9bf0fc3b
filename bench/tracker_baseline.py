"""Benchmark: the tracker service (no faults, retries off) against a bare consume loop.

One topic is filled once with the generator's valid orders; then, in the same run, each
round reads the whole topic twice with fresh consumer groups: a bare confluent-kafka loop
(`consume(500)`, `json.loads` of each value, an asynchronous commit per batch) and the
tracker service (parse and validate with the domain model, audit line per order, flush
before an asynchronous commit per batch). Both are timed from their first message to their
last; the tracker's start-up (files, topic check, group join) is left out just as the bare
loop's. Rounds alternate so that a busy machine slows both alike; medians are reported,
with the CPU time per order of the consuming thread (less sensitive to a busy machine).

Run: ``python bench/tracker_baseline.py [--bootstrap-servers HOST:PORT] [--count N]
[--rounds R]``. Without ``--bootstrap-servers`` a broker is started from tests/broker.py.
``--profile`` runs the tracker once more under pyinstrument and prints where time goes.
The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from harness import SEED, Timing, broker

from orderdesk.audit.writer import TRACKER_EVENTS
from orderdesk.config import Settings, load_settings
from orderdesk.kafka.clients import consumer_config, producer_config
from orderdesk.producer.generator import OrderGenerator
from orderdesk.tracker.service import TrackerResult, TrackerService
from orderdesk.tracker.stats import TrackerStats

PARTITIONS = 3


def fill_topic(settings: Settings, count: int) -> str:
    """A fresh topic holding `count` orders (faulty ones as `settings.producer` says), every
    one acknowledged."""
    topic = f"bench-tracker-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(30)
    generator = OrderGenerator(settings.producer, SEED)
    producer = Producer(producer_config(settings.kafka, **{"linger.ms": 20}))
    for _ in range(count):
        event = generator.next_event()
        while True:
            try:
                producer.produce(topic, event.value, event.key, headers=event.headers)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    if producer.flush(60) != 0:
        raise SystemExit("could not fill the topic")
    return topic


def bare_loop(
    settings: Settings, topic: str, count: int, read: Callable[[bytes], object] = json.loads
) -> Timing:
    """Orders per second of consume + json.loads + commit per batch, and CPU µs per order.

    `read` replaces json.loads: with `orderdesk.domain.check_order` it is the tracker's own
    parse and rules without the rest (audit, retries, bookkeeping)."""
    consumer = Consumer(consumer_config(settings.kafka, f"bench-bare-{uuid.uuid4().hex[:8]}"))
    consumer.subscribe([topic])
    seen = 0
    first = last = 0.0
    loads = read
    try:
        deadline = time.monotonic() + 300
        while seen < count and time.monotonic() < deadline:
            # The tracker's own batching: wait for one message, then take what else has
            # arrived; waiting for a full batch would time out on the topic's last one.
            msgs = consumer.consume(1, 0.5)
            if not msgs:
                continue
            msgs += consumer.consume(499, 0.001)
            if not first:
                first = time.perf_counter()
                cpu_first = time.thread_time()
            offsets: dict[int, int] = {}
            for msg in msgs:
                if msg.error() is not None:
                    continue
                loads(msg.value())
                offsets[msg.partition()] = msg.offset() + 1
                seen += 1
            consumer.commit(
                offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()],
                asynchronous=True,
            )
            last = time.perf_counter()
            cpu_last = time.thread_time()
    finally:
        consumer.close()
    if seen < count:
        raise SystemExit(f"bare loop read {seen} of {count}")
    return Timing(count / (last - first), (cpu_last - cpu_first) / count * 1e6)


@dataclass
class TrackerRun:
    """One run of the tracker service over a filled topic."""

    timing: Timing
    result: TrackerResult
    #: Size of the audit trail it wrote (tracker.events and its rotated files).
    audit_bytes: int


def tracker_run(
    settings: Settings, topic: str, count: int, log_parent: str | None = None
) -> TrackerRun:
    """Orders per second of the tracker service, first message to last, timed from its stats,
    and the CPU µs per order of the thread running it."""
    run = tracker_run_handled(settings, topic, count, log_parent)
    if run.result.stats.valid != count:
        raise SystemExit(f"tracker validated {run.result.stats.valid} of {count}")
    return run


def tracker_run_handled(
    settings: Settings, topic: str, count: int, log_parent: str | None = None
) -> TrackerRun:
    """Like `tracker_run`, counting every order handled to the end: validated, or
    dead-lettered and acknowledged on the dead-letter topic."""
    with tempfile.TemporaryDirectory(prefix="bench-tracker-", dir=log_parent) as log_dir:
        s = tracker_settings(settings, topic, Path(log_dir))
        marks: list[tuple[float, float, int]] = []

        def on_stats(stats: TrackerStats) -> None:
            # Called on the tracker's own thread, so thread_time is the loop's CPU time.
            handled = stats.valid + stats.dead_lettered_total
            marks.append((time.perf_counter(), time.thread_time(), handled))
            if handled >= count:
                tracker.stop()

        # Stopped from its stats rather than by drain(): the drain's broker queries (end
        # offsets, committed offsets) would otherwise block the loop inside the timed span.
        tracker = TrackerService(s, on_stats=on_stats, stats_interval=0.01)
        result = tracker.run()
        handled = result.stats.valid + result.stats.dead_lettered_total
        if handled != count:
            raise SystemExit(f"tracker handled {handled} of {count}")
        # From the last sample before the first order to the first sample with them all.
        start = max((m for m in marks if m[2] == 0), default=marks[0])
        end = min((m for m in marks if m[2] >= count), key=lambda m: m[0])
        timing = Timing(count / (end[0] - start[0]), (end[1] - start[1]) / count * 1e6)
        # The trail may have rotated: count every file of it.
        audit = sum(f.stat().st_size for f in Path(log_dir).glob(f"{TRACKER_EVENTS}*"))
        return TrackerRun(timing, result, audit)


def tracker_settings(settings: Settings, topic: str, log_dir: Path) -> Settings:
    return settings.model_copy(
        update={
            "topics": settings.topics.model_copy(update={"orders": topic, "dlq": topic + "-dlq"}),
            "tracker": settings.tracker.model_copy(
                update={"group": f"bench-tracker-{uuid.uuid4().hex[:8]}"}
            ),
            "log_dir": log_dir,
        }
    )


def profile(settings: Settings, topic: str) -> None:
    from pyinstrument import Profiler

    with tempfile.TemporaryDirectory(prefix="bench-tracker-") as log_dir:
        tracker = TrackerService(tracker_settings(settings, topic, Path(log_dir)))
        tracker.drain()
        profiler = Profiler(interval=0.0005)
        profiler.start()
        tracker.run()
        profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap-servers")
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--log-parent",
        help="where the tracker's log directories go (default: the system temp dir); "
        "/dev/shm shows the cost of the disk apart",
    )
    args = parser.parse_args(argv)
    with broker(args.bootstrap_servers) as bootstrap:
        settings = load_settings(
            overrides={"kafka.bootstrap_servers": bootstrap, "tracker.max_retries": 1},
            environ={},
        )
        topic = fill_topic(settings, args.count)
        bare_loop(settings, topic, args.count)  # warm-up: page cache, broker JIT
        bare, tracker, bare_cpu, tracker_cpu = [], [], [], []
        for _ in range(args.rounds):
            timing = bare_loop(settings, topic, args.count)
            bare.append(timing.per_s)
            bare_cpu.append(timing.cpu_us)
            timing = tracker_run(settings, topic, args.count, args.log_parent).timing
            tracker.append(timing.per_s)
            tracker_cpu.append(timing.cpu_us)
            print(
                f"bare {bare[-1]:,.0f}/s ({bare_cpu[-1]:.1f} µs CPU/order)  "
                f"tracker {tracker[-1]:,.0f}/s ({tracker_cpu[-1]:.1f} µs CPU/order)",
                file=sys.stderr,
            )
        if args.profile:
            profile(settings, topic)
    figures = {
        "count": args.count,
        "bare_per_s": round(statistics.median(bare)),
        "tracker_per_s": round(statistics.median(tracker)),
        "ratio": round(statistics.median(tracker) / statistics.median(bare), 3),
        "bare_cpu_us_per_order": round(statistics.median(bare_cpu), 1),
        "tracker_cpu_us_per_order": round(statistics.median(tracker_cpu), 1),
        "cpu_ratio": round(statistics.median(bare_cpu) / statistics.median(tracker_cpu), 3),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
