"""What the tracker reports while it runs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TrackerStats:
    received: int = 0
    valid: int = 0
    dead_lettered: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    in_flight: int = 0
    #: Received messages per second, over the last few seconds.
    rate: float = 0.0
    #: Dead-lettered messages per second, over the last few seconds.
    dead_letter_rate: float = 0.0
    #: Messages on the assigned partitions not yet consumed, when known.
    lag: int | None = None
    #: The same, per assigned partition.
    lag_by_partition: dict[int, int] = field(default_factory=dict)
    #: Seconds spent handling received messages so far (parse, validate, audit, dead letter).
    processing_seconds: float = 0.0
    last_error: str | None = None
    last_error_at: float | None = None
    elapsed: float = 0.0

    @property
    def dead_lettered_total(self) -> int:
        return sum(self.dead_lettered.values())

    @property
    def success_rate(self) -> float:
        """Percent of handled messages that were valid; 100 before any was handled."""
        handled = self.valid + self.dead_lettered_total
        return 100.0 * self.valid / handled if handled else 100.0
