"""What the parts of the tracker share: settings, partitions, the audit trail, counters, logs."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, Message

from orderdesk.audit.trail import PartitionTrail
from orderdesk.audit.writer import AuditWriter
from orderdesk.config import Settings
from orderdesk.domain import AuditEvent, LogEntry, LogLevel, Order
from orderdesk.tracker.partitions import PartitionBook
from orderdesk.tracker.retry import Backoff

#: The same error is logged at most once in this many seconds.
ERROR_LOG_INTERVAL = 10.0

LogFunction = Callable[..., LogEntry]


@dataclass
class Counters:
    received: int = 0
    valid: int = 0
    retries: int = 0
    dead_lettered: dict[str, int] = field(default_factory=dict)
    dead_lettered_total: int = 0
    #: Of the valid and dead-lettered: handled by an earlier run (its audit lines were on
    #: disk, its commit was not), counted without a second audit line.
    already_audited: int = 0
    #: In flight when their partition was revoked or lost: the new owner handles them.
    released: int = 0
    #: Valid and dead-lettered orders whose audit lines did not reach the file.
    unaudited: int = 0
    _durable: tuple[int, dict[str, int]] = (0, {})

    def count_dead_letter(self, reason: str) -> None:
        self.dead_lettered[reason] = self.dead_lettered.get(reason, 0) + 1
        self.dead_lettered_total += 1

    def mark_durable(self) -> None:
        """Every outcome counted so far has its audit line in the file."""
        self._durable = (self.valid, dict(self.dead_lettered))

    def roll_back_to_durable(self) -> None:
        """The audit trail could not be written: outcomes since the last flush do not count."""
        valid, dead = self._durable
        lost = self.valid - valid + self.dead_lettered_total - sum(dead.values())
        self.unaudited += lost
        self.valid = valid
        self.dead_lettered = dict(dead)
        self.dead_lettered_total = sum(dead.values())


class TrackerContext:
    """State and helpers shared by the loop, the dead-letter path and the offset keeper."""

    def __init__(self, settings: Settings, log: LogFunction) -> None:
        self.settings = settings
        self.topic = settings.topics.orders
        self.group = settings.tracker.group
        self.host = socket.gethostname()
        self.backoff = Backoff.from_settings(settings.tracker)
        self.parts = PartitionBook()
        self.counters = Counters()
        self.consumer: Consumer | None = None
        self.audit: AuditWriter | None = None
        #: What the audit trail held per partition when the run started (see audit.trail).
        self.prior: dict[int, PartitionTrail] = {}
        self.log = log
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self._recent_errors: dict[str, float] = {}

    def audit_write(
        self,
        event: AuditEvent,
        msg: Message,
        value: bytes | None,
        error: str | None,
        order: Order | None,
    ) -> None:
        """Queue the audit line of `msg`; `order` is None or the order read from `value`."""
        assert self.audit is not None
        partition, offset = msg.partition(), msg.offset()
        assert partition is not None and offset is not None  # a consumed record has both
        self.audit.write(
            event, self.topic, partition, offset, value, error, order, strict=order is not None
        )

    def note_error(self, text: str) -> None:
        self.last_error = text
        self.last_error_at = time.time()

    def log_throttled(self, level: LogLevel, message: str, error: str, **metadata: Any) -> bool:
        """Log unless the same message and error were logged recently; True when logged."""
        now = time.monotonic()
        key = f"{message}: {error}"
        if now - self._recent_errors.get(key, -ERROR_LOG_INTERVAL) < ERROR_LOG_INTERVAL:
            return False
        self._recent_errors[key] = now
        self.log(level, message, error=error, **metadata)
        return True
