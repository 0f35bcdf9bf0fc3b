"""The tracker (parse, validate, audit, commit) against a bare consume loop with json.loads
and a commit per batch, on one topic read by both in alternating rounds
(bench/tracker_baseline.py)."""

from __future__ import annotations

import tracker_baseline
from harness import Figure, Plan, alternate, describe, rate_and_cpu

from orderdesk.config import Settings


def fill_topic(settings: Settings, count: int, faulty_ratio: float) -> str:
    s = settings.model_copy(
        update={"producer": settings.producer.model_copy(update={"faulty_ratio": faulty_ratio})}
    )
    return tracker_baseline.fill_topic(s, count)


def figures(settings: Settings, plan: Plan) -> list[Figure]:
    count = plan.tracker_count
    topic = fill_topic(settings, count, 0.0)
    tracker_baseline.bare_loop(settings, topic, count)  # warm-up: page cache, broker JIT
    runs = alternate(
        plan.tracker_rounds,
        {
            "bare": lambda: tracker_baseline.bare_loop(settings, topic, count),
            "tracker": lambda: tracker_baseline.tracker_run(settings, topic, count),
        },
        lambda _, r: (
            f"tracker bare {describe(r['bare'][-1])}, tracker {describe(r['tracker'][-1])}"
        ),
    )
    return rate_and_cpu(
        "tracker (no faults)",
        runs["tracker"],
        runs["bare"],
        rate_target=0.7,
        cpu_target=0.7,
        details={"count": count},
        value_name="tracker",
        baseline_name="bare",
    )
