"""A consumed record's parts, typed as they are.

confluent-kafka types every accessor of a `Message` as optional, since one type serves
error events too. A record that a consumer handed out without an error always has its
topic, partition and offset, and its headers are `(name, bytes | None)` pairs; these
helpers say so once, instead of an assert at every use.
"""

from __future__ import annotations

from confluent_kafka import Message

Header = tuple[str, bytes | None]


def record_topic(msg: Message) -> str:
    topic = msg.topic()
    assert topic is not None, "a consumed record has a topic"
    return topic


def record_partition(msg: Message) -> int:
    partition = msg.partition()
    assert partition is not None, "a consumed record has a partition"
    return partition


def record_offset(msg: Message) -> int:
    offset = msg.offset()
    assert offset is not None, "a consumed record has an offset"
    return offset


def record_headers(msg: Message) -> list[Header]:
    """The record's headers as pairs (a consumer never hands out a dict)."""
    headers = msg.headers()
    if not headers:
        return []
    items = headers.items() if isinstance(headers, dict) else headers
    return [(k, v.encode() if isinstance(v, str) else v) for k, v in items]


#: Headers as `Producer.produce` takes them.
ProduceHeaders = list[tuple[str, str | bytes | None]]
