"""What a tracker run did: `TrackerResult` and its one-line summary."""

from __future__ import annotations

from dataclasses import dataclass, field

from orderdesk.tracker.stats import TrackerStats


@dataclass(frozen=True)
class TrackerResult:
    """What a tracker run did, returned by `run()` (and attached to its `ServiceError`)."""

    stats: TrackerStats
    #: Offset committed last for each partition of the orders topic, at the end of the run.
    committed: dict[int, int] = field(default_factory=dict)
    #: Why the run ended early, when it did (the message of the `ServiceError`).
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        """One line of `key=value` pairs, for people and scripts alike."""
        s = self.stats
        reasons = ",".join(f"{k}:{v}" for k, v in sorted(s.dead_lettered.items())) or "0"
        parts = [
            f"received={s.received}",
            f"valid={s.valid}",
            f"dead_lettered={s.dead_lettered_total}",
            f"by_reason={reasons}",
            f"retries={s.retries}",
            f"in_flight={s.in_flight}",
            f"committed={sum(self.committed.values())}",
            f"elapsed={s.elapsed:.2f}s",
            f"rate={s.received / s.elapsed if s.elapsed > 0 else 0.0:.1f}/s",
        ]
        if self.error:
            parts.append(f"error={self.error!r}")
        return " ".join(parts)
