"""Handling one message: parse, run the downstream step, retry with backoff or reject.

A retryable failure must not hold up the other partitions, nor keep the consumer from
polling (the group would evict it after `max.poll.interval.ms`). So the failing partition is
paused and its later messages are held back in memory, in order; the loop keeps polling
the other partitions and retries the message when its delay is over, then resumes the
partition. Nothing after a failing message is processed before it.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime

from confluent_kafka import KafkaError, Message, TopicPartition

from orderdesk.audit.trail import DEAD_LETTERED, REJECTED, VALIDATED
from orderdesk.deadletters.letter import FailureRecord
from orderdesk.domain import (
    AuditEvent,
    FailureReason,
    Order,
    ProcessingFailure,
    check_order,
    parse_order,
)
from orderdesk.kafka.records import record_offset
from orderdesk.tracker.context import TrackerContext
from orderdesk.tracker.deadletters import DeadLetterPath
from orderdesk.tracker.downstream import Downstream
from orderdesk.tracker.partitions import Partition, Retry

_parse = parse_order
_check = check_order


class Processor:
    """Routes received messages to their partition and handles each to the end."""

    def __init__(
        self,
        ctx: TrackerContext,
        letters: DeadLetterPath,
        downstream: Downstream,
        skip_downstream: bool,
        on_consumer_error: Callable[[KafkaError], None],
    ) -> None:
        self.ctx = ctx
        self.letters = letters
        self._downstream = downstream
        #: No simulated step to run, so no retry can follow: the hot path.
        self._skip_downstream = skip_downstream
        self._consumer_error = on_consumer_error
        #: `tracker.audit_every_message`: a `message.received` line for every arrival.
        self._audit_arrivals = ctx.settings.tracker.audit_every_message

    def route(self, msgs: list[Message]) -> None:
        """Hand each message to its partition, in order; held back behind a retry if any.

        With nothing downstream, a message past what the audit trail held at the start
        goes straight to its verdict (`_take_verdict`), counted here in a local.
        """
        ctx = self.ctx
        parts = ctx.parts
        handle = self.handle
        verdict = self._take_verdict
        audit_arrivals = self._audit_arrivals
        fast = self._skip_downstream
        received = valid = 0
        try:
            for msg in msgs:
                err = msg.error()
                if err is not None:
                    self._consumer_error(err)
                    continue
                part = parts.get(msg.partition())
                if part is None:
                    continue  # revoked meanwhile: the new owner reads it again
                offset = msg.offset() or 0
                done = part.done_upto
                if done is not None and offset < done:
                    continue  # already handled in this run
                received += 1
                if audit_arrivals:
                    ctx.audit_write(AuditEvent.MESSAGE_RECEIVED, msg, msg.value(), None, None)
                if part.retry is not None or part.backlog:
                    part.backlog.append(msg)
                    continue
                if fast and part.prior_last < offset:
                    valid += verdict(part, msg, offset)
                else:
                    handle(part, msg)
        except OSError:
            # The audit trail cannot be written: the message in hand is left for the next run.
            ctx.counters.unaudited += 1
            raise
        finally:
            # Counted even when a write error ends the batch half-way: the summary adds up.
            ctx.counters.received += received
            ctx.counters.valid += valid

    def handle(self, part: Partition, msg: Message) -> None:
        offset = msg.offset() or 0
        if part.prior_last >= offset and self.replay(part, msg):
            return
        if self._skip_downstream:
            self.ctx.counters.valid += self._take_verdict(part, msg, offset)
            return
        try:
            order = _parse(msg.value())
        except Exception as exc:
            self._reject_unreadable(part, msg, exc)
            return
        self.attempt(part, msg, order, 0, None)

    def _take_verdict(self, part: Partition, msg: Message, offset: int) -> bool:
        """Nothing downstream takes the order: its verdict is all there is to do. True when
        valid (its line queued, the partition past it; the caller counts it), False when
        it was rejected."""
        value = msg.value()
        try:
            _check(value)
        except Exception as exc:
            self._reject_unreadable(part, msg, exc)
            return False
        audit = self.ctx.audit
        assert audit is not None and value is not None
        audit.write_validated(self.ctx.topic, part.number, offset, value)
        part.done_upto = offset + 1
        return True

    def _reject_unreadable(self, part: Partition, msg: Message, exc: Exception) -> None:
        """Dead-letter a message whose payload is not a valid order (`exc` says why)."""
        if isinstance(exc, ProcessingFailure):
            record = FailureRecord(exc.reason, exc.message)
        else:
            record = FailureRecord(
                FailureReason.DESERIALIZATION_ERROR,
                f"cannot parse payload: {exc!r}",
                error_stack=traceback.format_exc(),
            )
        self.letters.reject(part, msg, record, None)

    def attempt(
        self,
        part: Partition,
        msg: Message,
        order: Order,
        failed_before: int,
        first_failure: datetime | None,
    ) -> bool:
        """One processing attempt; False when the message now waits for a retry."""
        ctx = self.ctx
        try:
            self._downstream(order)
        except Exception as exc:
            failed = failed_before + 1
            now = datetime.now(UTC)
            first = first_failure or now
            if isinstance(exc, ProcessingFailure):
                reason, text, stack = exc.reason, exc.message, ""
            else:
                reason = FailureReason.UNKNOWN_ERROR
                text = f"{type(exc).__name__}: {exc}"
                stack = traceback.format_exc()
            backoff = ctx.backoff
            if reason.retryable and not backoff.exhausted(failed):
                delay = backoff.delay(failed)
                ctx.counters.retries += 1
                ctx.audit_write(
                    AuditEvent.ORDER_RETRIED,
                    msg,
                    msg.value(),
                    f"{reason.value}: {text} (attempt {failed} of "
                    f"{backoff.max_attempts}, next in {delay:g} s)",
                    order,
                )
                part.retry = Retry(msg, order, failed, first, time.monotonic() + delay)
                self.pause(part)
                return False
            record = FailureRecord(
                reason,
                text,
                retry_count=failed if reason.retryable else 0,
                error_stack=stack,
                first_failure=first,
                last_failure=now,
            )
            self.letters.reject(part, msg, record, order)
            return True
        ctx.audit_write(AuditEvent.ORDER_VALIDATED, msg, msg.value(), None, order)
        ctx.counters.valid += 1
        part.done_upto = (msg.offset() or 0) + 1
        return True

    def replay(self, part: Partition, msg: Message) -> bool:
        """Account for a message an earlier run audited; False when it has no final line."""
        prior = part.prior
        assert prior is not None
        offset = record_offset(msg)
        value = msg.value()
        bits = prior.lookup(offset, 0 if value is None else len(value))
        if not bits & (VALIDATED | REJECTED):
            return False
        counters = self.ctx.counters
        if bits & VALIDATED:
            counters.already_audited += 1
            counters.valid += 1
            part.done_upto = offset + 1
            return True
        error = prior.errors.get(offset, "")
        reason_text, _, text = error.partition(": ")
        try:
            reason = FailureReason(reason_text)
        except ValueError:
            reason, text = FailureReason.UNKNOWN_ERROR, error
        if bits & DEAD_LETTERED:
            counters.already_audited += 1
            counters.count_dead_letter(reason.value)
            part.done_upto = offset + 1
            return True
        # Rejected, but its dead letter was not acknowledged: send it, not audit it, again.
        self.letters.reject(part, msg, FailureRecord(reason, text), None, audited=True)
        return True

    # -- retries ---------------------------------------------------------------------------

    def run_retries(self, now: float) -> None:
        for part in self.ctx.parts.due_retries(now):
            retry = part.retry
            assert retry is not None
            part.retry = None
            try:
                waits = not self.attempt(
                    part, retry.msg, retry.order, retry.failed_attempts, retry.first_failure
                )
            except OSError:
                self.ctx.counters.unaudited += 1  # left for the next run, as in route()
                raise
            if waits:
                continue
            self.drain_backlog(part)

    def drain_backlog(self, part: Partition) -> None:
        """Process held-back messages until another retry starts or none are left."""
        backlog = part.backlog
        while backlog and part.retry is None:
            msg = backlog.popleft()
            done = part.done_upto
            if done is not None and (msg.offset() or 0) < done:
                self.ctx.counters.received -= 1  # delivered twice: counted once
                continue
            try:
                self.handle(part, msg)
            except OSError:
                self.ctx.counters.unaudited += 1  # left for the next run, as in route()
                raise
        if part.retry is None:
            self.resume(part)

    def pause(self, part: Partition) -> None:
        consumer = self.ctx.consumer
        if not part.paused and consumer is not None:
            consumer.pause([TopicPartition(self.ctx.topic, part.number)])
            part.paused = True

    def resume(self, part: Partition) -> None:
        consumer = self.ctx.consumer
        if part.paused and consumer is not None:
            consumer.resume([TopicPartition(self.ctx.topic, part.number)])
            part.paused = False
