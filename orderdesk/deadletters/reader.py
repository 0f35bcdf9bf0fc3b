"""Read a whole dead-letter topic from the beginning, then follow it live.

The reader never joins a consumer group and never commits: it `assign()`s every
partition explicitly from the low watermark, so reading the dead letters moves no
group's offsets (least of all the tracker's) and every reader sees everything.
`group.id` is still set, to a throwaway name, only because librdkafka requires one.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from orderdesk.config import KafkaSettings
from orderdesk.deadletters.entries import DeadLetterEntry, Header, entry_from_record
from orderdesk.kafka.clients import BrokerUnavailable, make_consumer
from orderdesk.kafka.errors import error_text
from orderdesk.kafka.records import record_headers, record_offset, record_partition, record_topic

log = logging.getLogger("orderdesk.deadletters")

#: How often, while following, the reader looks for new partitions (or a new topic).
METADATA_REFRESH = 5.0

EntriesCallback = Callable[[list[DeadLetterEntry]], None]

#: A dead-letter record as read, not parsed yet: `entry_from_record`'s arguments (topic,
#: partition, offset, key, value, headers, timestamp in ms, timestamp type). It holds only
#: text, bytes and numbers, so Python's garbage collector stops looking at it after its
#: first pass: thousands of them waiting cost a full collection nothing, where as many
#: entries (four tracked objects each) cost it about 1.4 ms a thousand, with the GIL held.
DeadLetterRecord = tuple[
    str, int, int, bytes | None, bytes | None, tuple[Header, ...], int | None, int
]
RecordsCallback = Callable[[list[DeadLetterRecord]], None]


def parse_records(records: list[DeadLetterRecord]) -> list[DeadLetterEntry]:
    """The entries of records read by a `DeadLetterReader` given `on_records`."""
    return [entry_from_record(*record) for record in records]


class DeadLetterReader:
    """Reads one dead-letter topic. `run()` blocks; `stop()` may be called from any thread.

    Entries leave the reader in batches through `on_entries`; `on_caught_up` is called
    once, when everything that was in the topic when the reader started has been read.
    With `on_records` instead, the records go out unparsed (`parse_records` makes the
    entries), on every turn of the reading loop, an empty list when none came: the
    receiver decides when and on which thread to parse them.
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        on_entries: EntriesCallback | None = None,
        on_caught_up: Callable[[], None] | None = None,
        batch_size: int = 500,
        on_records: RecordsCallback | None = None,
    ) -> None:
        self.kafka = kafka
        self.topic = topic
        self._on_entries = on_entries
        self._on_records = on_records
        self._on_caught_up = on_caught_up
        self._batch_size = batch_size
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def scan(self, timeout: float | None = None) -> list[DeadLetterEntry]:
        """Every entry in the topic now, oldest first; raises `BrokerUnavailable`."""
        found: list[DeadLetterEntry] = []
        self._on_entries = found.extend
        self.run(follow=False, timeout=timeout)
        return sorted(found, key=_sort_key)

    def run(self, follow: bool = True, timeout: float | None = None) -> None:
        """Read from the beginning; with `follow`, go on until `stop()`.

        `timeout` bounds the catch-up (None: the connection timeout plus a minute).
        Raises `BrokerUnavailable` when the cluster does not answer.
        """
        consumer = make_consumer(
            self.kafka,
            f"orderdesk-dlq-reader-{uuid.uuid4().hex}",
            # End-of-partition events mark the catch-up even when the last offsets are
            # transaction markers, which never reach the application.
            **{"enable.auto.commit": False, "enable.partition.eof": True},
        )
        try:
            self._read(consumer, follow, timeout)
        finally:
            consumer.close()

    def _read(self, consumer: Consumer, follow: bool, timeout: float | None) -> None:
        assigned: set[int] = set()
        #: Partition -> offset the catch-up must reach (high watermark at start).
        targets: dict[int, int] = {}
        at_end: set[int] = set()
        caught_up = False
        deadline = time.monotonic() + (
            self.kafka.connect_timeout + 60.0 if timeout is None else timeout
        )
        partitions = self._partitions(consumer, first=True)
        self._assign_new(consumer, partitions, assigned, targets)
        next_refresh = time.monotonic() + METADATA_REFRESH
        while not self._stop.is_set():
            if not caught_up and self._reached(consumer, targets, at_end):
                caught_up = True
                if self._on_caught_up is not None:
                    self._on_caught_up()
                if not follow:
                    return
            if not caught_up and time.monotonic() > deadline:
                raise BrokerUnavailable(
                    f"could not read dead-letter topic {self.topic} to its end in time"
                )
            if follow and time.monotonic() >= next_refresh:
                next_refresh = time.monotonic() + METADATA_REFRESH
                self._assign_new(consumer, self._partitions(consumer), assigned, {})
            if not assigned:
                self._stop.wait(0.2)
                continue
            messages = consumer.consume(self._batch_size, timeout=0.2)
            batch: list[DeadLetterRecord] = []
            for msg in messages:
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        at_end.add(record_partition(msg))
                    else:
                        log.warning("dead-letter topic %s: %s", self.topic, err.str())
                    continue
                kind, millis = msg.timestamp()
                batch.append(
                    (
                        record_topic(msg),
                        record_partition(msg),
                        record_offset(msg),
                        msg.key(),
                        msg.value(),
                        tuple(record_headers(msg)),
                        millis,
                        kind,
                    )
                )
            if self._on_records is not None:
                self._on_records(batch)
            elif batch and self._on_entries is not None:
                self._on_entries(parse_records(batch))

    def _partitions(self, consumer: Consumer, first: bool = False) -> list[int]:
        """Partitions of the topic ([] while it does not exist).

        Asked in short rounds so that `stop()` is seen within a second even when the
        broker does not answer; the first call raises `BrokerUnavailable` after the
        connection timeout, later ones (while following) just return [] on a failure.
        """
        deadline = time.monotonic() + self.kafka.connect_timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                meta = consumer.list_topics(self.topic, timeout=max(0.1, min(1.0, remaining)))
                break
            except KafkaException as exc:
                if self._stop.is_set():
                    return []
                if time.monotonic() < deadline:
                    continue
                if first:
                    raise BrokerUnavailable(
                        f"no answer from Kafka at {self.kafka.bootstrap_servers} "
                        f"within {self.kafka.connect_timeout:g} s ({error_text(exc)})"
                    ) from None
                return []
        topic = meta.topics.get(self.topic)
        if topic is None or topic.error is not None:
            # A dead-letter topic that does not exist yet simply has no entries.
            return []
        return sorted(topic.partitions)

    def _assign_new(
        self,
        consumer: Consumer,
        partitions: list[int],
        assigned: set[int],
        targets: dict[int, int],
    ) -> None:
        new = [p for p in partitions if p not in assigned]
        if not new:
            return
        for p in new:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(self.topic, p), timeout=self.kafka.connect_timeout
            )
            if high > low:
                targets[p] = high
        assigned.update(new)
        # Incremental, so partitions already being read keep their position.
        consumer.incremental_assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in new])

    def _reached(self, consumer: Consumer, targets: dict[int, int], at_end: set[int]) -> bool:
        waiting = [p for p in targets if p not in at_end]
        if not waiting:
            return True
        positions = consumer.position([TopicPartition(self.topic, p) for p in waiting])
        return all(tp.offset >= targets[tp.partition] for tp in positions)


def read_entries(
    kafka: KafkaSettings, topic: str, timeout: float | None = None
) -> list[DeadLetterEntry]:
    """Every dead letter in `topic`, oldest first, latest copy of each id."""
    entries = DeadLetterReader(kafka, topic).scan(timeout)
    return list({e.id: e for e in entries}.values())


def _sort_key(entry: DeadLetterEntry) -> tuple[float, int, int]:
    ts = entry.timestamp.timestamp() if entry.timestamp else 0.0
    return (ts, entry.dlq_partition, entry.dlq_offset)
