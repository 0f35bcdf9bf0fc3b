"""The dead-letter desk against a real broker: read, list, republish, guard, replay."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient

from orderdesk.cli.dlq import main as dlq_main
from orderdesk.config import Settings, load_settings
from orderdesk.deadletters.entries import DeadLetterEntry
from orderdesk.deadletters.ledger import ReplayLedger
from orderdesk.deadletters.reader import DeadLetterReader, read_entries
from orderdesk.deadletters.republish import Outcome, ReplayRequest, ReplayResult, Republisher
from orderdesk.domain import FailureReason
from orderdesk.domain import headers as hdr
from tests.support.waiting import wait_until
from tests.unit.dlq_records import (
    broken_order,
    connect_headers,
    order_payload,
    orderdesk_record,
    spring_headers,
)

pytestmark = pytest.mark.kafka

TIMEOUT = 60.0
Header = tuple[str, bytes | None]


def _settings(bootstrap: str, tmp_path: Path, orders: str, dlq: str, **extra: str) -> Settings:
    overrides = {
        "kafka.bootstrap_servers": bootstrap,
        "topics.orders": orders,
        "topics.dlq": dlq,
        "log_dir": str(tmp_path / "logs"),
        **extra,
    }
    return load_settings(overrides=overrides, environ={})


def _produce(bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes, list[Header]]]):
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    failed: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            failed.append(err)

    for key, value, headers in records:
        producer.produce(topic, value=value, key=key, headers=headers, on_delivery=on_delivery)
        producer.poll(0)
    assert producer.flush(TIMEOUT) == 0
    assert not failed


def _consume_all(bootstrap: str, topic: str, count: int) -> list[Message]:
    """Read `count` messages of `topic` from the beginning (bounded wait)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"check-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe([topic])
        got: list[Message] = []
        deadline = time.monotonic() + TIMEOUT
        while len(got) < count and time.monotonic() < deadline:
            for msg in consumer.consume(500, timeout=0.5):
                if msg.error() is None:
                    got.append(msg)
        return got
    finally:
        consumer.close()


