"""The end of a tracker run: its result, and a consumer close that cannot hold the stop up."""

from __future__ import annotations

import threading
import time
from typing import Any

from confluent_kafka import KafkaException

from orderdesk.domain import LogLevel
from orderdesk.kafka.records import record_offset
from orderdesk.tracker.context import LogFunction, TrackerContext
from orderdesk.tracker.offsets import OffsetKeeper
from orderdesk.tracker.result import TrackerResult
from orderdesk.tracker.stats import TrackerStats

#: Least time given to the consumer's close, even when the stop timeout is spent.
CLOSE_GRACE = 1.0


def run_result(
    ctx: TrackerContext,
    offsets: OffsetKeeper,
    stats: TrackerStats,
    error: str | None,
    unsent_letters: int,
) -> TrackerResult:
    """What the run did, taken before the consumer closes (and forgets the partitions)."""
    resume_at: dict[int, int] = {}
    for part in ctx.parts:
        end = part.done_upto
        if part.backlog:
            end = record_offset(part.backlog[-1]) + 1
        elif part.retry is not None and end is None:
            end = record_offset(part.retry.msg) + 1
        confirmed = offsets.committed.get(part.number)
        if end is not None and (confirmed is None or confirmed < end):
            resume_at[part.number] = confirmed if confirmed is not None else -1
    # Where the next run starts: the offset last confirmed as committed, also for the
    # partitions whose final commit failed (a frozen broker may have ended the session).
    for number in offsets.uncommitted:
        resume_at.setdefault(number, offsets.committed.get(number, -1))
    counters = ctx.counters
    return TrackerResult(
        stats=stats,
        committed=dict(offsets.committed),
        error=error,
        uncommitted=dict(offsets.uncommitted),
        resume_at={n: o for n, o in sorted(resume_at.items()) if o >= 0},
        pending_dead_letters=max(ctx.parts.pending_dead_letters(), unsent_letters),
        left_for_next_run=stats.in_flight + counters.released + counters.unaudited,
    )


def close_consumer(consumer: Any, deadline: float, log: LogFunction) -> None:
    """Close the consumer; a broker that does not answer may not hold the stop up."""

    def close() -> None:
        try:
            consumer.close()
        except (KafkaException, RuntimeError) as exc:
            log(LogLevel.WARNING, "consumer did not close cleanly", error=exc)

    closer = threading.Thread(target=close, name="tracker-consumer-close", daemon=True)
    closer.start()
    closer.join(max(CLOSE_GRACE, deadline - time.monotonic()))
    if closer.is_alive():
        log(
            LogLevel.WARNING,
            "the consumer did not close in time; leaving it behind "
            "(the broker drops the member when its session expires)",
        )


def log_stopped(log: LogFunction, result: TrackerResult) -> None:
    stats = result.stats
    clean = result.ok
    log(
        LogLevel.INFO if clean else LogLevel.WARNING,
        "tracker stopped" if clean else "tracker stopped, not cleanly",
        received=stats.received,
        valid=stats.valid,
        dead_lettered=stats.dead_lettered_total,
        retries=stats.retries,
        left_for_next_run=result.left_for_next_run,
        resume_at=result.resume_at or None,
        uncommitted=result.uncommitted or None,
        pending_dead_letters=result.pending_dead_letters,
    )
