"""The tracker (parse, validate, audit, commit) against a bare consume loop with json.loads
and a commit per batch, on one topic read by both in alternating rounds
(bench/tracker_baseline.py); the same bare loop with the tracker's own verdict
(`check_order`: parse and rules) instead of json.loads (no audit) shows the limit the
tracker can approach; and the audit trail's bytes per order against the payload's."""

from __future__ import annotations

import statistics

import tracker_baseline
from harness import SEED, Figure, Plan, Timing, alternate, describe, median, rate_and_cpu

from orderdesk.config import Settings
from orderdesk.domain import check_order
from orderdesk.producer.generator import OrderGenerator


def with_faults(settings: Settings, faulty_ratio: float) -> Settings:
    producer = settings.producer.model_copy(update={"faulty_ratio": faulty_ratio})
    return settings.model_copy(update={"producer": producer})


def fill_topic(settings: Settings, count: int, faulty_ratio: float) -> str:
    return tracker_baseline.fill_topic(with_faults(settings, faulty_ratio), count)


def figures(settings: Settings, plan: Plan) -> list[Figure]:
    count = plan.tracker_count
    topic = fill_topic(settings, count, 0.0)
    gen = OrderGenerator(with_faults(settings, 0.0).producer, SEED)
    payload = statistics.mean(len(gen.next_event().value) for _ in range(count))
    tracker_baseline.bare_loop(settings, topic, count)  # warm-up: page cache, broker JIT
    audit_bytes: list[float] = []

    def tracker() -> Timing:
        run = tracker_baseline.tracker_run(settings, topic, count)
        audit_bytes.append(run.audit_bytes / count)
        return run.timing

    runs = alternate(
        plan.tracker_rounds,
        {
            "bare": lambda: tracker_baseline.bare_loop(settings, topic, count),
            "tracker": tracker,
            "parse": lambda: tracker_baseline.bare_loop(settings, topic, count, check_order),
        },
        lambda _, r: (
            f"tracker bare {describe(r['bare'][-1])}, "
            f"tracker {describe(r['tracker'][-1])}, bare + parse {describe(r['parse'][-1])}"
        ),
    )
    figures = rate_and_cpu(
        "tracker (no faults)",
        runs["tracker"],
        runs["bare"],
        rate_target=0.7,
        cpu_target=0.7,
        details={"count": count},
        value_name="tracker",
        baseline_name="bare",
    )
    figures += rate_and_cpu(
        "bare loop + parse and rules, no audit",
        runs["parse"],
        runs["bare"],
        rate_target=None,
        cpu_target=None,
        value_name="parse",
        baseline_name="bare",
    )
    per_order = median(audit_bytes)
    figures.append(
        Figure(
            "audit bytes per order (baseline: payload)",
            per_order,
            payload,
            "B",
            per_order / payload,
            "<= 1.3",
            per_order / payload <= 1.3,
            {"rounds": [round(b) for b in audit_bytes]},
        )
    )
    return figures
