"""The tracker: consume orders, validate, retry with backoff, dead-letter, audit, commit.

Delivery is at-least-once. Offsets are committed by hand, per partition, only up to the
first message that is not handled to the end: audited as valid, or dead-lettered and
acknowledged by the broker on the dead-letter topic (see `offsets`). A retryable failure
holds back its partition only (see `processing`); a dead letter that the broker does not
acknowledge is sent again after a backoff (see `deadletters`). A stop request ends a retry
wait at once; the message in retry is then not committed and comes back on restart.

This module holds the loop and the set-up and tear-down of the clients and files.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from orderdesk.audit.trail import read_back
from orderdesk.audit.writer import TRACKER_EVENTS, AuditWriter
from orderdesk.config import ConfigError, Settings
from orderdesk.deadletters.letter import DeadLetterProducer
from orderdesk.domain import LogEntry, LogLevel
from orderdesk.kafka import BrokerUnavailable, ensure_topics, make_consumer
from orderdesk.kafka.clients import librdkafka_log
from orderdesk.kafka.errors import error_text
from orderdesk.service.base import RateMeter, Service, ServiceError
from orderdesk.service.jsonl import Retention
from orderdesk.service.techlog import TRACKER_LOG, TechnicalLogWriter
from orderdesk.tracker.context import TrackerContext
from orderdesk.tracker.deadletters import DeadLetterPath
from orderdesk.tracker.downstream import Downstream, StockReservation
from orderdesk.tracker.drain import Drain
from orderdesk.tracker.lag import lag_by_partition
from orderdesk.tracker.membership import instance_id, membership_config
from orderdesk.tracker.offsets import OffsetKeeper
from orderdesk.tracker.processing import Processor
from orderdesk.tracker.result import TrackerResult
from orderdesk.tracker.stats import TrackerStats
from orderdesk.tracker.stopping import close_consumer, log_stopped, run_result

__all__ = ["StockReservation", "TrackerResult", "TrackerService"]

#: Messages fetched per `consume` call.
BATCH_SIZE = 500
#: Longest wait for the rest of a batch once its first message is in: at a moderate pace
#: it is added to every order's latency, and it bounds how often the loop commits.
BATCH_LINGER = 0.001
#: Longest a `consume` call blocks: how long a stop request may wait to be seen.
POLL_TIMEOUT = 0.2
#: How often the lag is worked out from the client's cached watermarks.
LAG_INTERVAL = 2.0
#: Orders handled after which the loop commits without waiting for `commit_interval`.
COMMIT_EVERY = 5_000


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
        self._ctx = ctx = TrackerContext(settings, self.log)
        self._letters = DeadLetterPath(ctx)
        self._offsets = OffsetKeeper(ctx, self._letters)
        self._processor = Processor(
            ctx,
            self._letters,
            downstream or StockReservation(tracker.transient_failure_rate, seed),
            skip_downstream=downstream is None and tracker.transient_failure_rate <= 0,
            on_consumer_error=self._consumer_error,
        )
        self._drain = Drain(ctx.topic)
        self._consumer_extra = consumer_config or {}
        self._instance_id = instance_id(settings)
        self._tlog: TechnicalLogWriter | None = None
        self._lag: dict[int, int] | None = None
        #: Seconds spent handling received batches (for the processing-time metric).
        self._busy = 0.0
        self._fatal: KafkaError | None = None
        self._rate = RateMeter()
        self._dlq_rate = RateMeter()
        self._started = time.monotonic()

    # -- public ----------------------------------------------------------------------------

    def drain(self) -> None:
        """Stop once every message now on the topic is handled and committed. Thread-safe."""
        self._drain.requested = True

    def snapshot(self) -> TrackerStats:
        """Current counters (call from the service's thread, or accept slightly torn values)."""
        ctx = self._ctx
        c = ctx.counters
        return TrackerStats(
            received=c.received,
            valid=c.valid,
            dead_lettered=dict(c.dead_lettered),
            retries=c.retries,
            in_flight=ctx.parts.in_flight(),
            rate=self._rate.update(c.received),
            dead_letter_rate=self._dlq_rate.update(c.dead_lettered_total),
            lag=None if self._lag is None else sum(self._lag.values()),
            lag_by_partition=dict(self._lag or {}),
            processing_seconds=self._busy,
            last_error=ctx.last_error,
            last_error_at=ctx.last_error_at,
            elapsed=time.monotonic() - self._started,
        )

    def handle_log(self, entry: LogEntry) -> None:
        if self._tlog is not None:
            self._tlog.write(entry)
        super().handle_log(entry)

    def run(self) -> TrackerResult:
        """Consume until stopped or drained; raises `ServiceError` on a fatal error."""
        ctx = self._ctx
        self._started = time.monotonic()
        self._open_files()
        try:
            self._prepare_topics()
            self._make_clients()
            tracker = self.settings.tracker
            self.log(
                LogLevel.INFO,
                "tracker started",
                topic=ctx.topic,
                dlq_topic=self.settings.topics.dlq,
                group=ctx.group,
                instance_id=self._instance_id,
                bootstrap_servers=self.settings.kafka.bootstrap_servers,
                max_retries=ctx.backoff.max_attempts,
                log_dir=str(self.settings.log_dir),
                stop_timeout=tracker.stop_timeout,
                commit_interval=tracker.commit_interval,
                already_audited_partitions=sorted(ctx.prior),
            )
            assert ctx.consumer is not None
            ctx.consumer.subscribe(
                [ctx.topic],
                on_assign=self._offsets.on_assign,
                on_revoke=self._offsets.on_revoke,
                on_lost=self._offsets.on_lost,
            )
            self._loop()
        except ServiceError as exc:
            error: ServiceError | None = exc
        except KafkaException as exc:
            error = self._fatal_error(f"Kafka error: {error_text(exc)}")
        except OSError as exc:
            error = self._fatal_error(
                f"cannot write the tracker's files in {self.settings.log_dir}: {exc}"
            )
        else:
            error = None
        result = self._stop(error)
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
            retention = Retention(
                tracker.audit_retention_bytes,
                tracker.audit_retention_days * 86_400,
                self._on_retention,
            )
            self._ctx.audit = AuditWriter(
                log_dir / TRACKER_EVENTS, tracker.log_max_bytes, tracker.log_backups, retention
            )
            self._ctx.prior = read_back(log_dir / TRACKER_EVENTS, self._ctx.topic)
        except OSError as exc:
            self._close_files()
            raise ServiceError(f"cannot open the tracker's files in {log_dir}: {exc}") from None
        self._offsets.tlog = self._tlog

    def _on_retention(self, path: Path, size: int, reason: str) -> None:
        limit = (
            f"{self.settings.tracker.audit_retention_bytes} bytes in all"
            if reason == "size"
            else f"{self.settings.tracker.audit_retention_days:g} days"
        )
        self.log(
            LogLevel.WARNING,
            f"audit retention removed {path.name}: history beyond {limit} is not kept",
            file=str(path),
            bytes=size,
            reason=reason,
        )

    def _prepare_topics(self) -> None:
        topics = self.settings.topics
        try:
            created = ensure_topics(self.settings.kafka, [topics.orders, topics.dlq], topics)
        except BrokerUnavailable as exc:
            raise ServiceError(str(exc)) from None
        except KafkaException as exc:
            raise ServiceError(f"cannot prepare topics: {error_text(exc)}") from None
        if created:
            self.log(LogLevel.INFO, "created topics", topics=created)

    def _make_clients(self) -> None:
        common = {"error_cb": self._on_client_error, "logger": librdkafka_log}
        try:
            self._ctx.consumer = make_consumer(
                self.settings.kafka,
                self._ctx.group,
                on_commit=self._offsets.on_commit,
                **common,
                **membership_config(self.settings, self._instance_id),
                **self._consumer_extra,
            )
            self._letters.producer = DeadLetterProducer(
                self.settings, self._letters.on_delivery, **common
            )
        except (KafkaException, ValueError, TypeError) as exc:
            raise ConfigError(f"Kafka client configuration: {error_text(exc)}") from None

    def _on_client_error(self, err: KafkaError) -> None:
        """librdkafka's error callback: fatal errors end the run, others are reported."""
        if err.fatal():
            self._fatal = err
            return
        self._ctx.note_error(err.str())
        self._ctx.log_throttled(LogLevel.WARNING, "Kafka client error", err.str())

    def _fatal_error(self, message: str) -> ServiceError:
        self._ctx.note_error(message)
        self.log(LogLevel.CRITICAL, "tracker stopped by a fatal error", error=message)
        return ServiceError(message)

    def _stop(self, error: ServiceError | None) -> TrackerResult:
        """Final dead letters and commit, then close: all within `stop_timeout` seconds."""
        ctx = self._ctx
        offsets = self._offsets
        consumer = ctx.consumer
        timeout = self.settings.tracker.stop_timeout
        deadline = time.monotonic() + timeout
        try:
            if consumer is not None:
                self.log(LogLevel.INFO, f"stopping: final commit within {timeout:g} s")
                try:
                    offsets.final_commit(deadline)
                except (KafkaException, RuntimeError) as exc:
                    self.log(LogLevel.WARNING, "final commit failed", error=str(exc))
                self._lag = lag_by_partition(consumer, ctx.topic, ctx.parts)
            left = self._letters.close(
                min(self.settings.tracker.dlq_flush_timeout, max(0.0, deadline - time.monotonic()))
            )
            with contextlib.suppress(OSError):
                offsets.flush()  # audit lines of the letters acknowledged just now
            result = run_result(
                ctx, offsets, self.snapshot(), None if error is None else str(error), left
            )
            if consumer is not None:
                offsets.closing = True
                close_consumer(consumer, deadline, self.log)
                ctx.consumer = None
                log_stopped(self.log, result)
        finally:
            self._close_files()
        self.emit_stats(result.stats)
        return result

    def _close_files(self) -> None:
        for writer in (self._ctx.audit, self._tlog):
            if writer is not None:
                with contextlib.suppress(OSError):
                    writer.close()
        self._ctx.audit = None
        self._tlog = None
        self._offsets.tlog = None

    # -- the loop --------------------------------------------------------------------------

    def _loop(self) -> None:
        ctx = self._ctx
        consumer = ctx.consumer
        assert consumer is not None
        processor = self._processor
        letters = self._letters
        stats_interval = self.stats_interval
        metrics_interval = self.settings.tracker.metrics_interval
        now = time.monotonic()
        next_stats = now + stats_interval
        next_metrics = now + metrics_interval
        next_lag = now + LAG_INTERVAL
        commit_interval = self.settings.tracker.commit_interval
        next_commit = now + commit_interval
        handled_at_commit = 0
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
                began = time.perf_counter()
                processor.route(msgs)
                self._busy += time.perf_counter() - began
            now = time.monotonic()
            if ctx.parts.retry_due(now):
                processor.run_retries(now)
            if letters.resends:
                letters.run_resends(now)
            if letters.serve_deliveries():
                self._offsets.flush()
                if self._offsets.audit_error is not None:
                    raise self._offsets.audit_error
            counters = ctx.counters
            handled = counters.valid + counters.dead_lettered_total + counters.released
            if now >= next_commit or handled - handled_at_commit >= COMMIT_EVERY:
                self._offsets.checkpoint()
                if self._offsets.audit_error is not None:
                    raise self._offsets.audit_error
                next_commit = now + commit_interval
                handled_at_commit = handled
            if now >= next_lag:
                self._lag = lag_by_partition(consumer, ctx.topic, ctx.parts)
                next_lag = now + LAG_INTERVAL
            if now >= next_stats:
                self.emit_stats(self.snapshot())
                next_stats = now + stats_interval
            if now >= next_metrics:
                self._log_metrics()
                next_metrics = now + metrics_interval
            if self._drain.requested and self._drain.done(consumer, ctx.parts, now):
                self.log(LogLevel.INFO, "every order on the topic is handled; stopping")
                break

    def _poll_timeout(self) -> float:
        dues = [d for d in (self._ctx.parts.next_due(), self._letters.next_due()) if d is not None]
        if not dues:
            return POLL_TIMEOUT
        return max(0.0, min(POLL_TIMEOUT, min(dues) - time.monotonic()))

    def _consumer_error(self, err: KafkaError) -> None:
        if err.code() == KafkaError._PARTITION_EOF:
            return
        if err.fatal():
            raise self._fatal_error(f"fatal Kafka consumer error: {err.str()}")
        self._ctx.note_error(err.str())
        self._ctx.log_throttled(LogLevel.WARNING, "consumer error", err.str())

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
