"""Drain: tell when every message on the orders topic is handled and committed."""

from __future__ import annotations

from confluent_kafka import Consumer, KafkaException, TopicPartition

from orderdesk.tracker.partitions import PartitionBook

#: Seconds between two questions to the broker about the group's committed offsets.
CHECK_INTERVAL = 1.0


class Drain:
    """Targets are the topic's end offsets when the drain was first checked."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.requested = False
        self._targets: dict[int, int] | None = None
        self._checked = 0.0
        self._known_done: set[int] = set()

    def done(self, consumer: Consumer | None, parts: PartitionBook, now: float) -> bool:
        if consumer is None:
            return False
        if self._targets is None:
            self._targets = self._end_offsets(consumer)
            if self._targets is None:
                return False
        unknown = []
        for number, target in self._targets.items():
            part = parts.get(number)
            if target <= 0 or number in self._known_done:
                continue
            if part is not None and part.committed >= target:
                continue
            unknown.append(number)
        if not unknown:
            return True
        # Partitions with nothing new for this consumer (or owned by another member) are
        # done when the group's committed offset reached the target: ask, now and then.
        if now - self._checked >= CHECK_INTERVAL:
            self._checked = now
            self._check_committed(consumer, unknown)
        return all(n in self._known_done for n in unknown)

    def _end_offsets(self, consumer: Consumer) -> dict[int, int] | None:
        try:
            meta = consumer.list_topics(self.topic, timeout=5)
            partitions = meta.topics[self.topic].partitions
            targets = {}
            for number in partitions:
                marks = consumer.get_watermark_offsets(
                    TopicPartition(self.topic, number), timeout=5
                )
                if marks is None:
                    return None
                targets[number] = marks[1]
            return targets
        except KafkaException:
            return None

    def _check_committed(self, consumer: Consumer, numbers: list[int]) -> None:
        assert self._targets is not None
        try:
            committed = consumer.committed(
                [TopicPartition(self.topic, n) for n in numbers], timeout=5
            )
        except KafkaException:
            return
        for tp in committed:
            if tp.offset >= self._targets[tp.partition]:
                self._known_done.add(tp.partition)
