"""Real Spring Kafka and Kafka Connect dead letters on the desk, and back to their partitions.

The dead letters come from the real libraries (tests/java-dlq, built from Maven Central by
tests/java_dlq.py), not from imitations of their headers: Spring Kafka's
`DefaultErrorHandler` + `DeadLetterPublishingRecoverer` behind a failing listener and a
key that fails deserialization, and Kafka Connect's standalone worker with
`errors.tolerance=all` and the dead-letter queue's context headers.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from orderdesk.cli.dlq import main as dlq_main
from orderdesk.config import load_settings
from orderdesk.deadletters.reader import read_entries
from orderdesk.kafka.clients import make_producer
from tests import java_dlq

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

TIMEOUT = 90.0
KEYED = 8


def murmur2(key: bytes) -> int:
    """Kafka's Utils.murmur2, as a signed 32-bit int like Java's."""
    m, length = 0x5BD1E995, len(key)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(key[i : i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail = key[length - length % 4 :]
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h = ((h ^ tail[0]) * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def java_partition(key: bytes, partitions: int) -> int:
    """Java's default partitioner for a keyed record: toPositive(murmur2(key)) % n."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


@pytest.mark.parametrize(
    ("key", "expected"),
    [  # Kafka's UtilsTest.testMurmur2
        (b"21", -973932308),
        (b"foobar", -790332482),
        (b"a-little-bit-long-string", -985981536),
        (b"a-little-bit-longer-string", -1486304829),
        (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        (b"abc", 479470107),
    ],
)
def test_the_partition_formula_is_javas(key: bytes, expected: int) -> None:
    assert murmur2(key) == expected


@pytest.fixture(scope="module")
def fixture() -> java_dlq.Fixture:
    try:
        return java_dlq.resolve()
    except java_dlq.FixtureUnavailable as exc:
        pytest.skip(str(exc))


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = dlq_main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _common(bootstrap: str, dlq: str, tmp_path: Path) -> list[str]:
    return [
        "--bootstrap-servers",
        bootstrap,
        "--dlq-topic",
        dlq,
        "--log-dir",
        str(tmp_path / "logs"),
        "--read-timeout",
        "30",
    ]


def _millis(text: str | None) -> int | None:
    return None if text is None else round(datetime.fromisoformat(text).timestamp() * 1000)


def _read_all(bootstrap: str, topic: str, partitions: int) -> list[Any]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"t-{uuid.uuid4().hex}", "log_level": 3}
    )
    try:
        ends = {}
        for p in range(partitions):
            ends[p] = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        out: list[Any] = []
        deadline = time.monotonic() + TIMEOUT
        while sum(ends.values()) > len(out) and time.monotonic() < deadline:
            for msg in consumer.consume(100, timeout=0.5):
                if msg.error() is None:
                    out.append(msg)
        return out
    finally:
        consumer.close()


