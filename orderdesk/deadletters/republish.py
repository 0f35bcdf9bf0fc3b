"""Republish dead-letter entries, one or many, with the guards a person needs.

A republished message goes to the entry's original topic (or a topic the caller names),
keeps the original key byte for byte and, going back to the original topic, the original
partition (see `replay_partition`), carries the failed record's own headers (for
OrderDesk's dead letters: those the producer puts on an order) plus three replay headers:
`orderdesk.replay.dlq.id` (which entry), `orderdesk.replay.at` (when, ISO 8601 UTC) and
`orderdesk.replay.count` (1 for the first replay of that entry, then 2, ...). It counts as
done only when the broker acknowledged it (idempotent producer, `acks=all`); only then is
it written to the ledger.

Guards, checked for each entry before anything is sent (a refused entry is reported, the
others go on):

* **second replay** - an entry the ledger shows as replayed already is refused unless
  `again=True`;
* **into itself** - the target is the dead-letter topic the entry was read from, or the
  configured dead-letter topic: always refused, `again` does not lift it (the message
  would become a new dead letter without ever being processed);
* **loop through its source** - the entry's failed record was itself a replay (it carried
  `orderdesk.replay.dlq.id`, which the tracker, Spring and Connect keep on dead letters),
  and it would go back, unchanged, to the topic it just failed on. It already went
  source -> dead letters -> source -> dead letters once; sending it round again unchanged
  is the loop. Refused unless `again=True` or the payload was edited;
* **nowhere to go** - no original topic is known and none was named, or the target topic
  does not exist on the cluster (a typo must not create a topic);
* **twice in one request** - the same entry asked for twice in one call goes once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from orderdesk.config import Settings
from orderdesk.deadletters.entries import DeadLetterEntry
from orderdesk.deadletters.ledger import ReplayLedger, ReplayRecord
from orderdesk.domain import headers as hdr
from orderdesk.domain.text import plural
from orderdesk.kafka.clients import BrokerUnavailable, describe_cluster, make_producer
from orderdesk.kafka.errors import error_text
from orderdesk.kafka.records import ProduceHeaders, record_offset, record_partition


class Outcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    REFUSED = "refused"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ReplayRequest:
    """Republish `entry`; `payload` replaces its payload (an edit), `target_topic` its topic."""

    entry: DeadLetterEntry
    payload: bytes | None = None
    target_topic: str | None = None

    @property
    def topic(self) -> str | None:
        return self.target_topic or self.entry.original_topic

    @property
    def edited(self) -> bool:
        return self.payload is not None and self.payload != self.entry.payload_bytes


@dataclass(frozen=True)
class ReplayResult:
    entry_id: str
    outcome: Outcome
    target_topic: str | None
    message: str = ""
    partition: int | None = None
    offset: int | None = None
    replay_count: int = 0
    #: How the partition was chosen: kept the original one, or why the partitioner chose.
    partition_note: str = ""

    def describe(self) -> str:
        if self.outcome is Outcome.ACKNOWLEDGED:
            note = f"; {self.partition_note}" if self.partition_note else ""
            return (
                f"{self.entry_id}: republished to {self.target_topic}[{self.partition}]"
                f"@{self.offset} (replay #{self.replay_count}{note})"
            )
        return f"{self.entry_id}: {self.outcome}: {self.message}"


@dataclass
class ReplaySummary:
    results: list[ReplayResult] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    @property
    def acknowledged(self) -> int:
        return self.count(Outcome.ACKNOWLEDGED)

    @property
    def refused(self) -> int:
        return self.count(Outcome.REFUSED)

    @property
    def failed(self) -> int:
        return self.count(Outcome.FAILED)

    @property
    def ok(self) -> bool:
        """True when there was work and every requested republish was acknowledged."""
        return bool(self.results) and self.acknowledged == len(self.results)

    def text(self) -> str:
        return (
            f"{self.acknowledged} of {len(self.results)} republished and acknowledged, "
            f"{self.refused} refused, {self.failed} failed"
        )


def replay_partition(
    entry: DeadLetterEntry, target: str, partition_count: int | None
) -> tuple[int | None, str]:
    """The partition to republish `entry` to (None: the partitioner's choice), and why.

    Back on its original topic, with its key unchanged (a republish never changes it), a
    message keeps its original partition, so it stays in order with the other events of
    its key whichever partitioner wrote them (Java's murmur2, librdkafka's CRC32, or an
    explicit choice). That holds while the topic keeps its partition count; Kafka keeps no
    history of it, so the partition is kept when it still exists. Elsewhere the producer's
    partitioner (Java-compatible murmur2) decides.
    """
    original = entry.original_partition
    if entry.original_topic is None:
        return None, "partition chosen by the partitioner: the original topic is unknown"
    if target != entry.original_topic:
        return None, "partition chosen by the partitioner: not the original topic"
    if original is None or original < 0:
        return None, "partition chosen by the partitioner: the original partition is unknown"
    if partition_count is None:
        return None, f"partition chosen by the partitioner: {target}'s partitions are unknown"
    if original >= partition_count:
        return None, (
            f"partition chosen by the partitioner: {target} has {partition_count} "
            f"partition(s) now, the original partition {original} is gone"
        )
    return original, f"kept its original partition {original}"


#: Called after each entry is settled: (settled so far, total, its result).
ProgressCallback = Callable[[int, int, ReplayResult], None]


class Republisher:
    """Sends replays; one producer per instance. Not thread-safe: use from one thread."""

    def __init__(self, settings: Settings, ledger: ReplayLedger, timeout: float = 30.0) -> None:
        self.settings = settings
        self.ledger = ledger
        #: Seconds a message may wait for its acknowledgement before it counts as failed.
        self.timeout = timeout
        self._producer: Producer | None = None
        self._acked: list[tuple[ReplayRecord, ReplayResult]] = []
        self._partition_counts: Mapping[str, int] = {}
        self._user = _user()

    def refusal(
        self,
        request: ReplayRequest,
        again: bool = False,
        existing_topics: Iterable[str] | None = None,
    ) -> str | None:
        """Why this request would be refused, or None when it may go."""
        entry = request.entry
        target = request.topic
        if not target:
            return "the original topic is unknown: name a target topic"
        if target in (entry.dlq_topic, self.settings.topics.dlq):
            return f"target {target} is the dead-letter topic itself; it would feed into itself"
        if existing_topics is not None and target not in _as_set(existing_topics):
            return f"target topic {target} does not exist"
        previous = self.ledger.replay_count(entry.dlq_topic, entry.id)
        if previous and not again:
            return (
                f"already republished {plural(previous, 'time')}; to republish it anyway, "
                "pass --again (in the desk: tick Again)"
            )
        if entry.replay_of and not request.edited and target == entry.original_topic and not again:
            return (
                f"this dead letter is the replay of {entry.replay_of}, which failed again on "
                f"{target}; republishing it unchanged would loop (edit it, or pass --again; in the "
                "desk: tick Again)"
            )
        return None

    def republish(
        self,
        requests: Iterable[ReplayRequest],
        again: bool = False,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> ReplaySummary:
        """Send every request that passes the guards and wait for each acknowledgement.

        Raises `BrokerUnavailable` when the cluster does not answer at all.
        """
        requests = list(requests)
        total = len(requests)
        summary = ReplaySummary()
        if not requests:
            return summary
        cluster = describe_cluster(self.settings.kafka)
        topics = cluster.topics
        self._partition_counts = cluster.partition_counts
        lock = threading.Lock()

        def settle(result: ReplayResult) -> None:
            with lock:
                summary.results.append(result)
                done = len(summary.results)
            if on_progress is not None:
                on_progress(done, total, result)

        producer = self._get_producer()
        seen: set[tuple[str, str]] = set()
        for request in requests:
            entry = request.entry
            ident = (entry.dlq_topic, entry.id)
            if cancel is not None and cancel.is_set():
                settle(
                    ReplayResult(
                        entry.id, Outcome.FAILED, request.topic, "cancelled before sending"
                    )
                )
                continue
            if ident in seen:
                settle(
                    ReplayResult(
                        entry.id, Outcome.REFUSED, request.topic, "asked twice in one request"
                    )
                )
                continue
            seen.add(ident)
            reason = self.refusal(request, again, topics)
            if reason is not None:
                settle(ReplayResult(entry.id, Outcome.REFUSED, request.topic, reason))
                continue
            self._send(producer, request, settle)
        deadline = time.monotonic() + self.timeout + 10.0
        while len(producer) > 0 and time.monotonic() < deadline:
            producer.poll(0.1)
            self._flush_acked(settle)
        producer.poll(0)
        self._flush_acked(settle)
        # Each line already reached the operating system when it was appended.
        with contextlib.suppress(OSError):
            self.ledger.sync()
        if len(summary.results) < total:
            done_ids = {r.entry_id for r in summary.results}
            for request in requests:
                if request.entry.id not in done_ids:
                    settle(
                        ReplayResult(
                            request.entry.id,
                            Outcome.FAILED,
                            request.topic,
                            f"no acknowledgement within {self.timeout:g} s",
                        )
                    )
        return summary

    def close(self) -> None:
        """Wait for what is in flight (bounded) and drop the producer."""
        if self._producer is not None:
            self._producer.flush(self.timeout)
            self._producer = None
        # A late acknowledgement (after republish() gave up waiting) is still a replay.
        self._flush_acked(lambda _result: None)

    def _get_producer(self) -> Producer:
        if self._producer is None:
            self._producer = make_producer(
                self.settings.kafka,
                **{"message.timeout.ms": int(self.timeout * 1000), "linger.ms": 5},
            )
        return self._producer

    def _send(
        self,
        producer: Producer,
        request: ReplayRequest,
        settle: Callable[[ReplayResult], None],
    ) -> None:
        entry = request.entry
        target = request.topic
        assert target is not None
        count = self.ledger.replay_count(entry.dlq_topic, entry.id) + 1
        now = datetime.now(UTC).isoformat()
        headers: ProduceHeaders = [
            *entry.republish_headers(),
            (hdr.REPLAY_DLQ_ID, entry.id.encode("utf-8")),
            (hdr.REPLAY_AT, now.encode("utf-8")),
            (hdr.REPLAY_COUNT, str(count).encode("utf-8")),
        ]
        value = request.payload if request.payload is not None else entry.payload_bytes
        edited = request.edited
        partition, partition_note = replay_partition(
            entry, target, self._partition_counts.get(target)
        )

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                settle(ReplayResult(entry.id, Outcome.FAILED, target, err.str()))
                return
            record = ReplayRecord(
                entry_id=entry.id,
                dlq_topic=entry.dlq_topic,
                replayed_at=now,
                replay_count=count,
                target_topic=target,
                target_partition=record_partition(msg),
                target_offset=record_offset(msg),
                payload_edited=edited,
                user=self._user,
            )
            result = ReplayResult(
                entry.id,
                Outcome.ACKNOWLEDGED,
                target,
                "",
                record_partition(msg),
                record_offset(msg),
                count,
                partition_note,
            )
            # Written and reported by `_flush_acked`, one ledger write per batch of acks.
            self._acked.append((record, result))

        while True:
            try:
                producer.produce(
                    target,
                    value=value,
                    key=entry.key_bytes,
                    headers=headers,
                    on_delivery=on_delivery,
                    partition=_PARTITIONER if partition is None else partition,
                )
                break
            except KafkaException as exc:
                settle(ReplayResult(entry.id, Outcome.FAILED, target, error_text(exc)))
                return
            except BufferError:
                # The local queue is full: serve delivery reports to make room, then retry.
                producer.poll(0.1)
                self._flush_acked(settle)
        producer.poll(0)
        self._flush_acked(settle)

    def _flush_acked(self, settle: Callable[[ReplayResult], None]) -> None:
        """Record the acknowledged replays in the ledger, then report them."""
        if not self._acked:
            return
        acked, self._acked = self._acked, []
        try:
            self.ledger.append_many([record for record, _ in acked], sync=False)
            note = ""
        except OSError as exc:
            note = f"acknowledged, but the replay ledger could not be written: {exc}"
        for _, result in acked:
            settle(dataclasses.replace(result, message=note) if note else result)


#: librdkafka's RD_KAFKA_PARTITION_UA: let the configured partitioner choose.
_PARTITIONER = -1


def _as_set(names: Iterable[str]) -> set[str] | frozenset[str]:
    return names if isinstance(names, (set, frozenset)) else set(names)


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


__all__ = [
    "BrokerUnavailable",
    "Outcome",
    "ProgressCallback",
    "ReplayRequest",
    "ReplayResult",
    "ReplaySummary",
    "Republisher",
    "replay_partition",
]
