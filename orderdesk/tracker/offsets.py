"""Offset commits and rebalance callbacks.

A partition is committed only up to the first message not handled to the end, and never
past the last audit line that reached the file: the offsets to commit are taken before
the audit trail is flushed and sent only when the flush succeeded. A flush that fails
(disk full, file size limit) stops the loop; what was audited before is still committed,
nothing after it.

Commits are asynchronous and go out every `commit_interval` seconds; their results come
back through `on_commit` and count as committed only then. The final commit of a stop is
asynchronous too and awaited up to a deadline, so a stop never hangs on a broker that does
not answer; what it could not commit is named (`uncommitted`).
"""

from __future__ import annotations

import contextlib
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from orderdesk.domain import LogLevel
from orderdesk.kafka.errors import error_text
from orderdesk.service.techlog import TechnicalLogWriter
from orderdesk.tracker.context import TrackerContext
from orderdesk.tracker.deadletters import DeadLetterPath

#: Longest the loop waits for dead-letter acknowledgements before a commit.
LOOP_DELIVERY_WAIT = 0.1
#: Slice of a final commit's wait for its result.
_POLL_SLICE = 0.05


class OffsetKeeper:
    """Commits for the tracker's partitions, and what the rebalance callbacks do."""

    def __init__(self, ctx: TrackerContext, letters: DeadLetterPath) -> None:
        self.ctx = ctx
        self.letters = letters
        #: Offset the broker confirmed as committed, per partition, over the whole run.
        self.committed: dict[int, int] = {}
        #: Offsets of the final commit the broker did not confirm in time.
        self.uncommitted: dict[int, int] = {}
        #: The technical log, flushed with the audit trail.
        self.tlog: TechnicalLogWriter | None = None
        #: Why the audit trail cannot be written, once it cannot.
        self.audit_error: OSError | None = None
        #: Set while the consumer closes: rebalance callbacks then only forget.
        self.closing = False
        #: Partition numbers ever assigned in this run.
        self.seen: set[int] = set()

    # -- commits ---------------------------------------------------------------------------

    def checkpoint(self, final: bool = False, only: list[int] | None = None) -> dict[int, int]:
        """Flush the files and commit what is handled to the end and audited; returns it.

        Not final: asynchronous, dead letters awaited briefly. Final (a revoke): synchronous.
        """
        ctx = self.ctx
        wait = ctx.settings.tracker.dlq_flush_timeout
        self.letters.await_deliveries(wait if final else min(wait, LOOP_DELIVERY_WAIT))
        targets = self.flush(only, force=final)
        if targets:
            self._commit(targets, asynchronous=not final)
        return targets

    def flush(self, only: list[int] | None = None, force: bool = False) -> dict[int, int]:
        """Flush the files; the offsets now safe to commit (audited, not committed yet)."""
        ctx = self.ctx
        targets = ctx.parts.to_commit(only, force=force)
        if self.audit_error is None and ctx.audit is not None:
            try:
                ctx.audit.flush()
            except OSError as exc:
                self._audit_failed(exc)
            else:
                ctx.parts.mark_audited(ctx.parts.to_commit(only, force=True))
                ctx.counters.mark_durable()
                self.letters.acknowledged_unflushed = False
        if self.audit_error is not None:
            targets = ctx.parts.audited(only)
        if self.tlog is not None:
            # The technical log is best effort; the audit trail is not.
            with contextlib.suppress(OSError):
                self.tlog.flush()
        return targets

    def _audit_failed(self, exc: OSError) -> None:
        self.audit_error = exc
        self.ctx.counters.roll_back_to_durable()
        self.ctx.note_error(f"cannot write the audit trail: {exc}")

    def _commit(self, targets: dict[int, int], asynchronous: bool) -> bool:
        ctx = self.ctx
        consumer = ctx.consumer
        if consumer is None or not targets:
            return False
        offsets = [TopicPartition(ctx.topic, n, o) for n, o in targets.items()]
        for tp in offsets:
            part = ctx.parts.get(tp.partition)
            if part is not None:
                part.committed = tp.offset
        try:
            if asynchronous:
                consumer.commit(offsets=offsets, asynchronous=True)
            else:
                result = consumer.commit(offsets=offsets, asynchronous=False)
                self._record(result if isinstance(result, list) else offsets)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError) and err.code() == KafkaError._NO_OFFSET:
                return True
            for tp in offsets:
                part = ctx.parts.get(tp.partition)
                if part is not None and part.committed == tp.offset:
                    part.committed = -1
            ctx.note_error(f"commit failed: {error_text(exc)}")
            ctx.log_throttled(
                LogLevel.WARNING,
                "offset commit failed; the orders will be consumed again",
                error_text(exc),
            )
            return False
        return True

    def _record(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            if tp.error is None and tp.offset > self.committed.get(tp.partition, -1):
                self.committed[tp.partition] = tp.offset

    def on_commit(self, err: KafkaError | None, partitions: list[TopicPartition]) -> None:
        """Result of an asynchronous commit: a failed one is sent again at the next commit."""
        if err is not None and err.code() == KafkaError._NO_OFFSET:
            return
        failed = [tp for tp in partitions if err is not None or tp.error is not None]
        if err is None:
            self._record(partitions)
        if not failed:
            return
        for tp in failed:
            part = self.ctx.parts.get(tp.partition)
            if part is not None and part.committed == tp.offset:
                part.committed = -1
        first = failed[0].error
        text = err.str() if err is not None else (first.str() if first else "unknown error")
        self.ctx.note_error(f"commit failed: {text}")
        self.ctx.log_throttled(LogLevel.WARNING, "offset commit failed", text)

    def final_commit(self, deadline: float) -> None:
        """Commit what is done and wait for the broker's answer, up to `deadline`.

        The polls that serve the commit's result may return messages: they are left alone,
        neither handled nor committed. What is not confirmed by the deadline goes to
        `uncommitted`.
        """
        ctx = self.ctx
        consumer = ctx.consumer
        left = max(0.0, deadline - time.monotonic())
        self.letters.await_deliveries(min(ctx.settings.tracker.dlq_flush_timeout, left))
        targets = self.flush(force=True)
        targets = {n: o for n, o in targets.items() if self.committed.get(n, -1) < o}
        # Offsets sent earlier whose result is still out count as well.
        for part in ctx.parts:
            if part.committed > self.committed.get(part.number, -1):
                targets.setdefault(part.number, part.committed)
        if consumer is None or not targets:
            return
        self._commit(targets, asynchronous=True)
        while time.monotonic() < deadline:
            if all(self.committed.get(n, -1) >= o for n, o in targets.items()):
                break
            try:
                consumer.poll(min(_POLL_SLICE, max(0.0, deadline - time.monotonic())))
            except (KafkaException, RuntimeError):
                break
        self.uncommitted = {
            n: o for n, o in sorted(targets.items()) if self.committed.get(n, -1) < o
        }

    # -- rebalances ------------------------------------------------------------------------

    def on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        ctx = self.ctx
        numbers = [tp.partition for tp in partitions if tp.topic == ctx.topic]
        ctx.parts.assign(numbers, ctx.prior)
        self.seen.update(numbers)
        ctx.log(LogLevel.INFO, "partitions assigned", partitions=sorted(numbers))

    def on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        numbers = [tp.partition for tp in partitions if tp.partition in self.ctx.parts]
        try:
            if not self.closing:
                self.checkpoint(final=True, only=numbers)
        finally:
            self.forget(numbers)
        if not self.closing:
            self.ctx.log(LogLevel.INFO, "partitions revoked", partitions=sorted(numbers))

    def forget(self, numbers: list[int]) -> None:
        ctx = self.ctx
        for number in numbers:
            part = ctx.parts.get(number)
            if part is not None and not self.closing:
                ctx.counters.released += part.in_flight()
        ctx.parts.forget(numbers)
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
