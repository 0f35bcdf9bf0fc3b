"""The tracker's dead-letter path: reject a message, send its letter, resend until acknowledged.

A rejected message is audited at once and its dead letter queued; its partition's commits
stop short of it until the broker acknowledges the letter. A letter the broker refuses is
sent again after a backoff, as long as its partition stays assigned.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException, Message

from orderdesk.deadletters.letter import (
    DeadLetter,
    DeadLetterProducer,
    FailureRecord,
    build_dead_letter,
    encode_dead_letter,
)
from orderdesk.domain import AuditEvent, LogLevel, Order
from orderdesk.kafka.errors import error_text
from orderdesk.kafka.records import record_offset
from orderdesk.tracker.context import TrackerContext
from orderdesk.tracker.partitions import Partition

#: Delivery errors that say the letter is too big for the topic: it is cut further.
_TOO_LARGE = (KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.INVALID_MSG_SIZE)
#: A letter this small is not cut further.
MIN_CUT_BYTES = 2_048
#: Failed dead letters logged one by one; later failures are logged at most every few seconds.
LOGGED_FAILURES = 3


@dataclass
class LetterContext:
    """What the delivery callback of a dead letter needs to account for its message."""

    part: Partition
    msg: Message
    order: Order | None
    attempts: int = 0


@dataclass
class Resend:
    letter: DeadLetter
    due: float


class DeadLetterPath:
    """Sends dead letters through `producer` (set once the clients exist) and accounts for them."""

    def __init__(self, ctx: TrackerContext) -> None:
        self.ctx = ctx
        self.producer: DeadLetterProducer | None = None
        #: Largest message the dead-letter topic takes (its `max.message.bytes`), when known.
        self.max_message_bytes: int | None = None
        self.resends: list[Resend] = []
        #: Deliveries that failed, over the run.
        self.failures = 0
        #: A letter was acknowledged since the audit trail was last flushed.
        self.acknowledged_unflushed = False

    @property
    def in_flight(self) -> int:
        return 0 if self.producer is None else self.producer.in_flight

    def reject(
        self,
        part: Partition,
        msg: Message,
        failure: FailureRecord,
        order: Order | None,
        audited: bool = False,
    ) -> None:
        """The message failed for good: audit it (unless `audited` already) and send its letter."""
        ctx = self.ctx
        offset = record_offset(msg)
        if not audited:
            ctx.audit_write(
                AuditEvent.ORDER_REJECTED,
                msg,
                msg.value(),
                f"{failure.reason.value}: {failure.error_message}",
                order,
            )
        ctx.note_error(f"{failure.reason.value}: {failure.error_message}")
        letter = build_dead_letter(
            msg,
            failure,
            ctx.group,
            ctx.host,
            context=LetterContext(part, msg, order),
            max_message_bytes=self.max_message_bytes,
        )
        part.pending.add(offset)
        part.done_upto = offset + 1
        self.send(letter)

    def send(self, letter: DeadLetter) -> None:
        assert self.producer is not None
        try:
            self.producer.send(letter)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            self._failed(self._smaller(letter, err), error_text(exc))

    def on_delivery(self, letter: DeadLetter, err: KafkaError | None) -> None:
        if err is not None:
            self._failed(self._smaller(letter, err), err.str())
            return
        ctx = self.ctx
        lctx: LetterContext = letter.context
        msg = lctx.msg
        ctx.audit_write(AuditEvent.ORDER_DEAD_LETTERED, msg, msg.value(), None, lctx.order)
        self.acknowledged_unflushed = True
        ctx.counters.count_dead_letter(letter.message.failure_reason.value)
        if ctx.parts.owns(lctx.part):
            lctx.part.pending.discard(letter.offset)

    def _smaller(self, letter: DeadLetter, err: object) -> DeadLetter:
        """A letter the broker found too big, cut to half its size (others unchanged)."""
        if not isinstance(err, KafkaError) or err.code() not in _TOO_LARGE:
            return letter
        if len(letter.value) <= MIN_CUT_BYTES:
            return letter
        dlm, value = encode_dead_letter(letter.message, len(letter.value) // 2, letter.raw)
        return dataclasses.replace(letter, message=dlm, value=value)

    def _failed(self, letter: DeadLetter, error: str) -> None:
        ctx = self.ctx
        lctx: LetterContext = letter.context
        if not ctx.parts.owns(lctx.part):
            return  # revoked: not committed, the new owner handles the message again
        lctx.attempts += 1
        self.failures += 1
        delay = ctx.backoff.delay(min(lctx.attempts, 64))
        message = f"dead letter for {letter.topic}[{letter.partition}]@{letter.offset} failed"
        ctx.note_error(f"{message}: {error}")
        if self.failures <= LOGGED_FAILURES:
            ctx.log(
                LogLevel.ERROR,
                f"{message}; not committed, sending again in {delay:g} s",
                error=error,
                attempt=lctx.attempts,
            )
        else:
            # A topic that refuses every letter fails them by the hundred a second.
            ctx.log_throttled(
                LogLevel.ERROR,
                "dead letters keep failing; their orders are not committed",
                error,
                failures=self.failures,
                waiting=len(self.resends) + 1,
            )
        self.resends.append(Resend(letter, time.monotonic() + delay))

    def run_resends(self, now: float) -> None:
        due = [r for r in self.resends if r.due <= now]
        if not due:
            return
        self.resends = [r for r in self.resends if r.due > now]
        for resend in due:
            if self.ctx.parts.owns(resend.letter.context.part):
                self.send(resend.letter)

    def next_due(self) -> float | None:
        return min((r.due for r in self.resends), default=None)

    def forget(self, numbers: list[int]) -> None:
        self.resends = [r for r in self.resends if r.letter.context.part.number not in numbers]

    def serve_deliveries(self) -> bool:
        """Serve the delivery reports that came in; True when a letter was acknowledged.

        Called every loop turn: an acknowledged letter's audit line then reaches the file
        at once, so a crash right after rarely makes its letter be sent again.
        """
        producer = self.producer
        if producer is not None and producer.in_flight:
            producer.poll(0)
        return self.acknowledged_unflushed

    def await_deliveries(self, timeout: float) -> None:
        """Serve delivery reports; wait up to `timeout` s for those still in flight."""
        producer = self.producer
        if producer is not None and producer.in_flight:
            producer.poll(0)
            if producer.in_flight:
                producer.flush(timeout)

    def close(self, timeout: float) -> int:
        """Flush what is in flight; returns how many letters stayed unacknowledged."""
        if self.producer is None:
            return 0
        return self.producer.close(timeout)
