"""What the producer reports while it runs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProducerStats:
    generated: int = 0
    acknowledged: int = 0
    failed: int = 0
    #: Events that were made bad on purpose (faulty ratio).
    faulty: int = 0
    in_flight: int = 0
    #: Acknowledged orders per second, over the last few seconds.
    rate: float = 0.0
    elapsed: float = 0.0
