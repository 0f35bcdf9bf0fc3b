"""The tracker's lag: orders on its partitions not yet handled to the end."""

from __future__ import annotations

from confluent_kafka import Consumer, KafkaException, TopicPartition

from orderdesk.tracker.partitions import PartitionBook


def lag(consumer: Consumer | None, topic: str, parts: PartitionBook) -> int | None:
    """Orders on the assigned partitions not yet handled to the end, None when unknown."""
    by_partition = lag_by_partition(consumer, topic, parts)
    return None if by_partition is None else sum(by_partition.values())


def lag_by_partition(
    consumer: Consumer | None, topic: str, parts: PartitionBook
) -> dict[int, int] | None:
    """The lag of each assigned partition, None when unknown.

    Counted from the first offset not handled (held-back and in-retry messages count),
    against the high watermark the client cached from its last fetch: no broker call.
    """
    if consumer is None:
        return None
    if not len(parts):
        return {}
    try:
        bases = parts.first_unhandled()
        unknown = [n for n, base in bases.items() if base is None]
        positions = {}
        if unknown:
            tps = [TopicPartition(topic, n) for n in unknown]
            positions = {tp.partition: tp.offset for tp in consumer.position(tps)}
        out = {}
        for number, base in bases.items():
            marks = consumer.get_watermark_offsets(TopicPartition(topic, number), cached=True)
            if marks is None or marks[1] < 0:
                continue
            if base is None:
                base = positions.get(number, -1)
            if base >= 0:
                out[number] = max(0, marks[1] - base)
        return out
    except (KafkaException, RuntimeError):
        return None
