"""Offset commits and rebalance callbacks.

A partition is committed only up to the first message not handled to the end. Before a
commit the dead-letter deliveries are awaited and the log files flushed, so a committed
message always has its audit lines in the file and its dead letter on the broker.
"""

from __future__ import annotations

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from orderdesk.domain import LogLevel
from orderdesk.kafka.errors import error_text
from orderdesk.service.techlog import TechnicalLogWriter
from orderdesk.tracker.context import TrackerContext
from orderdesk.tracker.deadletters import DeadLetterPath


class OffsetKeeper:
    """Commits for the tracker's partitions, and what the rebalance callbacks do."""

    def __init__(self, ctx: TrackerContext, letters: DeadLetterPath) -> None:
        self.ctx = ctx
        self.letters = letters
        #: Offset last committed per partition, over the whole run.
        self.committed: dict[int, int] = {}
        #: The technical log, flushed with the audit trail.
        self.tlog: TechnicalLogWriter | None = None

    def checkpoint(self, final: bool = False, only: list[int] | None = None) -> None:
        """Commit what is handled to the end, after waiting for dead letters and flushing."""
        ctx = self.ctx
        consumer = ctx.consumer
        self.letters.await_deliveries(ctx.settings.tracker.dlq_flush_timeout)
        offsets = [
            TopicPartition(ctx.topic, n, upto)
            for n, upto in ctx.parts.to_commit(only, force=final).items()
        ]
        # Flushed at every turn of the loop, not only before commits, so that readers of the
        # files (the GUI's audit browser) see entries within a poll interval.
        if ctx.audit is not None:
            ctx.audit.flush()
        if self.tlog is not None:
            self.tlog.flush()
        if not offsets or consumer is None:
            return
        try:
            if final:
                consumer.commit(offsets=offsets, asynchronous=False)
            else:
                consumer.commit(offsets=offsets, asynchronous=True)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError) and err.code() == KafkaError._NO_OFFSET:
                return
            ctx.note_error(f"commit failed: {error_text(exc)}")
            ctx.log(
                LogLevel.WARNING,
                "offset commit failed; the orders will be consumed again",
                error=error_text(exc),
            )
            return
        for tp in offsets:
            part = ctx.parts.get(tp.partition)
            if part is not None:
                part.committed = tp.offset
            self.committed[tp.partition] = tp.offset

    def on_commit(self, err: KafkaError | None, partitions: list[TopicPartition]) -> None:
        """Result of an asynchronous commit: a failed one is sent again at the next turn."""
        if err is not None and err.code() == KafkaError._NO_OFFSET:
            return
        failed = [tp for tp in partitions if err is not None or tp.error is not None]
        if not failed:
            return
        for tp in failed:
            part = self.ctx.parts.get(tp.partition)
            if part is not None and part.committed == tp.offset:
                part.committed = -1
        first = failed[0].error
        text = err.str() if err is not None else first.str() if first is not None else "?"
        self.ctx.note_error(f"commit failed: {text}")
        self.ctx.log_throttled(LogLevel.WARNING, "offset commit failed", text)

    def on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        ctx = self.ctx
        ctx.parts.assign([tp.partition for tp in partitions if tp.topic == ctx.topic])
        ctx.log(
            LogLevel.INFO,
            "partitions assigned",
            partitions=sorted(tp.partition for tp in partitions),
        )

    def on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        numbers = [tp.partition for tp in partitions if tp.partition in self.ctx.parts]
        try:
            self.checkpoint(final=True, only=numbers)
        finally:
            self.forget(numbers)
        self.ctx.log(LogLevel.INFO, "partitions revoked", partitions=sorted(numbers))

    def forget(self, numbers: list[int]) -> None:
        self.ctx.parts.forget(numbers)
        self.letters.forget(numbers)

    def on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        numbers = [tp.partition for tp in partitions]
        self.forget(numbers)
        self.ctx.note_error("partitions lost: the group moved on without this consumer")
        self.ctx.log(
            LogLevel.WARNING,
            "partitions lost; their uncommitted orders will be consumed again",
            partitions=sorted(numbers),
        )
