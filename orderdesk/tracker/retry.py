"""Retry schedule of the tracker: exponential backoff, doubling from a base up to a cap."""

from __future__ import annotations

from dataclasses import dataclass

from orderdesk.config import TrackerSettings


@dataclass(frozen=True)
class Backoff:
    """Delays between processing attempts of one message.

    `max_attempts` counts every attempt, the first included: with 3, a message that keeps
    failing is tried three times, waiting `base` then `2 * base` in between, and is then
    dead-lettered.
    """

    base: float
    cap: float
    max_attempts: int

    @classmethod
    def from_settings(cls, tracker: TrackerSettings) -> Backoff:
        return cls(tracker.retry_base_delay, tracker.retry_max_delay, tracker.max_retries)

    def delay(self, failed_attempts: int) -> float:
        """Seconds to wait after the `failed_attempts`-th failure (1-based) before retrying."""
        if failed_attempts < 1:
            raise ValueError("failed_attempts starts at 1")
        # Compare exponents rather than compute 2**n for large n: no overflow, same result.
        if failed_attempts - 1 >= 64:
            return self.cap
        return min(self.cap, self.base * (2 ** (failed_attempts - 1)))

    def exhausted(self, failed_attempts: int) -> bool:
        """True when no attempt is left after `failed_attempts` failures."""
        return failed_attempts >= self.max_attempts
