"""OrderDesk benchmarks: every figure next to a baseline measured in the same run.

    python bench/run.py [--quick] [--bootstrap-servers HOST:PORT] [--only NAME ...]

Without ``--bootstrap-servers`` a throwaway Apache Kafka broker is started with the test
suite's harness (tests/broker.py). Prints one table (figure, value, baseline, ratio,
target, met?) and writes every figure with its details to bench/results.json.

Figures (names for ``--only``):

producer   orders/s and CPU per order of the producer service at rate 0 against a bare
           confluent-kafka loop producing the same pre-made payloads with the same settings
startup    CPU time of ``python -m orderdesk --producer --count 1`` against ``python -c pass``
tracker    orders/s and CPU per order of the tracker (parse, validate, audit, commit) against
           a bare consume loop with json.loads and a commit per batch; the same loop with
           OrderDesk's parse and rules (no audit); audit bytes per order against the payload
latency    produce-to-validation latency through producer and tracker at a fixed pace,
           against a bare producer and consumer at the same pace
deadletter tracker orders/s with 10 % faulty orders against the tracker with none
memory     peak RSS of ``python -m orderdesk --producer --tracker --rate 0`` against the RSS
           it reached in the first 30 s (quick: 10 s)
gui        longest event-loop stall of the main window with both services flat out,
           against the same window idle (each in its own process, offscreen)
audit      open and filter an audit trail of 1,000,000 lines (quick: 200,000) in the audit
           browser's index, against reading the file once with plain Python

Each figure lives in its own module under bench/figures/; bench/harness.py has what they
share (alternating rounds, medians, rate and CPU figures), bench/report.py the table.

A full run takes about ten minutes (five of them the memory figure); --quick about two
(one of them the memory figure), with fewer orders, rounds and audit lines.

The machine may be shared: rounds of a figure and its baseline alternate, and medians are
reported, with the CPU time per order of the working thread, which is far less sensitive
to other load than wall-clock rates.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from confluent_kafka.admin import AdminClient  # noqa: E402
from figures import (  # noqa: E402
    audit,
    deadletter,
    gui,
    latency,
    memory,
    producer,
    producer_startup,
    tracker,
)
from harness import FULL, QUICK, Figure, Plan, broker, median, say  # noqa: E402
from report import LoadSampler, machine, table  # noqa: E402

from orderdesk.config import Settings, load_settings  # noqa: E402

RESULTS = BENCH / "results.json"

SECTIONS: dict[str, Callable[[Settings, Plan], list[Figure]]] = {
    "producer": producer.figures,
    "startup": producer_startup.figures,
    "tracker": tracker.figures,
    "latency": latency.figures,
    "deadletter": deadletter.figures,
    "memory": memory.figures,
    "gui": gui.figures,
    "audit": audit.figures,
}
NAMES = tuple(SECTIONS)


def topics(bootstrap: str) -> set[str] | None:
    """The broker's topics, None when it does not answer."""
    try:
        return set(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=30).topics)
    except Exception as exc:
        say(f"  cannot list topics: {exc}")
        return None


def delete_topics(bootstrap: str, before: set[str] | None) -> None:
    """Delete the topics made since `before` (a figure's); best effort, failures reported."""
    after = topics(bootstrap)
    if before is None or after is None:
        return
    names = {n for n in after - before if not n.startswith("_")}
    if not names:
        return
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for name, future in admin.delete_topics(sorted(names), operation_timeout=30).items():
        try:
            future.result(60)
        except Exception as exc:  # the figures are already measured
            say(f"  could not delete topic {name}: {exc}")


def base_settings(bootstrap: str) -> Settings:
    # One processing attempt: the figures measure the tracker, not its simulated failures.
    return load_settings(
        overrides={"kafka.bootstrap_servers": bootstrap, "tracker.max_retries": 1}, environ={}
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a run of about two minutes")
    parser.add_argument("--bootstrap-servers", help="a running broker (default: start one)")
    parser.add_argument("--only", nargs="+", choices=NAMES, help="just these figures")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument("--audit-widget", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.audit_widget:
        return audit.widget_main(*args.audit_widget)
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
            before = topics(bootstrap)
            try:
                figures.extend(SECTIONS[name](settings, plan))
            except Exception as exc:  # one broken figure must not lose the others
                failures[name] = f"{type(exc).__name__}: {exc}"
                say(f"  {name} FAILED: {failures[name]}")
            finally:
                # The memory figure alone writes gigabytes: on a broker that outlives the
                # run (--bootstrap-servers), runs would fill its disk.
                delete_topics(bootstrap, before)
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
