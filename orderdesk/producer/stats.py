"""What the producer reports while it runs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProducerStats:
    generated: int = 0
    acknowledged: int = 0
    #: Deliveries that failed before the broker stored anything: not on the topic.
    failed: int = 0
    #: Deliveries whose outcome is unknown (timed out after being sent): they may be on the
    #: topic, so sending them again may duplicate them.
    unknown: int = 0
    #: Events that were made bad on purpose (faulty ratio).
    faulty: int = 0
    in_flight: int = 0
    #: Acknowledged orders per second, over the last few seconds.
    rate: float = 0.0
    elapsed: float = 0.0
