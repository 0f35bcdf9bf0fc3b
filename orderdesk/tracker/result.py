"""What a tracker run did: `TrackerResult` and its one-line summary."""

from __future__ import annotations

from dataclasses import dataclass, field

from orderdesk.tracker.stats import TrackerStats


@dataclass(frozen=True)
class TrackerResult:
    """What a tracker run did, returned by `run()` (and attached to its `ServiceError`).

    Every message received is accounted for: `received == valid + dead_lettered +
    left_for_next_run`, where those left are the ones in flight at the stop (in retry, held
    back, waiting for their dead letter's acknowledgement, or audited too late to count),
    and the ones handed to another member of the group with their partition.
    """

    stats: TrackerStats
    #: Offset the broker confirmed as committed for each partition of the orders topic.
    committed: dict[int, int] = field(default_factory=dict)
    #: Why the run ended early, when it did (the message of the `ServiceError`).
    error: str | None = None
    #: Offsets the final commit tried and the broker did not confirm within the stop timeout.
    uncommitted: dict[int, int] = field(default_factory=dict)
    #: Where the next run starts, for the partitions with messages left for it.
    resume_at: dict[int, int] = field(default_factory=dict)
    #: Dead letters not acknowledged by the end (their orders are left for the next run).
    pending_dead_letters: int = 0
    #: Received messages that this run did not handle to the end.
    left_for_next_run: int = 0

    @property
    def clean(self) -> bool:
        """The stop committed everything handled and left no dead letter unacknowledged."""
        return not self.uncommitted and self.pending_dead_letters == 0

    @property
    def ok(self) -> bool:
        return self.error is None and self.clean

    def summary(self) -> str:
        """One line of `key=value` pairs, for people and scripts alike."""
        s = self.stats
        reasons = ",".join(f"{k}:{v}" for k, v in sorted(s.dead_lettered.items())) or "0"
        parts = [
            f"received={s.received}",
            f"valid={s.valid}",
            f"dead_lettered={s.dead_lettered_total}",
            f"left_for_next_run={self.left_for_next_run}",
            f"by_reason={reasons}",
            f"retries={s.retries}",
            f"in_flight={s.in_flight}",
            f"committed={sum(self.committed.values())}",
            f"elapsed={s.elapsed:.2f}s",
            f"rate={s.received / s.elapsed if s.elapsed > 0 else 0.0:.1f}/s",
        ]
        if self.resume_at:
            parts.append(f"resume_at={_offsets(self.resume_at)}")
        if self.uncommitted:
            parts.append(f"uncommitted={_offsets(self.uncommitted)}")
        if self.pending_dead_letters:
            parts.append(f"pending_dead_letters={self.pending_dead_letters}")
        parts.append(f"stop={'clean' if self.ok else 'unclean'}")
        if self.error:
            parts.append(f"error={self.error!r}")
        return " ".join(parts)


def _offsets(offsets: dict[int, int]) -> str:
    """`{0: 801, 2: 905}` as `0@801,2@905`: partition at offset."""
    return ",".join(f"{p}@{o}" for p, o in sorted(offsets.items()))
