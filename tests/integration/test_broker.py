"""The test harness's Kafka broker really stores, serves and commits (tests/broker.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

pytestmark = pytest.mark.kafka

MESSAGES = 300
PARTITIONS = 3
TIMEOUT = 60.0
REPO = Path(__file__).resolve().parents[2]


def _produce(bootstrap: str, topic: str, count: int) -> list[Message]:
    """Produce ``count`` keyed JSON messages idempotently; return the delivery reports."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    delivered: list[Message] = []
    failed: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        if err is None:
            delivered.append(msg)
        else:
            failed.append(err)

    for seq in range(count):
        producer.produce(
            topic,
            key=f"order-{seq % 17}".encode(),
            value=json.dumps({"seq": seq}).encode(),
            on_delivery=on_delivery,
        )
        producer.poll(0)
    assert producer.flush(TIMEOUT) == 0, "messages still queued after flush"
    assert failed == []
    return delivered


def _consume(consumer: Consumer, count: int) -> list[Message]:
    """Poll until ``count`` messages arrived (bounded by TIMEOUT)."""
    received: list[Message] = []
    deadline = time.monotonic() + TIMEOUT
    while len(received) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        assert msg.error() is None, msg.error()
        received.append(msg)
    return received


def _fresh_consumer(bootstrap: str, topic: str) -> Consumer:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-broker-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    return consumer


def test_round_trip_over_three_partitions_and_commit(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory(partitions=PARTITIONS)

    delivered = _produce(kafka_bootstrap, topic, MESSAGES)
    assert len(delivered) == MESSAGES
    assert {msg.partition() for msg in delivered} == set(range(PARTITIONS))

    consumer = _fresh_consumer(kafka_bootstrap, topic)
    try:
        received = _consume(consumer, MESSAGES)
        assert len(received) == MESSAGES

        def content(msgs: list[Message]) -> list[tuple[int, int, bytes, bytes]]:
            return sorted((m.partition(), m.offset(), m.key(), m.value()) for m in msgs)

        assert content(received) == content(delivered)
        # Per key, the order of production is kept.
        by_key: dict[bytes, list[int]] = {}
        for msg in received:
            by_key.setdefault(msg.key(), []).append(json.loads(msg.value())["seq"])
        assert all(seqs == sorted(seqs) for seqs in by_key.values())

        consumer.commit(asynchronous=False)
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        committed = consumer.committed(partitions, timeout=TIMEOUT)
        for tp in committed:
            assert tp.error is None
            _, high = consumer.get_watermark_offsets(tp, timeout=TIMEOUT)
            assert tp.offset == high > 0
        assert sum(tp.offset for tp in committed) == MESSAGES
    finally:
        consumer.close()


def test_topics_are_created_automatically(kafka_bootstrap: str) -> None:
    topic = f"auto-created-{uuid.uuid4().hex[:8]}"
    delivered = _produce(kafka_bootstrap, topic, 5)
    assert len(delivered) == 5
    consumer = _fresh_consumer(kafka_bootstrap, topic)
    try:
        assert [m.value() for m in _consume(consumer, 5)] == [m.value() for m in delivered]
    finally:
        consumer.close()


@pytest.mark.slow
@pytest.mark.skipif(
    bool(os.environ.get("ORDERDESK_TEST_BOOTSTRAP")), reason="uses an external broker"
)
def test_script_prints_bootstrap_and_stops_on_sigterm(kafka_bootstrap: str) -> None:
    # kafka_bootstrap first: the jars are resolved and cached before the script runs.
    script = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "broker.py")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert script.stdout is not None
        line = script.stdout.readline()  # the broker's own start timeout bounds this
        assert line.startswith("bootstrap=127.0.0.1:"), line + script.stderr.read()
        bootstrap = line.strip().split("=", 1)[1]
        assert len(_produce(bootstrap, f"script-{uuid.uuid4().hex[:8]}", 1)) == 1
        script.send_signal(signal.SIGTERM)
        assert script.wait(TIMEOUT) == 0
        stderr = script.stderr.read() if script.stderr else ""
        data_dir = stderr.split("log: ", 1)[1].split()[0].rsplit("/", 1)[0]
        assert not Path(data_dir).exists(), "the data directory was not removed"
    finally:
        if script.poll() is None:
            script.kill()
            script.wait()