def test_spring_dead_letters_show_in_full_and_replays_keep_their_partitions(
    fixture: java_dlq.Fixture,
    kafka_bootstrap: str,
    topic_factory: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    orders = topic_factory(3, prefix="spring-orders")
    dlq = topic_factory(3, prefix="spring-dlq")
    lines = java_dlq.run_spring(
        fixture, kafka_bootstrap, orders, dlq, KEYED, f"spring-{uuid.uuid4().hex[:8]}"
    )
    sent = {line["key"]: line for line in lines if line["kind"] == "sent"}
    letters = [line for line in lines if line["kind"] == "dead-letter"]
    assert len(sent) == KEYED + 1 and len(letters) == KEYED + 1
    # Java's producer placed every keyed record by murmur2, and so does OrderDesk's.
    for key, line in sent.items():
        assert line["partition"] == java_partition(key.encode(), 3)

    common = _common(kafka_bootstrap, dlq, tmp_path)
    shown = {}
    for letter in letters:
        ident = f"{dlq}-{letter['partition']}-{letter['offset']}"
        code, out, err = _cli(capsys, "show", ident, "--json", *common)
        assert code == 0, err
        record = json.loads(out)
        key = record["original_key"]
        origin = sent[key]
        assert record["source"] == "spring"
        assert record["original_topic"] == orders
        assert (record["original_partition"], record["original_offset"]) == (
            origin["partition"],
            origin["offset"],
        )
        assert _millis(record["original_timestamp"]) == origin["timestamp"]
        assert _millis(record["timestamp"]) == letter["timestamp"]  # when it was dead-lettered
        assert json.loads(record["original_payload"])["order_id"] == key
        assert record["consumer_group"].startswith("spring-")
        assert "org.springframework" in record["error_stack"]
        shown[key] = record
    bad = shown.pop(java_dlq.SPRING_BAD_KEY)
    assert bad["failure_reason"] == "DESERIALIZATION_ERROR"
    assert bad["error_class"].endswith("DeserializationException")
    assert bad["error_message"] == (
        "key: failed to deserialize "
        f"(IllegalArgumentException: Invalid UUID string: {java_dlq.SPRING_BAD_KEY})"
    )
    assert bad["metadata"] == {"failed_part": "key"}
    for record in shown.values():
        assert "rejected by the Java listener" in record["error_message"]
        assert record["error_class"] == "java.lang.IllegalStateException"
        assert record["failure_reason"] == "PROCESSING_ERROR"

    # Republished to the original topic, each lands on its original partition.
    ids = [r["id"] for r in shown.values()]
    code, _out, err = _cli(capsys, "republish", *ids, "--yes", *common)
    assert code == 0, err
    assert err.count("kept its original partition") == KEYED
    replays = [m for m in _read_all(kafka_bootstrap, orders, 3) if m.offset() >= 0 and m.headers()]
    replayed = {
        m.key().decode(): m
        for m in replays
        if any(k == "orderdesk.replay.dlq.id" for k, _ in m.headers() or [])
    }
    assert set(replayed) == set(shown)
    for key, msg in replayed.items():
        assert msg.partition() == sent[key]["partition"]
        assert msg.value() == shown[key]["original_payload"].encode()

    # And OrderDesk's own producer puts each of these keys where Java's did.
    settings = load_settings(overrides={"kafka.bootstrap_servers": kafka_bootstrap}, environ={})
    producer = make_producer(settings.kafka)
    placed: dict[str, int] = {}
    for key in shown:
        producer.produce(
            orders,
            key=key.encode(),
            value=b"{}",
            on_delivery=lambda err, msg: placed.setdefault(msg.key().decode(), msg.partition()),
        )
    assert producer.flush(TIMEOUT) == 0
    assert placed == {key: sent[key]["partition"] for key in shown}


def test_connect_dead_letter_shows_its_error_and_the_original_time(
    fixture: java_dlq.Fixture,
    kafka_bootstrap: str,
    topic_factory: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = topic_factory(1, prefix="connect-orders")
    dlq = topic_factory(1, prefix="connect-dlq")
    # Two days old (within the broker's retention): Connect copies this onto the letter.
    written = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    written_ms = int(written.timestamp() * 1000)
    bad = b'{"order_id": "7", "items": [}'
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    producer.produce(source, key=b"order-7", value=bad, timestamp=written_ms)
    producer.produce(source, key=b"order-8", value=b'{"order_id": "8"}', timestamp=written_ms)
    assert producer.flush(TIMEOUT) == 0
    settings = load_settings(
        overrides={"kafka.bootstrap_servers": kafka_bootstrap, "topics.dlq": dlq}, environ={}
    )

    with java_dlq.ConnectWorker(fixture, kafka_bootstrap, source, dlq) as worker:
        deadline = time.monotonic() + TIMEOUT
        entries = []
        while not entries or not worker.sunk():
            assert worker.running, worker.log_tail()
            assert time.monotonic() < deadline, worker.log_tail()
            entries = read_entries(settings.kafka, dlq, 10.0)
            time.sleep(0.5)  # a separate JVM: nothing to wait on but its output
        assert worker.sunk() == ["{order_id=8}"]

    (entry,) = entries
    common = _common(kafka_bootstrap, dlq, tmp_path)
    code, out, err = _cli(capsys, "show", entry.id, "--json", *common)
    assert code == 0, err
    record = json.loads(out)
    assert record["source"] == "connect"
    assert (record["original_topic"], record["original_partition"]) == (source, 0)
    assert record["original_offset"] == 0
    assert record["timestamp"] is None  # Connect does not record when it dead-lettered
    assert _millis(record["original_timestamp"]) == written_ms
    assert record["failure_reason"] == "DESERIALIZATION_ERROR"
    assert record["error_class"] == "org.apache.kafka.connect.errors.DataException"
    assert "(JsonParseException: Unexpected close marker" in record["error_message"]
    assert record["metadata"] == {"connector": "orders-sink", "stage": "VALUE_CONVERTER"}
    assert record["original_payload"] == bad.decode()
    assert record["original_key"] == "order-7"
    code, out, _err = _cli(capsys, "show", entry.id, *common)
    assert "time:             not recorded" in out
    assert f"original time:    {written.isoformat()}" in out
