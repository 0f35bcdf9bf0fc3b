"""The records OrderDesk writes: audit trail entries, technical log entries, dead letters.

Field names are those of the domain contract; other tools read them, so keep them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from orderdesk.domain.failures import FailureReason
from orderdesk.domain.order import Order


def utc_now() -> datetime:
    return datetime.now(UTC)


class AuditEvent(StrEnum):
    """`event_type` of an audit trail entry."""

    MESSAGE_RECEIVED = "message.received"
    ORDER_VALIDATED = "order.validated"
    ORDER_RETRIED = "order.retried"
    ORDER_REJECTED = "order.rejected"
    ORDER_DEAD_LETTERED = "order.dead_lettered"


class AuditEntry(BaseModel):
    """One line of the business audit trail (`tracker.events`)."""

    model_config = ConfigDict(extra="ignore")

    timestamp: datetime = Field(default_factory=utc_now)
    event_type: AuditEvent
    kafka_topic: str
    kafka_partition: int
    kafka_offset: int
    #: The payload as text, only when it did not parse (a parsed one is `order_full`).
    raw_message: str | None = None
    message_size: int
    deserialized: bool
    error: str | None = None
    order_full: Order | None = None


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


class LogEntry(BaseModel):
    """One line of the technical log (`tracker.log`)."""

    model_config = ConfigDict(extra="ignore")

    timestamp: datetime = Field(default_factory=utc_now)
    level: LogLevel
    message: str
    service: str
    error: str | None = None
    metadata: dict[str, Any] | None = None


class DeadLetterMessage(BaseModel):
    """The value written to the dead-letter topic for a message that failed for good."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    timestamp: datetime = Field(default_factory=utc_now)
    original_topic: str
    original_partition: int
    original_offset: int
    original_key: str | None = None
    original_payload: str
    original_timestamp: datetime | None = None
    failure_reason: FailureReason
    error_message: str
    error_stack: str = ""
    consumer_group: str = ""
    processing_host: str = ""
    retry_count: int = 0
    first_failure: datetime | None = None
    last_failure: datetime | None = None
    next_retry_at: datetime | None = None
    is_reprocessed: bool = False
    metadata: dict[str, str] = Field(default_factory=dict)


def decode_payload(payload: bytes | None) -> str:
    """Text of a raw payload for records: invalid UTF-8 bytes are kept as escapes, not lost."""
    if payload is None:
        return ""
    return payload.decode("utf-8", errors="backslashreplace")
