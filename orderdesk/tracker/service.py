"""The tracker: consume orders, validate, retry with backoff, dead-letter, audit, commit.

Delivery is at-least-once. Offsets are committed by hand, per partition, only up to the
first message that is not handled to the end: audited as valid, or dead-lettered and
acknowledged by the broker on the dead-letter topic. Before every commit the dead-letter
deliveries of the batch are awaited and the log files flushed, so a committed message
always has its audit lines on disk and its dead letter on the broker.

A retryable failure must not hold up the other partitions, nor keep the consumer from
polling (the group would evict it after `max.poll.interval.ms`). So the failing partition is
paused and its later messages are held back in memory, in order; the loop keeps polling
the other partitions and retries the message when its delay is over, then resumes the
partition. Nothing after a failing message is processed before it. A stop request ends
the wait at once; the message in retry is then not committed and comes back on restart.

A dead letter that the broker does not acknowledge is sent again after a backoff; until it
is acknowledged, its partition's commits stop short of it.
"""

from __future__ import annotations

import contextlib
import random
import socket
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from orderdesk.audit.writer import TRACKER_EVENTS, AuditWriter
from orderdesk.config import ConfigError, Settings
from orderdesk.deadletters.letter import (
    DeadLetter,
    DeadLetterProducer,
    FailureRecord,
    build_dead_letter,
)
from orderdesk.domain import (
    AuditEvent,
    FailureReason,
    LogEntry,
    LogLevel,
    Order,
    ProcessingFailure,
    TransientProcessingError,
    parse_order,
)
from orderdesk.kafka import BrokerUnavailable, ensure_topics, make_consumer
from orderdesk.kafka.clients import librdkafka_log
from orderdesk.service.base import RateMeter, Service, ServiceError
from orderdesk.service.techlog import TRACKER_LOG, TechnicalLogWriter
from orderdesk.tracker.retry import Backoff
from orderdesk.tracker.stats import TrackerStats

#: Messages fetched per `consume` call.
BATCH_SIZE = 500
#: Longest wait for the rest of a batch once its first message is in: at a moderate pace
#: it is added to every order's latency, and it bounds how often the loop commits.
BATCH_LINGER = 0.001
#: Longest a `consume` call blocks: how long a stop request may wait to be seen.
POLL_TIMEOUT = 0.2
#: How often the lag is worked out from the client's cached watermarks.
LAG_INTERVAL = 2.0
#: The same consumer error is logged at most once in this many seconds.
ERROR_LOG_INTERVAL = 10.0

Downstream = Callable[[Order], None]

_parse = parse_order
_VALIDATED = AuditEvent.ORDER_VALIDATED


class StockReservation:
    """The simulated downstream step: reserving stock fails transiently now and then."""

    def __init__(self, failure_rate: float, seed: int | None = None) -> None:
        self.failure_rate = failure_rate
        self._random = random.Random(seed).random

    def __call__(self, order: Order) -> None:
        if self.failure_rate <= 0:
            return
        draw = self._random()
        if draw < self.failure_rate:
            # A quarter of the failures are time-outs, so both retryable reasons show up.
            if draw < self.failure_rate / 4:
                raise ProcessingFailure(
                    f"stock reservation for order {order.order_id} timed out",
                    FailureReason.TIMEOUT_ERROR,
                )
            raise TransientProcessingError(
                f"stock reservation for order {order.order_id} failed: warehouse busy"
            )


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


@dataclass
class _Retry:
    msg: Message
    order: Order
    failed_attempts: int
    first_failure: datetime
    due: float


@dataclass
class _LetterContext:
    """What the delivery callback of a dead letter needs to account for its message."""

    part: _Partition
    msg: Message
    order: Order | None
    attempts: int = 0


@dataclass
class _Resend:
    letter: DeadLetter
    due: float


