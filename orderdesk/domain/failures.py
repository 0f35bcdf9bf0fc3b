"""Why a message could not be processed, and what the tracker does about it."""

from __future__ import annotations

from enum import StrEnum


class FailureReason(StrEnum):
    """The dead-letter `failure_reason` values of the domain contract."""

    DESERIALIZATION_ERROR = "DESERIALIZATION_ERROR"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    PROCESSING_ERROR = "PROCESSING_ERROR"
    TIMEOUT_ERROR = "TIMEOUT_ERROR"
    UNKNOWN_ERROR = "UNKNOWN_ERROR"

    @property
    def retryable(self) -> bool:
        """A payload that is not an order, or an order that breaks a rule, never gets better."""
        return self not in (FailureReason.DESERIALIZATION_ERROR, FailureReason.VALIDATION_ERROR)


class ProcessingFailure(Exception):
    """A failure while handling a message, tagged with its reason."""

    reason: FailureReason = FailureReason.UNKNOWN_ERROR

    def __init__(self, message: str, reason: FailureReason | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class DeserializationError(ProcessingFailure):
    """The payload is not an order at all: not UTF-8, not JSON, or JSON of the wrong shape."""

    reason = FailureReason.DESERIALIZATION_ERROR


class OrderValidationError(ProcessingFailure):
    """The payload is an order, but it breaks one or more business rules."""

    reason = FailureReason.VALIDATION_ERROR

    def __init__(self, violations: list[str]) -> None:
        super().__init__("; ".join(violations))
        self.violations = violations


class TransientProcessingError(ProcessingFailure):
    """A downstream step failed in a way that may succeed on another attempt."""

    reason = FailureReason.PROCESSING_ERROR
