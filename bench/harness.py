"""What every benchmark shares: a broker to measure against, the plan of a run, figures,
and alternating rounds reduced to medians of rate and CPU time per order.

The machine may be shared: rounds of a figure and its baseline alternate (which one goes
first swaps every round, so neither always follows the other's broker work), and medians
are reported with the CPU time per order of the working thread, which is far less
sensitive to other load than wall-clock rates.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
SEED = 2024

T = TypeVar("T")


@contextlib.contextmanager
def broker(bootstrap: str | None) -> Iterator[str]:
    """`bootstrap` when given, else a broker from the test harness for the duration."""
    if bootstrap:
        yield bootstrap
        return
    sys.path.insert(0, str(REPO / "tests"))
    from broker import KafkaBroker

    with KafkaBroker() as running:
        yield running.bootstrap


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def tag() -> str:
    return uuid.uuid4().hex[:8]


def median(values: list[float]) -> float:
    return float(statistics.median(values))


@dataclass(frozen=True)
class Plan:
    """How much of everything: --quick scales it down."""

    producer_count: int
    producer_rounds: int
    startup_rounds: int
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
    startup_rounds=7,
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
    startup_rounds=3,
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


@dataclass
class Timing:
    """One run: orders per second (wall clock) and CPU microseconds per order of the
    working thread, which other load on the machine disturbs far less."""

    per_s: float
    cpu_us: float


def alternate(
    rounds: int,
    runs: dict[str, Callable[[], T]],
    progress: Callable[[int, dict[str, list[T]]], str] | None = None,
) -> dict[str, list[T]]:
    """Run every entry of `runs` once per round, in the given order on even rounds and the
    reverse on odd ones; returns each one's results, round by round."""
    results: dict[str, list[T]] = {name: [] for name in runs}
    names = list(runs)
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else reversed(names):
            results[name].append(runs[name]())
        if progress is not None:
            say(f"  round {round_ + 1}: {progress(round_, results)}")
    return results


def describe(timing: Timing) -> str:
    return f"{timing.per_s:,.0f}/s {timing.cpu_us:.1f} us/order"


def rate_and_cpu(
    label: str,
    value: list[Timing],
    baseline: list[Timing],
    *,
    rate_target: float | None,
    cpu_target: float | None,
    details: dict[str, Any] | None = None,
    value_name: str = "value",
    baseline_name: str = "baseline",
) -> list[Figure]:
    """Two figures from alternating rounds: the median rate against the baseline's (ratio
    value/baseline) and the median CPU time per order (ratio baseline/value, so that for
    both higher is better and 1.0 is the baseline's own)."""
    rate_v, rate_b = median([t.per_s for t in value]), median([t.per_s for t in baseline])
    cpu_v, cpu_b = median([t.cpu_us for t in value]), median([t.cpu_us for t in baseline])
    rounds = {
        f"{baseline_name}_per_s": [round(t.per_s) for t in baseline],
        f"{value_name}_per_s": [round(t.per_s) for t in value],
        f"{baseline_name}_cpu_us": [round(t.cpu_us, 2) for t in baseline],
        f"{value_name}_cpu_us": [round(t.cpu_us, 2) for t in value],
    }
    rate_ratio, cpu_ratio = rate_v / rate_b, cpu_b / cpu_v
    return [
        Figure(
            f"{label} orders/s",
            rate_v,
            rate_b,
            "/s",
            rate_ratio,
            "info" if rate_target is None else f">= {rate_target:g}",
            None if rate_target is None else rate_ratio >= rate_target,
            {**(details or {}), **rounds},
        ),
        Figure(
            f"{label} CPU us/order (baseline/value)",
            cpu_v,
            cpu_b,
            "us",
            cpu_ratio,
            "info" if cpu_target is None else f">= {cpu_target:g}",
            None if cpu_target is None else cpu_ratio >= cpu_target,
        ),
    ]
