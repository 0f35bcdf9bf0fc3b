"""The tracker with 10 % faulty orders against the same tracker with none."""

from __future__ import annotations

import tracker_baseline
from harness import Figure, Plan, Timing, alternate, describe, rate_and_cpu

from figures.tracker import fill_topic
from orderdesk.config import Settings


def figures(settings: Settings, plan: Plan) -> list[Figure]:
    count = plan.dlq_count
    topics = {"clean": fill_topic(settings, count, 0.0), "faulty": fill_topic(settings, count, 0.1)}
    tracker_baseline.tracker_run(settings, topics["clean"], count)  # warm-up
    dead = 0

    def run(which: str) -> Timing:
        nonlocal dead
        run = tracker_baseline.tracker_run_handled(settings, topics[which], count)
        if which == "faulty":
            dead = run.result.stats.dead_lettered_total
        return run.timing

    runs = alternate(
        plan.dlq_rounds,
        {"clean": lambda: run("clean"), "faulty": lambda: run("faulty")},
        lambda _, r: (
            f"dead-letter 0 % faulty {describe(r['clean'][-1])}, "
            f"10 % faulty {describe(r['faulty'][-1])} ({dead:,} dead letters)"
        ),
    )
    figures = rate_and_cpu(
        "dead-letter path (10 % faulty)",
        runs["faulty"],
        runs["clean"],
        rate_target=0.8,
        cpu_target=None,
        details={"count": count},
        value_name="faulty",
        baseline_name="clean",
    )
    figures[0].details["dead_lettered"] = dead
    return figures
