"""OrderDesk benchmarks: every figure next to a baseline measured in the same run.

    python bench/run.py [--quick] [--bootstrap-servers HOST:PORT] [--only NAME ...]

Without ``--bootstrap-servers`` a throwaway Apache Kafka broker is started with the test
suite's harness (tests/broker.py). Prints one table (figure, value, baseline, ratio,
target, met?) and writes every figure with its details to bench/results.json.

Figures (names for ``--only``):

producer   orders/s of the producer service at rate 0 against a bare confluent-kafka loop
           producing the same pre-made payloads with the same client settings
tracker    orders/s of the tracker (parse, validate, audit, commit) against a bare consume
           loop with json.loads and a commit per batch
latency    produce-to-validation latency through producer and tracker at a fixed pace,
           against a bare producer and consumer at the same pace
deadletter tracker orders/s with 10 % faulty orders against the tracker with none
memory     peak RSS of ``python -m orderdesk --producer --tracker --rate 0`` against its RSS
           after the first 30 s (quick: 10 s)
gui        longest event-loop stall of the main window with both services flat out,
           against the same window idle (each in its own process, offscreen)
audit      open and filter an audit trail of 1,000,000 lines (quick: 200,000) in the audit
           browser's index, against reading the file once with plain Python

A full run takes about ten minutes (five of them the memory figure); --quick about two
(one of them the memory figure), with fewer orders, rounds and audit lines.

The machine may be shared: rounds of a figure and its baseline alternate, and medians are
reported, with the CPU time per order of the working thread, which is far less sensitive
to other load than wall-clock rates.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import producer_baseline  # noqa: E402
import tracker_baseline  # noqa: E402
from confluent_kafka import Consumer, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402
from harness import broker  # noqa: E402

from orderdesk.config import Settings, load_settings  # noqa: E402
from orderdesk.domain import LogEntry, Order  # noqa: E402
from orderdesk.kafka.clients import consumer_config, producer_config  # noqa: E402
from orderdesk.producer.generator import OrderGenerator  # noqa: E402
from orderdesk.producer.service import ProducerService  # noqa: E402
from orderdesk.tracker.service import TrackerService  # noqa: E402

RESULTS = BENCH / "results.json"
SEED = 2024


@dataclass
class Figure:
    """One row of the table: a measured value, its baseline, and the target on them."""

    name: str
    value: float | None
    baseline: float | None
    unit: str
    #: value / baseline (or what the target is stated on), None when not meaningful.
    ratio: float | None
    target: str
    met: bool | None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """How much of everything: --quick scales it down."""

    producer_count: int
    producer_rounds: int
    tracker_count: int
    tracker_rounds: int
    latency_rate: float
    latency_count: int
    latency_rounds: int
    dlq_count: int
    dlq_rounds: int
    memory_seconds: float
    memory_baseline_at: float
    gui_seconds: float
    audit_lines: int


FULL = Plan(
    producer_count=50_000,
    producer_rounds=7,
    tracker_count=50_000,
    tracker_rounds=5,
    latency_rate=1000.0,
    latency_count=20_000,
    latency_rounds=2,
    dlq_count=50_000,
    dlq_rounds=5,
    memory_seconds=300.0,
    memory_baseline_at=30.0,
    gui_seconds=20.0,
    audit_lines=1_000_000,
)
QUICK = Plan(
    producer_count=40_000,
    producer_rounds=5,
    tracker_count=20_000,
    tracker_rounds=3,
    latency_rate=1000.0,
    latency_count=4_000,
    latency_rounds=1,
    dlq_count=20_000,
    dlq_rounds=3,
    memory_seconds=60.0,
    memory_baseline_at=10.0,
    gui_seconds=5.0,
    audit_lines=200_000,
)
NAMES = ("producer", "tracker", "latency", "deadletter", "memory", "gui", "audit")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def base_settings(bootstrap: str) -> Settings:
    # One processing attempt: the figures measure the tracker, not its simulated failures.
    return load_settings(
        overrides={"kafka.bootstrap_servers": bootstrap, "tracker.max_retries": 1}, environ={}
    )


def tag() -> str:
    return uuid.uuid4().hex[:8]


def median(values: list[float]) -> float:
    return float(statistics.median(values))


# -- 1. producer ---------------------------------------------------------------------------


def bench_producer(settings: Settings, plan: Plan) -> list[Figure]:
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    gen = OrderGenerator(settings.producer, SEED)
    events = [gen.next_event() for _ in range(plan.producer_count)]
    fresh = producer_baseline.fresh_topic
    producer_baseline.bare_loop(settings, fresh(admin, settings, "warmup"), events[::4])
    bare, service = [], []
    for round_ in range(plan.producer_rounds):
        # Alternate which goes first, so neither always follows the other's broker work.
        order = ("bare", "svc") if round_ % 2 == 0 else ("svc", "bare")
        for which in order:
            topic = fresh(admin, settings, which)
            if which == "bare":
                bare.append(producer_baseline.bare_loop(settings, topic, events))
            else:
                service.append(
                    producer_baseline.service_run(settings, topic, plan.producer_count)[0]
                )
        say(
            f"  producer round {round_ + 1}: bare {bare[-1].per_s:,.0f}/s "
            f"{bare[-1].cpu_us:.1f} us/order, service {service[-1].per_s:,.0f}/s "
            f"{service[-1].cpu_us:.1f} us/order"
        )
    rate_b, rate_s = median([t.per_s for t in bare]), median([t.per_s for t in service])
    cpu_b, cpu_s = median([t.cpu_us for t in bare]), median([t.cpu_us for t in service])
    size = round(statistics.mean(len(e.value) for e in events))
    rounds = {
        "bare_per_s": [round(t.per_s) for t in bare],
        "service_per_s": [round(t.per_s) for t in service],
        "bare_cpu_us": [round(t.cpu_us, 2) for t in bare],
        "service_cpu_us": [round(t.cpu_us, 2) for t in service],
    }
    return [
        Figure(
            "producer orders/s (rate 0)",
            rate_s,
            rate_b,
            "/s",
            rate_s / rate_b,
            ">= 0.8",
            rate_s / rate_b >= 0.8,
            {"payload_bytes_mean": size, "count": plan.producer_count, **rounds},
        ),
        Figure(
            "producer CPU us/order (baseline/value)",
            cpu_s,
            cpu_b,
            "us",
            cpu_b / cpu_s,
            "info",
            None,
        ),
    ]


# -- 2. tracker and 4. dead-letter path ----------------------------------------------------


def fill_topic(settings: Settings, count: int, faulty_ratio: float) -> str:
    s = settings.model_copy(
        update={"producer": settings.producer.model_copy(update={"faulty_ratio": faulty_ratio})}
    )
    return tracker_baseline.fill_topic(s, count)


def bench_tracker(settings: Settings, plan: Plan) -> list[Figure]:
    count = plan.tracker_count
    topic = fill_topic(settings, count, 0.0)
    tracker_baseline.bare_loop(settings, topic, count)  # warm-up: page cache, broker JIT
    bare, tracker = [], []
    for round_ in range(plan.tracker_rounds):
        order = ("bare", "tracker") if round_ % 2 == 0 else ("tracker", "bare")
        for which in order:
            if which == "bare":
                bare.append(tracker_baseline.bare_loop(settings, topic, count))
            else:
                tracker.append(tracker_baseline.tracker_run(settings, topic, count))
        say(
            f"  tracker round {round_ + 1}: bare {bare[-1][0]:,.0f}/s {bare[-1][1]:.1f} us/order,"
            f" tracker {tracker[-1][0]:,.0f}/s {tracker[-1][1]:.1f} us/order"
        )
    rate_b, rate_t = median([r for r, _ in bare]), median([r for r, _ in tracker])
    cpu_b, cpu_t = median([c for _, c in bare]), median([c for _, c in tracker])
    rounds = {
        "bare_per_s": [round(r) for r, _ in bare],
        "tracker_per_s": [round(r) for r, _ in tracker],
        "bare_cpu_us": [round(c, 2) for _, c in bare],
        "tracker_cpu_us": [round(c, 2) for _, c in tracker],
    }
    return [
        Figure(
            "tracker orders/s (no faults)",
            rate_t,
            rate_b,
            "/s",
            rate_t / rate_b,
            ">= 0.5",
            rate_t / rate_b >= 0.5,
            {"count": count, **rounds},
        ),
        Figure(
            "tracker CPU us/order (baseline/value)",
            cpu_t,
            cpu_b,
            "us",
            cpu_b / cpu_t,
            "info",
            None,
        ),
    ]


def bench_deadletter(settings: Settings, plan: Plan) -> list[Figure]:
    count = plan.dlq_count
    topics = {"clean": fill_topic(settings, count, 0.0), "faulty": fill_topic(settings, count, 0.1)}
    tracker_baseline.tracker_run(settings, topics["clean"], count)  # warm-up
    runs: dict[str, list[tuple[float, float]]] = {"clean": [], "faulty": []}
    dead = 0
    for round_ in range(plan.dlq_rounds):
        order = ("clean", "faulty") if round_ % 2 == 0 else ("faulty", "clean")
        for which in order:
            rate, cpu, result = tracker_baseline.tracker_run_handled(settings, topics[which], count)
            runs[which].append((rate, cpu))
            if which == "faulty":
                dead = result.stats.dead_lettered_total
        say(
            f"  dead-letter round {round_ + 1}: 0 % faulty {runs['clean'][-1][0]:,.0f}/s, "
            f"10 % faulty {runs['faulty'][-1][0]:,.0f}/s ({dead:,} dead letters)"
        )
    rate_c = median([r for r, _ in runs["clean"]])
    rate_f = median([r for r, _ in runs["faulty"]])
    cpu_c = median([c for _, c in runs["clean"]])
    cpu_f = median([c for _, c in runs["faulty"]])
    return [
        Figure(
            "dead-letter path orders/s (10 % faulty)",
            rate_f,
            rate_c,
            "/s",
            rate_f / rate_c,
            ">= 0.8",
            rate_f / rate_c >= 0.8,
            {
                "count": count,
                "dead_lettered": dead,
                "clean_per_s": [round(r) for r, _ in runs["clean"]],
                "faulty_per_s": [round(r) for r, _ in runs["faulty"]],
                "clean_cpu_us": [round(c, 2) for _, c in runs["clean"]],
                "faulty_cpu_us": [round(c, 2) for _, c in runs["faulty"]],
            },
        ),
        Figure(
            "dead-letter CPU us/order (baseline/value)",
            cpu_f,
            cpu_c,
            "us",
            cpu_c / cpu_f,
            "info",
            None,
        ),
    ]


# -- 3. end-to-end latency -----------------------------------------------------------------


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
            latencies.append(now() - order.metadata.timestamp.timestamp())

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


def bench_latency(settings: Settings, plan: Plan) -> list[Figure]:
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
            "<= 2.0",
            p99 <= 2.0,
        ),
    ]


# -- 5. memory -----------------------------------------------------------------------------


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def bench_memory(settings: Settings, plan: Plan) -> list[Figure]:
    name = tag()
    with tempfile.TemporaryDirectory(prefix="bench-rss-") as log_dir:
        command = [
            sys.executable,
            "-m",
            "orderdesk",
            "--producer",
            "--tracker",
            "--rate",
            "0",
            "--bootstrap-servers",
            settings.kafka.bootstrap_servers,
            "--topic",
            f"bench-rss-{name}",
            "--dlq-topic",
            f"bench-rss-{name}-dlq",
            "--group",
            f"bench-rss-{name}",
            "--log-dir",
            log_dir,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
        proc = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        samples: list[tuple[float, int]] = []
        started = time.monotonic()
        try:
            while (elapsed := time.monotonic() - started) < plan.memory_seconds:
                if proc.poll() is not None:
                    raise RuntimeError(f"orderdesk exited early: {proc.communicate()[1][-2000:]}")
                kib = rss_kib(proc.pid)
                if kib is not None:
                    samples.append((elapsed, kib))
                time.sleep(0.25)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                out, _ = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
    baseline = next(k for t, k in samples if t >= plan.memory_baseline_at)
    peak = max(k for _, k in samples)
    at_end = samples[-1][1]
    summary = dict(
        part.split("=", 1) for line in out.splitlines() for part in line.split() if "=" in part
    )
    details = {
        "seconds": plan.memory_seconds,
        "baseline_at_s": plan.memory_baseline_at,
        "baseline_mib": round(baseline / 1024, 1),
        "peak_mib": round(peak / 1024, 1),
        "end_mib": round(at_end / 1024, 1),
        "first_sample_mib": round(samples[0][1] / 1024, 1),
        "samples_mib_every_10s": [round(k / 1024, 1) for t, k in samples[::40]],
        "exit_status": proc.returncode,
        "received": summary.get("received"),
        "acknowledged": summary.get("acknowledged"),
    }
    # Bounded client queues fill while the tracker falls behind the producer; a leak would
    # keep growing after that, so the two halves of the run are compared too.
    half = plan.memory_seconds / 2
    first_half = max(k for t, k in samples if t < half)
    second_half = max(k for t, k in samples if t >= half)
    details["first_half_peak_mib"] = round(first_half / 1024, 1)
    details["second_half_peak_mib"] = round(second_half / 1024, 1)
    say(f"  memory: {details}")
    growth = peak / baseline
    return [
        Figure(
            f"peak RSS over {plan.memory_seconds:g} s flat out",
            peak / 1024,
            baseline / 1024,
            "MiB",
            growth,
            "< 1.10",
            growth < 1.10,
            details,
        ),
        Figure(
            "peak RSS, second half vs first half",
            second_half / 1024,
            first_half / 1024,
            "MiB",
            second_half / first_half,
            "info",
            None,
        ),
    ]


# -- 6. GUI event-loop stalls --------------------------------------------------------------


def gui_stall(bootstrap: str, seconds: float, idle: bool) -> dict[str, Any]:
    command = [
        sys.executable,
        str(BENCH / "gui_stall.py"),
        "--bootstrap-servers",
        bootstrap,
        "--seconds",
        str(seconds),
    ]
    if idle:
        command.append("--idle")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"gui_stall.py failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_gui(settings: Settings, plan: Plan) -> list[Figure]:
    bootstrap = settings.kafka.bootstrap_servers
    idle = gui_stall(bootstrap, plan.gui_seconds, idle=True)
    busy = gui_stall(bootstrap, plan.gui_seconds, idle=False)
    say(f"  gui idle: {idle}\n  gui busy: {busy}")
    value, base = busy["max_stall_ms"], idle["max_stall_ms"]
    return [
        Figure(
            "longest GUI stall, services flat out",
            value,
            base,
            "ms",
            value / base if base else None,
            "< 50 ms",
            value < 50,
            {"busy": busy, "idle": idle},
        )
    ]


# -- 7. audit browser ----------------------------------------------------------------------


def bench_audit(settings: Settings, plan: Plan) -> list[Figure]:
    import audit_browser
    import numpy as np

    from orderdesk.audit.index import EVENT_CODES, AuditFilter, AuditIndex

    lines = plan.audit_lines
    path = Path(tempfile.gettempdir()) / f"orderdesk-bench-{lines}.events"
    ids_path = path.with_suffix(".ids")
    if not path.exists() or not ids_path.exists():
        say(f"  generating {lines:,} audit lines into {path} (cached for later runs)")
        ids = audit_browser.generate_audit_file(path, lines)
        ids_path.write_text("\n".join(ids))

    def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
        t0 = time.perf_counter()
        result = fn()
        return time.perf_counter() - t0, result

    def plain() -> int:
        n = 0
        with path.open("rb") as f:
            for _ in f:
                n += 1
        return n

    plain()  # the file in the page cache for both
    t_plain, n_lines = timed(plain)
    index = AuditIndex(path)
    t_index, _ = timed(index.index_all)
    t_first, _ = timed(lambda: [index.row(i) for i in range(40)])
    t_open = t_index + t_first

    # An order from the second half that was retried, then dead-lettered: four events.
    dead = np.flatnonzero(index.codes == EVENT_CODES["order.dead_lettered"])
    dead = dead[dead > index.line_count // 2]
    rows = index.rows(dead[:500].tolist())
    wanted = next((r.order_id for r in rows if "transient" in r.error), rows[0].order_id)
    filters = {
        "order id": AuditFilter(order_id=wanted),
        "event type": AuditFilter(event_types={"order.dead_lettered"}),
        "text": AuditFilter(text="Espresso Machine"),
        "text, type and time": AuditFilter(
            text="transient",
            event_types={"order.retried"},
            since=datetime(2026, 11, 25, 8, 10, tzinfo=UTC),
        ),
    }
    filter_s = {}
    for label, flt in filters.items():
        t, hits = timed(lambda flt=flt: index.matching(flt))
        filter_s[label] = (round(t, 3), len(hits))
    t_filter = max(t for t, _ in filter_s.values())
    details = {
        "lines": n_lines,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "index_s": round(t_index, 3),
        "first_rows_s": round(t_first, 4),
        "filters_s_and_hits": filter_s,
        "order_id": wanted,
    }
    say(f"  audit: plain read {t_plain:.3f} s, {details}")
    gui = audit_gui(path, wanted)
    details["widget"] = gui
    say(f"  audit widget: {gui}")
    scaled = f" ({lines:,} lines{'' if lines == 1_000_000 else ', quick'})"
    return [
        Figure(
            f"audit browser index: open{scaled}",
            t_open,
            t_plain,
            "s",
            t_open / t_plain,
            "< 2 s",
            t_open < 2.0,
            details,
        ),
        Figure(
            f"audit browser widget: open to indexed{scaled}",
            gui["open_s"],
            t_plain,
            "s",
            gui["open_s"] / t_plain,
            "< 2 s",
            gui["open_s"] < 2.0,
        ),
        Figure(
            f"audit browser widget: order id filter{scaled}",
            gui["filter_s"],
            t_plain,
            "s",
            gui["filter_s"] / t_plain,
            "< 1 s",
            gui["filter_s"] < 1.0,
        ),
        Figure(
            f"audit browser index: slowest filter{scaled}",
            t_filter,
            t_plain,
            "s",
            t_filter / t_plain,
            "< 1 s",
            t_filter < 1.0,
        ),
    ]


def audit_gui(path: Path, order_id: str) -> dict[str, float]:
    """The real widget, offscreen, in its own process: open_file until the whole file is
    indexed, then an order id filter until its rows are shown (bench/audit_browser.py)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    command = [sys.executable, str(BENCH / "run.py"), "--audit-widget", str(path), order_id]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"audit widget: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def audit_widget_main(path: str, order_id: str) -> int:
    import audit_browser

    rows = {name: secs for name, secs, _ in audit_browser._gui_rows(Path(path), order_id)}

    def pick(start: str) -> float:
        return round(next(v for k, v in rows.items() if k.startswith(start)), 3)

    print(
        json.dumps(
            {
                "first_rows_s": pick("GUI: open_file -> first rows"),
                "open_s": pick("GUI: open_file -> whole file"),
                "filter_s": pick("GUI: order id typed"),
                "stall_indexing_s": pick("GUI: longest event-loop stall while indexing"),
                "stall_filtering_s": pick("GUI: longest event-loop stall while filtering"),
            }
        )
    )
    return 0


