"""Helpers for the producer's integration tests: settings, and reading a topic to its end."""

from __future__ import annotations

import time
import uuid
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from orderdesk.config import Settings, load_settings
from tests.support.waiting import unique_name
from tests.support.waiting import wait_until as wait_until

TIMEOUT = 60.0


def producer_settings(bootstrap: str, topic: str, **producer: Any) -> Settings:
    overrides: dict[str, Any] = {
        "kafka.bootstrap_servers": bootstrap,
        "topics.orders": topic,
        "producer.rate": 0,
    }
    overrides.update({f"producer.{k}": v for k, v in producer.items()})
    return load_settings(overrides=overrides, environ={})


unique_topic = unique_name


def _consumer(bootstrap: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"producer-test-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )


def topic_size(bootstrap: str, topic: str) -> int:
    """Messages the topic holds now (0 while it does not exist yet or is still settling)."""
    consumer = _consumer(bootstrap)
    try:
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None:
            return 0
        total = 0
        for p in meta.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            total += high - low
        return total
    except KafkaException:
        return 0  # partitions without a leader yet, just after creation
    finally:
        consumer.close()


def partition_count(bootstrap: str, topic: str) -> int:
    consumer = _consumer(bootstrap)
    try:
        return len(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    finally:
        consumer.close()


def read_topic(bootstrap: str, topic: str, timeout: float = TIMEOUT) -> list[Message]:
    """Every message on `topic`, up to the end offsets it had when called."""
    consumer = _consumer(bootstrap)
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        expected = 0
        for p in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            expected += high - low
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        messages: list[Message] = []
        deadline = time.monotonic() + timeout
        while len(messages) < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"read {len(messages)} of {expected} messages of {topic}")
            for msg in consumer.consume(1000, timeout=0.5):
                if msg.error() is None:
                    messages.append(msg)
        return messages
    finally:
        consumer.close()