class _Partition:
    """What the loop knows about one assigned partition."""

    __slots__ = ("backlog", "committed", "done_upto", "number", "paused", "pending", "retry")

    def __init__(self, number: int) -> None:
        self.number = number
        #: Messages received but held back behind a message in retry, in offset order.
        self.backlog: deque[Message] = deque()
        self.retry: _Retry | None = None
        #: Offsets whose dead letter is not acknowledged yet.
        self.pending: set[int] = set()
        #: Offset after the last message processed (None before the first).
        self.done_upto: int | None = None
        #: Offset last sent in a commit.
        self.committed = -1
        self.paused = False

    def committable(self) -> int | None:
        """The offset to commit: everything before it is handled to the end."""
        if self.pending:
            return min(self.pending)
        return self.done_upto

    def first_unhandled(self) -> int | None:
        """Offset of the first message received here and not handled to the end, if known."""
        upto = self.committable()
        if upto is not None:
            return upto
        if self.retry is not None:
            return self.retry.msg.offset()
        if self.backlog:
            return self.backlog[0].offset()
        return None

    def in_flight(self) -> int:
        return len(self.backlog) + (self.retry is not None) + len(self.pending)


class TrackerService(Service[TrackerStats]):
    """Consumes the orders topic in a consumer group and accounts for every message.

    `run()` blocks until `stop()` (from any thread), `drain()` completion or a fatal error
    (`ServiceError`). `seed` makes the simulated downstream failures reproducible;
    `downstream` replaces the simulated stock reservation (it raises a `ProcessingFailure`
    to fail retryably with its reason, any other exception counts as UNKNOWN_ERROR).
    """

    name = "tracker"

    def __init__(
        self,
        settings: Settings,
        on_stats: Callable[[TrackerStats], None] | None = None,
        on_log: Callable[[LogEntry], None] | None = None,
        stats_interval: float = 0.5,
        *,
        seed: int | None = None,
        downstream: Downstream | None = None,
        consumer_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(on_stats=on_stats, on_log=on_log, stats_interval=stats_interval)
        self.settings = settings
        tracker = settings.tracker
        self._topic = settings.topics.orders
        self._group = tracker.group
        self._backoff = Backoff.from_settings(tracker)
        self._downstream: Downstream = downstream or StockReservation(
            tracker.transient_failure_rate, seed
        )
        self._skip_downstream = downstream is None and tracker.transient_failure_rate <= 0
        self._consumer_extra = consumer_config or {}
        self._host = socket.gethostname()
        self._consumer: Consumer | None = None
        self._dlq: DeadLetterProducer | None = None
        self._audit: AuditWriter | None = None
        self._tlog: TechnicalLogWriter | None = None
        self._parts: dict[int, _Partition] = {}
        #: Offset last committed per partition, over the whole run.
        self._committed: dict[int, int] = {}
        self._resends: list[_Resend] = []
        self._drain_requested = False
        self._drain_targets: dict[int, int] | None = None
        self._drain_checked = 0.0
        self._known_done: set[int] = set()
        # Counters
        self._received = 0
        self._valid = 0
        self._retries = 0
        self._dead_lettered: dict[str, int] = {}
        self._dead_lettered_total = 0
        self._last_error: str | None = None
        self._last_error_at: float | None = None
        self._lag: int | None = None
        self._recent_errors: dict[str, float] = {}
        self._fatal: KafkaError | None = None
        self._rate = RateMeter()
        self._dlq_rate = RateMeter()
        self._started = time.monotonic()

    # -- public ----------------------------------------------------------------------------

    def drain(self) -> None:
        """Stop once every message now on the topic is handled and committed. Thread-safe."""
        self._drain_requested = True

    def snapshot(self) -> TrackerStats:
        """Current counters (call from the service's thread, or accept slightly torn values)."""
        return TrackerStats(
            received=self._received,
            valid=self._valid,
            dead_lettered=dict(self._dead_lettered),
            retries=self._retries,
            in_flight=sum(p.in_flight() for p in list(self._parts.values())) + len(self._resends),
            rate=self._rate.update(self._received),
            dead_letter_rate=self._dlq_rate.update(self._dead_lettered_total),
            lag=self._lag,
            last_error=self._last_error,
            last_error_at=self._last_error_at,
            elapsed=time.monotonic() - self._started,
        )

    def handle_log(self, entry: LogEntry) -> None:
        if self._tlog is not None:
            self._tlog.write(entry)
        super().handle_log(entry)

    def run(self) -> TrackerResult:
        """Consume until stopped or drained; raises `ServiceError` on a fatal error."""
        self._started = time.monotonic()
        self._open_files()
        try:
            self._prepare_topics()
            self._make_clients()
            self.log(
                LogLevel.INFO,
                "tracker started",
                topic=self._topic,
                dlq_topic=self.settings.topics.dlq,
                group=self._group,
                bootstrap_servers=self.settings.kafka.bootstrap_servers,
                max_retries=self._backoff.max_attempts,
                log_dir=str(self.settings.log_dir),
            )
            self._consumer.subscribe(
                [self._topic],
                on_assign=self._on_assign,
                on_revoke=self._on_revoke,
                on_lost=self._on_lost,
            )
            self._loop()
            self._checkpoint(final=True)
            self._update_lag()
        except ServiceError as exc:
            error = exc
        except KafkaException as exc:
            error = self._fatal_error(f"Kafka error: {_error_text(exc)}")
        except OSError as exc:
            error = self._fatal_error(
                f"cannot write the tracker's files in {self.settings.log_dir}: {exc}"
            )
        else:
            error = None
        finally:
            self._shutdown()
        stats = self.snapshot()
        self.emit_stats(stats)
        result = TrackerResult(
            stats=stats,
            committed=dict(self._committed),
            error=None if error is None else str(error),
        )
        if error is not None:
            error.result = result
            raise error
        return result

    # -- set-up and tear-down --------------------------------------------------------------

    def _open_files(self) -> None:
        tracker = self.settings.tracker
        log_dir = self.settings.log_dir
        try:
            self._tlog = TechnicalLogWriter(
                log_dir / TRACKER_LOG, tracker.log_max_bytes, tracker.log_backups
            )
            self._audit = AuditWriter(
                log_dir / TRACKER_EVENTS, tracker.log_max_bytes, tracker.log_backups
            )
        except OSError as exc:
            self._close_files()
            raise ServiceError(f"cannot open the tracker's files in {log_dir}: {exc}") from None

    def _prepare_topics(self) -> None:
        topics = self.settings.topics
        try:
            created = ensure_topics(self.settings.kafka, [topics.orders, topics.dlq], topics)
        except BrokerUnavailable as exc:
            raise ServiceError(str(exc)) from None
        except KafkaException as exc:
            raise ServiceError(f"cannot prepare topics: {_error_text(exc)}") from None
        if created:
            self.log(LogLevel.INFO, "created topics", topics=created)

    def _make_clients(self) -> None:
        common = {"error_cb": self._on_client_error, "logger": librdkafka_log}
        try:
            self._consumer = make_consumer(
                self.settings.kafka,
                self._group,
                on_commit=self._on_commit,
                **common,
                **self._consumer_extra,
            )
            self._dlq = DeadLetterProducer(self.settings, self._on_dead_letter_delivery, **common)
        except (KafkaException, ValueError, TypeError) as exc:
            text = _error_text(exc) if isinstance(exc, KafkaException) else str(exc)
            raise ConfigError(f"Kafka client configuration: {text}") from None

    def _on_client_error(self, err: KafkaError) -> None:
        """librdkafka's error callback: fatal errors end the run, others are reported."""
        if err.fatal():
            self._fatal = err
            return
        self._note_error(err.str())
        self._log_throttled(LogLevel.WARNING, "Kafka client error", err.str())

    def _fatal_error(self, message: str) -> ServiceError:
        self._note_error(message)
        self.log(LogLevel.CRITICAL, "tracker stopped by a fatal error", error=message)
        return ServiceError(message)

    def _shutdown(self) -> None:
        consumer = self._consumer
        try:
            if consumer is not None:
                try:
                    # Revokes the assignment, which commits what is done (see _on_revoke).
                    consumer.close()
                except (KafkaException, RuntimeError) as exc:
                    self.log(LogLevel.WARNING, "consumer did not close cleanly", error=exc)
                finally:
                    self._consumer = None
            if self._dlq is not None:
                left = self._dlq.close(self.settings.tracker.dlq_flush_timeout)
                if left:
                    self.log(
                        LogLevel.ERROR,
                        "dead letters not acknowledged at shutdown; their orders were not "
                        "committed and will be consumed again",
                        count=left,
                    )
            if consumer is None:
                return  # never started: the error says it all
            stats = self.snapshot()
            self.log(
                LogLevel.INFO,
                "tracker stopped",
                received=stats.received,
                valid=stats.valid,
                dead_lettered=stats.dead_lettered_total,
                retries=stats.retries,
            )
        finally:
            self._close_files()

    def _close_files(self) -> None:
        for writer in (self._audit, self._tlog):
            if writer is not None:
                with contextlib.suppress(OSError):
                    writer.close()
        self._audit = None
        self._tlog = None

    # -- the loop --------------------------------------------------------------------------

    def _loop(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        dlq = self._dlq
        assert dlq is not None
        stats_interval = self.stats_interval
        metrics_interval = self.settings.tracker.metrics_interval
        now = time.monotonic()
        next_stats = now + stats_interval
        next_metrics = now + metrics_interval
        next_lag = now + LAG_INTERVAL
        while not self.stop_requested:
            if self._fatal is not None:
                raise self._fatal_error(f"fatal Kafka error: {self._fatal.str()}")
            # consume() returns when the batch is full or its timeout is over: at a moderate
            # pace each order would wait out the whole timeout. So wait for one message, then
            # take what else arrives within a millisecond (a full batch at full speed).
            msgs = consumer.consume(1, self._poll_timeout())
            if msgs:
                msgs += consumer.consume(BATCH_SIZE - 1, BATCH_LINGER)
            if msgs:
                self._route(msgs)
            now = time.monotonic()
            if self._retry_due(now):
                self._run_retries(now)
            if self._resends:
                self._run_resends(now)
            self._checkpoint()
            if now >= next_lag:
                self._update_lag()
                next_lag = now + LAG_INTERVAL
            if now >= next_stats:
                self.emit_stats(self.snapshot())
                next_stats = now + stats_interval
            if now >= next_metrics:
                self._log_metrics()
                next_metrics = now + metrics_interval
            if self._drain_requested and self._drained(now):
                self.log(LogLevel.INFO, "every order on the topic is handled; stopping")
                break

    def _poll_timeout(self) -> float:
        timeout = POLL_TIMEOUT
        now = time.monotonic()
        for part in self._parts.values():
            if part.retry is not None:
                timeout = min(timeout, part.retry.due - now)
        for resend in self._resends:
            timeout = min(timeout, resend.due - now)
        return max(timeout, 0.0)

    def _route(self, msgs: list[Message]) -> None:
        """Hand each message to its partition, in order; held back behind a retry if any."""
        parts = self._parts
        handle = self._handle
        received = 0
        for msg in msgs:
            err = msg.error()
            if err is not None:
                self._consumer_error(err)
                continue
            part = parts.get(msg.partition())
            if part is None:
                continue  # revoked meanwhile: the new owner reads it again
            received += 1
            if part.retry is not None or part.backlog:
                part.backlog.append(msg)
                continue
            done = part.done_upto
            if done is not None and msg.offset() < done:
                continue  # already handled in this run
            handle(part, msg)
        self._received += received

    def _handle(self, part: _Partition, msg: Message) -> None:
        value = msg.value()
        try:
            order = _parse(value)
        except ProcessingFailure as exc:
            self._reject(part, msg, FailureRecord(exc.reason, exc.message), None)
            return
        except Exception as exc:
            record = FailureRecord(
                FailureReason.DESERIALIZATION_ERROR,
                f"cannot parse payload: {exc!r}",
                error_stack=traceback.format_exc(),
            )
            self._reject(part, msg, record, None)
            return
        if self._skip_downstream:
            # The hot path: no simulated step to run, so no retry can follow.
            offset = msg.offset()
            audit = self._audit
            assert audit is not None
            audit.write(_VALIDATED, self._topic, part.number, offset, value, None, order)
            self._valid += 1
            part.done_upto = offset + 1
            return
        self._attempt(part, msg, order, 0, None)

    def _attempt(
        self,
        part: _Partition,
        msg: Message,
        order: Order,
        failed_before: int,
        first_failure: datetime | None,
    ) -> bool:
        """One processing attempt; False when the message now waits for a retry."""
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
            if reason.retryable and not self._backoff.exhausted(failed):
                delay = self._backoff.delay(failed)
                self._retries += 1
                self._audit_write(
                    AuditEvent.ORDER_RETRIED,
                    msg,
                    msg.value(),
                    f"{reason.value}: {text} (attempt {failed} of "
                    f"{self._backoff.max_attempts}, next in {delay:g} s)",
                    order,
                )
                part.retry = _Retry(msg, order, failed, first, time.monotonic() + delay)
                self._pause(part)
                return False
            record = FailureRecord(
                reason,
                text,
                retry_count=failed if reason.retryable else 0,
                error_stack=stack,
                first_failure=first,
                last_failure=now,
            )
            self._reject(part, msg, record, order)
            return True
        self._audit_write(AuditEvent.ORDER_VALIDATED, msg, msg.value(), None, order)
        self._valid += 1
        part.done_upto = msg.offset() + 1
        return True

    def _reject(
        self, part: _Partition, msg: Message, failure: FailureRecord, order: Order | None
    ) -> None:
        """The message failed for good: audit it and send its dead letter."""
        offset = msg.offset()
        self._audit_write(
            AuditEvent.ORDER_REJECTED,
            msg,
            msg.value(),
            f"{failure.reason.value}: {failure.error_message}",
            order,
        )
        self._note_error(f"{failure.reason.value}: {failure.error_message}")
        letter = build_dead_letter(
            msg, failure, self._group, self._host, context=_LetterContext(part, msg, order)
        )
        part.pending.add(offset)
        part.done_upto = offset + 1
        self._send_dead_letter(letter)

    def _send_dead_letter(self, letter: DeadLetter) -> None:
        assert self._dlq is not None
        try:
            self._dlq.send(letter)
        except KafkaException as exc:
            self._dead_letter_failed(letter, _error_text(exc))

    def _on_dead_letter_delivery(self, letter: DeadLetter, err: KafkaError | None) -> None:
        if err is not None:
            self._dead_letter_failed(letter, err.str())
            return
        ctx: _LetterContext = letter.context
        msg = ctx.msg
        self._audit_write(AuditEvent.ORDER_DEAD_LETTERED, msg, msg.value(), None, ctx.order)
        reason = letter.message.failure_reason.value
        self._dead_lettered[reason] = self._dead_lettered.get(reason, 0) + 1
        self._dead_lettered_total += 1
        if self._parts.get(ctx.part.number) is ctx.part:
            ctx.part.pending.discard(letter.offset)

    def _dead_letter_failed(self, letter: DeadLetter, error: str) -> None:
        ctx: _LetterContext = letter.context
        if self._parts.get(ctx.part.number) is not ctx.part:
            return  # revoked: not committed, the new owner handles the message again
        ctx.attempts += 1
        delay = self._backoff.delay(min(ctx.attempts, 64))
        message = f"dead letter for {letter.topic}[{letter.partition}]@{letter.offset} failed"
        self._note_error(f"{message}: {error}")
        self.log(
            LogLevel.ERROR,
            f"{message}; not committed, sending again in {delay:g} s",
            error=error,
            attempt=ctx.attempts,
        )
        self._resends.append(_Resend(letter, time.monotonic() + delay))

    def _run_resends(self, now: float) -> None:
        due = [r for r in self._resends if r.due <= now]
        if not due:
            return
        self._resends = [r for r in self._resends if r.due > now]
        for resend in due:
            part = resend.letter.context.part
            if self._parts.get(part.number) is part:
                self._send_dead_letter(resend.letter)

    # -- retries ---------------------------------------------------------------------------

    def _retry_due(self, now: float) -> bool:
        for part in self._parts.values():
            if part.retry is not None and part.retry.due <= now:
                return True
        return False

    def _run_retries(self, now: float) -> None:
        for part in list(self._parts.values()):
            retry = part.retry
            if retry is None or retry.due > now:
                continue
            part.retry = None
            if not self._attempt(
                part, retry.msg, retry.order, retry.failed_attempts, retry.first_failure
            ):
                continue
            self._drain_backlog(part)

    def _drain_backlog(self, part: _Partition) -> None:
        """Process held-back messages until another retry starts or none are left."""
        backlog = part.backlog
        while backlog and part.retry is None:
            msg = backlog.popleft()
            done = part.done_upto
            if done is not None and msg.offset() < done:
                continue
            self._handle(part, msg)
        if part.retry is None:
            self._resume(part)

    def _pause(self, part: _Partition) -> None:
        if not part.paused and self._consumer is not None:
            self._consumer.pause([TopicPartition(self._topic, part.number)])
            part.paused = True

    def _resume(self, part: _Partition) -> None:
        if part.paused and self._consumer is not None:
            self._consumer.resume([TopicPartition(self._topic, part.number)])
            part.paused = False

    # -- commits and rebalances ------------------------------------------------------------

    def _checkpoint(self, final: bool = False, only: list[int] | None = None) -> None:
        """Commit what is handled to the end, after waiting for dead letters and flushing."""
        dlq = self._dlq
        consumer = self._consumer
        if dlq is not None and dlq.in_flight:
            dlq.poll(0)
            if dlq.in_flight:
                dlq.flush(self.settings.tracker.dlq_flush_timeout)
        offsets = []
        numbers = self._parts.keys() if only is None else only
        for number in numbers:
            part = self._parts.get(number)
            if part is None:
                continue
            upto = part.committable()
            if upto is None or (upto <= part.committed and not final):
                continue
            offsets.append(TopicPartition(self._topic, number, upto))
        # Flushed at every turn of the loop, not only before commits, so that readers of the
        # files (the GUI's audit browser) see entries within a poll interval.
        if self._audit is not None:
            self._audit.flush()
        if self._tlog is not None:
            self._tlog.flush()
        if not offsets or consumer is None:
            return
        try:
            consumer.commit(offsets=offsets, asynchronous=not final)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError) and err.code() == KafkaError._NO_OFFSET:
                return
            self._note_error(f"commit failed: {_error_text(exc)}")
            self.log(
                LogLevel.WARNING,
                "offset commit failed; the orders will be consumed again",
                error=_error_text(exc),
            )
            return
        for tp in offsets:
            self._parts[tp.partition].committed = tp.offset
            self._committed[tp.partition] = tp.offset

    def _on_commit(self, err: KafkaError | None, partitions: list[TopicPartition]) -> None:
        """Result of an asynchronous commit: a failed one is sent again at the next turn."""
        if err is not None and err.code() == KafkaError._NO_OFFSET:
            return
        failed = [tp for tp in partitions if err is not None or tp.error is not None]
        if not failed:
            return
        for tp in failed:
            part = self._parts.get(tp.partition)
            if part is not None and part.committed == tp.offset:
                part.committed = -1
        text = err.str() if err is not None else failed[0].error.str()
        self._note_error(f"commit failed: {text}")
        self._log_throttled(LogLevel.WARNING, "offset commit failed", text)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            if tp.topic == self._topic:
                self._parts[tp.partition] = _Partition(tp.partition)
        self.log(
            LogLevel.INFO,
            "partitions assigned",
            partitions=sorted(tp.partition for tp in partitions),
        )

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        numbers = [tp.partition for tp in partitions if tp.partition in self._parts]
        try:
            self._checkpoint(final=True, only=numbers)
        finally:
            self._forget(numbers)
        self.log(LogLevel.INFO, "partitions revoked", partitions=sorted(numbers))

    def _forget(self, numbers: list[int]) -> None:
        for number in numbers:
            self._parts.pop(number, None)
        self._resends = [r for r in self._resends if r.letter.context.part.number not in numbers]

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        numbers = [tp.partition for tp in partitions]
        self._forget(numbers)
        self._note_error("partitions lost: the group moved on without this consumer")
        self.log(
            LogLevel.WARNING,
            "partitions lost; their uncommitted orders will be consumed again",
            partitions=sorted(numbers),
        )

    # -- drain -----------------------------------------------------------------------------

    def _drained(self, now: float) -> bool:
        consumer = self._consumer
        if consumer is None:
            return False
        if self._drain_targets is None:
            self._drain_targets = self._end_offsets(consumer)
            if self._drain_targets is None:
                return False
        unknown = []
        for number, target in self._drain_targets.items():
            part = self._parts.get(number)
            if target <= 0 or number in self._known_done:
                continue
            if part is not None and part.committed >= target:
                continue
            unknown.append(number)
        if not unknown:
            return True
        # Partitions with nothing new for this consumer (or owned by another member) are
        # done when the group's committed offset reached the target: ask, now and then.
        if now - self._drain_checked >= 1.0:
            self._drain_checked = now
            self._check_committed(consumer, unknown)
        return all(n in self._known_done for n in unknown)

    def _end_offsets(self, consumer: Consumer) -> dict[int, int] | None:
        try:
            meta = consumer.list_topics(self._topic, timeout=5)
            partitions = meta.topics[self._topic].partitions
            targets = {}
            for number in partitions:
                marks = consumer.get_watermark_offsets(
                    TopicPartition(self._topic, number), timeout=5
                )
                if marks is None:
                    return None
                targets[number] = marks[1]
            return targets
        except KafkaException:
            return None

    def _check_committed(self, consumer: Consumer, numbers: list[int]) -> None:
        assert self._drain_targets is not None
        try:
            committed = consumer.committed(
                [TopicPartition(self._topic, n) for n in numbers], timeout=5
            )
        except KafkaException:
            return
        for tp in committed:
            if tp.offset >= self._drain_targets[tp.partition]:
                self._known_done.add(tp.partition)

    # -- audit, stats and logs -------------------------------------------------------------

    def _audit_write(
        self,
        event: AuditEvent,
        msg: Message,
        value: bytes | None,
        error: str | None,
        order: Order | None,
    ) -> None:
        assert self._audit is not None
        self._audit.write(event, self._topic, msg.partition(), msg.offset(), value, error, order)

    def _consumer_error(self, err: KafkaError) -> None:
        if err.code() == KafkaError._PARTITION_EOF:
            return
        if err.fatal():
            raise self._fatal_error(f"fatal Kafka consumer error: {err.str()}")
        self._note_error(err.str())
        self._log_throttled(LogLevel.WARNING, "consumer error", err.str())

    def _log_throttled(self, level: LogLevel, message: str, error: str) -> None:
        now = time.monotonic()
        key = f"{message}: {error}"
        if now - self._recent_errors.get(key, -ERROR_LOG_INTERVAL) < ERROR_LOG_INTERVAL:
            return
        self._recent_errors[key] = now
        self.log(level, message, error=error)

    def _note_error(self, text: str) -> None:
        self._last_error = text
        self._last_error_at = time.time()

    def _update_lag(self) -> None:
        """Orders on the assigned partitions not yet handled to the end.

        Counted from the first offset not handled (held-back and in-retry messages count),
        against the high watermark the client cached from its last fetch: no broker call.
        """
        consumer = self._consumer
        if consumer is None:
            self._lag = None
            return
        if not self._parts:
            self._lag = 0
            return
        try:
            unknown = [n for n, p in self._parts.items() if p.first_unhandled() is None]
            positions = {}
            if unknown:
                tps = [TopicPartition(self._topic, n) for n in unknown]
                positions = {tp.partition: tp.offset for tp in consumer.position(tps)}
            lag = 0
            for number, part in list(self._parts.items()):
                marks = consumer.get_watermark_offsets(
                    TopicPartition(self._topic, number), cached=True
                )
                if marks is None or marks[1] < 0:
                    continue
                base = part.first_unhandled()
                if base is None:
                    base = positions.get(number, -1)
                if base >= 0:
                    lag += max(0, marks[1] - base)
            self._lag = lag
        except (KafkaException, RuntimeError):
            self._lag = None

    def _log_metrics(self) -> None:
        stats = self.snapshot()
        self.log(
            LogLevel.INFO,
            "metrics",
            received=stats.received,
            valid=stats.valid,
            dead_lettered=stats.dead_lettered,
            retries=stats.retries,
            in_flight=stats.in_flight,
            rate=round(stats.rate, 2),
            success_rate=round(stats.success_rate, 2),
            lag=stats.lag,
        )


def _error_text(exc: KafkaException) -> str:
    err = exc.args[0] if exc.args else None
    return err.str() if isinstance(err, KafkaError) else str(exc)