def test_foreign_dead_letters_are_listed_with_their_coordinates(
    kafka_bootstrap: str,
    topic_factory: Callable[..., str],
    kafka_admin: AdminClient,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dlq = topic_factory(2, prefix="dlq-foreign")
    ours = orderdesk_record(broken_order(), original_partition=1, original_offset=17)
    spring = spring_headers(
        "payments", 3, 123_456_789_012, "org.example.ValidationException", "amount < 0"
    )
    connect = connect_headers(
        "inventory",
        4,
        77,
        "org.apache.kafka.connect.errors.DataException",
        "bad bytes",
        stage="VALUE_CONVERTER",
    )
    _produce(
        kafka_bootstrap,
        dlq,
        [
            (ours[0], ours[1], ours[2]),
            (b"pay-1", b'{"amount": -3}', spring),
            (b"inv-1", b"\x00\x01binary", connect),
        ],
    )
    groups_before = {g.group_id for g in kafka_admin.list_consumer_groups().result(30).valid}
    code = dlq_main(
        [
            "list",
            "--json",
            "--bootstrap-servers",
            kafka_bootstrap,
            "--dlq-topic",
            dlq,
            "--log-dir",
            str(tmp_path),
        ]
    )
    assert code == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 3
    assert all(next(iter(record)) == "id" for record in listed)
    by_source = {r["source"]: r for r in listed}
    assert by_source["orderdesk"]["id"] == ours[3].id
    assert (
        by_source["orderdesk"]["original_partition"],
        by_source["orderdesk"]["original_offset"],
    ) == (1, 17)
    spring_record = by_source["spring"]
    assert (
        spring_record["original_topic"],
        spring_record["original_partition"],
        spring_record["original_offset"],
    ) == ("payments", 3, 123_456_789_012)
    assert spring_record["failure_reason"] == "VALIDATION_ERROR"
    assert spring_record["original_payload"] == '{"amount": -3}'
    assert (
        spring_record["id"]
        == f"{dlq}-{spring_record['dlq_partition']}-{spring_record['dlq_offset']}"
    )
    connect_record = by_source["connect"]
    assert (
        connect_record["original_topic"],
        connect_record["original_partition"],
        connect_record["original_offset"],
    ) == ("inventory", 4, 77)
    assert connect_record["error_message"] == "bad bytes"
    assert connect_record["failure_reason"] == "DESERIALIZATION_ERROR"
    # Filters.
    assert (
        dlq_main(
            [
                "list",
                "--json",
                "--reason",
                "validation",
                "--bootstrap-servers",
                kafka_bootstrap,
                "--dlq-topic",
                dlq,
                "--log-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert {r["source"] for r in json.loads(capsys.readouterr().out)} == {"orderdesk", "spring"}
    assert (
        dlq_main(
            [
                "list",
                "--json",
                "--text",
                "BAD BYTES",
                "--bootstrap-servers",
                kafka_bootstrap,
                "--dlq-topic",
                dlq,
                "--log-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert [r["source"] for r in json.loads(capsys.readouterr().out)] == ["connect"]
    # Reading joined no group and committed nothing.
    groups_after = {g.group_id for g in kafka_admin.list_consumer_groups().result(30).valid}
    assert not {g for g in groups_after - groups_before if g.startswith("orderdesk-dlq")}


def test_bulk_republish_is_acknowledged_in_full(
    kafka_bootstrap: str, topic_factory: Callable[..., str], tmp_path: Path
) -> None:
    orders = topic_factory(3, prefix="orders-bulk")
    dlq = topic_factory(3, prefix="dlq-bulk")
    count = 300
    records = [orderdesk_record(broken_order(), original_topic=orders) for _ in range(count)]
    _produce(kafka_bootstrap, dlq, [(k, v, h) for k, v, h, _ in records])
    settings = _settings(kafka_bootstrap, tmp_path, orders, dlq)
    entries = read_entries(settings.kafka, dlq)
    assert len(entries) == count
    progress: list[tuple[int, int]] = []

    def on_progress(done: int, total: int, _result: ReplayResult) -> None:
        progress.append((done, total))

    republisher = Republisher(settings, ReplayLedger.for_log_dir(settings.log_dir))
    try:
        summary = republisher.republish(
            [ReplayRequest(e) for e in entries], on_progress=on_progress
        )
    finally:
        republisher.close()
    assert summary.ok, summary.text()
    assert summary.acknowledged == count
    assert progress[-1] == (count, count)
    assert len(progress) == count
    ledger = ReplayLedger.for_log_dir(settings.log_dir)
    assert len(ledger.replayed_ids(dlq)) == count
    replayed = _consume_all(kafka_bootstrap, orders, count)
    assert len(replayed) == count
    expected_keys = {r[3].original_key for r in records}
    assert {m.key().decode() for m in replayed} == expected_keys
    for msg in replayed:
        headers = dict(msg.headers() or [])
        assert headers[hdr.REPLAY_COUNT] == b"1"
        assert headers[hdr.REPLAY_DLQ_ID].decode() in {r[3].id for r in records}
        assert hdr.REPLAY_AT in headers


def test_second_republish_needs_again(
    kafka_bootstrap: str,
    topic_factory: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    orders = topic_factory(1, prefix="orders-again")
    dlq = topic_factory(1, prefix="dlq-again")
    key, value, headers, message = orderdesk_record(broken_order(), original_topic=orders)
    _produce(kafka_bootstrap, dlq, [(key, value, headers)])
    common = [
        "--bootstrap-servers",
        kafka_bootstrap,
        "--topic",
        orders,
        "--dlq-topic",
        dlq,
        "--log-dir",
        str(tmp_path / "logs"),
    ]
    assert dlq_main(["republish", message.id, "--yes", *common]) == 0
    # A new process (a new ledger object) still knows: the guard survives a restart.
    assert dlq_main(["republish", message.id[:8], "--yes", *common]) == 1
    assert dlq_main(["republish", message.id, "--yes", "--to-topic", dlq, "--again", *common]) == 1
    assert dlq_main(["republish", message.id, "--yes", "--again", *common]) == 0
    settings = _settings(kafka_bootstrap, tmp_path, orders, dlq)
    republisher = Republisher(settings, ReplayLedger.for_log_dir(settings.log_dir))
    entry = read_entries(settings.kafka, dlq)[0]
    summary = republisher.republish([ReplayRequest(entry)])
    assert summary.refused == 1 and not summary.ok
    assert "again" in summary.results[0].message
    replayed = _consume_all(kafka_bootstrap, orders, 2)
    assert sorted(dict(m.headers())[hdr.REPLAY_COUNT] for m in replayed) == [b"1", b"2"]
    history = ReplayLedger.for_log_dir(settings.log_dir).history(dlq, message.id)
    assert [r.replay_count for r in history] == [1, 2]


def test_reader_follows_new_dead_letters_live(
    kafka_bootstrap: str, topic_factory: Callable[..., str], tmp_path: Path
) -> None:
    dlq = topic_factory(2, prefix="dlq-live")
    first = [orderdesk_record(broken_order()) for _ in range(5)]
    _produce(kafka_bootstrap, dlq, [(k, v, h) for k, v, h, _ in first])
    settings = _settings(kafka_bootstrap, tmp_path, "orders", dlq)
    seen: list[DeadLetterEntry] = []
    caught_up = threading.Event()
    lock = threading.Lock()

    def on_entries(batch: list[DeadLetterEntry]) -> None:
        with lock:
            seen.extend(batch)

    reader = DeadLetterReader(settings.kafka, dlq, on_entries, caught_up.set)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            reader.run(follow=True)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert caught_up.wait(TIMEOUT)
        with lock:
            assert len(seen) == 5
        later = [orderdesk_record(broken_order()) for _ in range(3)]
        _produce(kafka_bootstrap, dlq, [(k, v, h) for k, v, h, _ in later])
        wait_until(lambda: len(seen) == 8, TIMEOUT, "live dead letters")
    finally:
        reader.stop()
        thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert not errors
    assert {e.id for e in seen} == {r[3].id for r in first + later}


def test_fixed_orders_are_validated_by_the_tracker(
    kafka_bootstrap: str, topic_factory: Callable[..., str], tmp_path: Path
) -> None:
    from orderdesk.tracker.service import TrackerService

    orders = topic_factory(2, prefix="orders-e2e")
    dlq = topic_factory(1, prefix="dlq-e2e")
    settings = _settings(
        kafka_bootstrap,
        tmp_path,
        orders,
        dlq,
        **{"tracker.group": f"tracker-{uuid.uuid4().hex[:8]}"},
    )
    bad = [broken_order() for _ in range(4)]
    good = order_payload()
    _produce(
        kafka_bootstrap,
        orders,
        [(o["order_id"].encode(), json.dumps(o).encode(), []) for o in [*bad, good]],
    )

    def run_tracker() -> None:
        tracker = TrackerService(settings)
        tracker.drain()
        thread = threading.Thread(target=tracker.run)
        thread.start()
        thread.join(TIMEOUT * 2)
        if thread.is_alive():
            tracker.stop()
            thread.join(TIMEOUT)
            raise AssertionError("the tracker did not drain the topic")

    run_tracker()
    entries = read_entries(settings.kafka, dlq)
    assert {e.original_key for e in entries} == {o["order_id"] for o in bad}
    assert {e.failure_reason for e in entries} == {FailureReason.VALIDATION_ERROR}

    requests = []
    for entry in entries:
        order = json.loads(entry.original_payload)
        order["total"] = round(order["sub_total"] + order["tax"] + order["shipping_fee"], 2)
        requests.append(ReplayRequest(entry, payload=json.dumps(order).encode()))
    republisher = Republisher(settings, ReplayLedger.for_log_dir(settings.log_dir))
    try:
        summary = republisher.republish(requests)
    finally:
        republisher.close()
    assert summary.ok, summary.text()

    run_tracker()
    events = [
        json.loads(line)
        for line in (settings.log_dir / "tracker.events").read_text().splitlines()
        if line.strip()
    ]
    validated = {
        e["order_full"]["order_id"] for e in events if e["event_type"] == "order.validated"
    }
    assert {o["order_id"] for o in bad} | {good["order_id"]} <= validated
    # Nothing new was dead-lettered by the replays.
    assert len(read_entries(settings.kafka, dlq)) == len(bad)
    assert all(r.outcome is Outcome.ACKNOWLEDGED for r in summary.results)