SECTIONS: dict[str, Callable[[Settings, Plan], list[Figure]]] = {
    "producer": bench_producer,
    "tracker": bench_tracker,
    "latency": bench_latency,
    "deadletter": bench_deadletter,
    "memory": bench_memory,
    "gui": bench_gui,
    "audit": bench_audit,
}


# -- report --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


class LoadSampler:
    """Samples the 1-minute load average during the run, to show how busy the machine was."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="bench-load")

    def _run(self) -> None:
        while not self._stop.wait(5.0):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self.samples.append(os.getloadavg()[0])
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.samples.append(os.getloadavg()[0])


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit in ("ms", "us", "MiB"):
        return f"{value:,.1f} {unit}"
    return f"{value:.3f} {unit}"


def table(figures: list[Figure]) -> str:
    header = ("figure", "value", "baseline", "ratio", "target", "met?")
    rows = [
        (
            f.name,
            fmt(f.value, f.unit),
            fmt(f.baseline, f.unit),
            "-" if f.ratio is None else f"{f.ratio:.2f}",
            f.target,
            {True: "yes", False: "NO", None: "-"}[f.met],
        )
        for f in figures
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a run of about two minutes")
    parser.add_argument("--bootstrap-servers", help="a running broker (default: start one)")
    parser.add_argument("--only", nargs="+", choices=NAMES, help="just these figures")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument("--audit-widget", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.audit_widget:
        return audit_widget_main(*args.audit_widget)
    plan = QUICK if args.quick else FULL
    names = args.only or list(NAMES)
    figures: list[Figure] = []
    failures: dict[str, str] = {}
    started = time.monotonic()
    with LoadSampler() as load, broker(args.bootstrap_servers) as bootstrap:
        settings = base_settings(bootstrap)
        for name in names:
            say(f"{name} ...")
            t0 = time.monotonic()
            try:
                figures.extend(SECTIONS[name](settings, plan))
            except Exception as exc:  # one broken figure must not lose the others
                failures[name] = f"{type(exc).__name__}: {exc}"
                say(f"  {name} FAILED: {failures[name]}")
            say(f"  ({time.monotonic() - t0:.0f} s)")
    info = machine()
    info["load_average"] = {
        "min": min(load.samples),
        "median": median(load.samples),
        "max": max(load.samples),
    }
    text = table(figures)
    print(text)
    print(
        f"\n{'quick' if args.quick else 'full'} run, {time.monotonic() - started:.0f} s; "
        f"{info['nproc']} CPUs ({info['cpu']}), Python {info['python']}; load average "
        f"{info['load_average']['min']:.2f}..{info['load_average']['max']:.2f} "
        f"(median {info['load_average']['median']:.2f})"
    )
    for name, error in failures.items():
        print(f"{name}: FAILED: {error}")
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "plan": asdict(plan),
        "machine": info,
        "seconds": round(time.monotonic() - started),
        "figures": [asdict(f) for f in figures],
        "failures": failures,
    }
    args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"written: {args.output}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
