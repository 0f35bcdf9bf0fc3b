"""The tracker against a real broker: audit, dead letters, retries, commits."""

from __future__ import annotations

import base64
import json
import os
from collections import Counter, defaultdict

import pytest
from tracker_support import (
    Background,
    committed_and_ends,
    dead_letters,
    produce,
    read_audit,
    run_drained,
    tracker_settings,
    valid_payload,
    wait_until,
)

from orderdesk.domain import AuditEvent, FailureReason, LogLevel, Order, ProcessingFailure
from orderdesk.domain import headers as h
from orderdesk.tracker.service import TrackerService

pytestmark = pytest.mark.kafka

SPEC_DLQ_FIELDS = {
    "id",
    "timestamp",
    "original_topic",
    "original_partition",
    "original_offset",
    "original_key",
    "original_payload",
    "original_timestamp",
    "failure_reason",
    "error_message",
    "error_stack",
    "consumer_group",
    "processing_host",
    "retry_count",
    "first_failure",
    "last_failure",
    "next_retry_at",
    "is_reprocessed",
    "metadata",
}


def _assert_all_committed(bootstrap: str, settings) -> None:
    committed, ends = committed_and_ends(bootstrap, settings.tracker.group, settings.topics.orders)
    assert committed == ends


def test_valid_orders_are_audited_as_validated(kafka_bootstrap, topic_factory, tmp_path):
    topic, dlq = topic_factory(3), topic_factory(1)
    produce(kafka_bootstrap, topic, [(f"k{i}".encode(), valid_payload(i + 1)) for i in range(60)])
    settings = tracker_settings(kafka_bootstrap, topic, dlq, tmp_path)

    result = run_drained(TrackerService(settings))

    audit = read_audit(tmp_path)
    assert Counter(e.event_type for e in audit) == {AuditEvent.ORDER_VALIDATED: 60}
    assert {e.order_full.sequence for e in audit} == set(range(1, 61))
    assert all(e.deserialized and e.error is None and e.kafka_topic == topic for e in audit)
    # The payload is written once, as order_full: raw_message is for payloads that did not parse.
    assert all(e.raw_message is None for e in audit)
    assert result.stats.valid == 60
    assert result.stats.dead_lettered_total == 0
    _assert_all_committed(kafka_bootstrap, settings)
    assert (tmp_path / "tracker.log").read_text().count('"tracker started"') == 1


def test_every_kind_of_bad_payload_is_dead_lettered(kafka_bootstrap, topic_factory, tmp_path):
    topic, dlq = topic_factory(2), topic_factory(2)
    noise = base64.b64encode(os.urandom(300_000))  # a huge payload that is not JSON
    huge_order = json.loads(valid_payload(7))
    huge_order["items"] = huge_order["items"] * 3000  # hundreds of KB, sub_total now wrong
    bad = {
        b"tombstone": (None, FailureReason.DESERIALIZATION_ERROR),
        b"empty": (b"", FailureReason.DESERIALIZATION_ERROR),
        b"garbage": (b"{not json", FailureReason.DESERIALIZATION_ERROR),
        b"latin1": ('{"order_id": "é"}'.encode("latin-1"), FailureReason.DESERIALIZATION_ERROR),
        b"array": (b"[1, 2, 3]", FailureReason.DESERIALIZATION_ERROR),
        b"shape": (b'{"order_id": "x", "sequence": "1"}', FailureReason.DESERIALIZATION_ERROR),
        b"absent": (b'{"order_id": "x"}', FailureReason.VALIDATION_ERROR),  # Go's zero values
        b"noise": (noise, FailureReason.DESERIALIZATION_ERROR),
        b"rule": (valid_payload(3, total=1.0), FailureReason.VALIDATION_ERROR),
        b"huge-rule": (json.dumps(huge_order).encode(), FailureReason.VALIDATION_ERROR),
        b"no-items": (valid_payload(4, items=[]), FailureReason.VALIDATION_ERROR),
    }
    payloads = []
    for i, (key, (value, _)) in enumerate(bad.items()):
        payloads.append((key, value))
        payloads.append((f"ok{i}".encode(), valid_payload(100 + i)))
    sent = produce(kafka_bootstrap, topic, payloads, headers=[(h.CORRELATION_ID, b"corr-1")])
    origin = {m.key(): m for m in sent}
    settings = tracker_settings(kafka_bootstrap, topic, dlq, tmp_path)

    result = run_drained(TrackerService(settings))

    letters = dead_letters(kafka_bootstrap, dlq)
    assert sorted(m.key() for m, _ in letters) == sorted(bad)
    for msg, letter in letters:
        value, reason = bad[msg.key()]
        raw = json.loads(msg.value())
        assert set(raw) == SPEC_DLQ_FIELDS
        assert letter.failure_reason is reason, msg.key()
        assert letter.original_topic == topic
        assert letter.original_key == msg.key().decode()
        src = origin[msg.key()]
        assert (letter.original_partition, letter.original_offset) == (
            src.partition(),
            src.offset(),
        )
        assert letter.original_payload == (value or b"").decode("utf-8", "backslashreplace")
        assert letter.error_message
        assert letter.retry_count == 0
        assert letter.consumer_group == settings.tracker.group
        assert letter.processing_host
        assert letter.metadata[h.CORRELATION_ID] == "corr-1"
        headers = dict(msg.headers())
        assert headers[h.DLQ_ORIGINAL_TOPIC] == topic.encode()
        assert headers[h.DLQ_ORIGINAL_PARTITION] == str(src.partition()).encode()
        assert headers[h.DLQ_ORIGINAL_OFFSET] == str(src.offset()).encode()
        assert headers[h.DLQ_FAILURE_REASON] == reason.value.encode()
        assert headers[h.DLQ_ERROR_MESSAGE] == letter.error_message.encode()[:1000]
        assert headers[h.DLQ_ID] == letter.id.encode()
        assert headers[h.DLQ_RETRY_COUNT] == b"0"
        assert headers[h.CORRELATION_ID] == b"corr-1"
    audit = read_audit(tmp_path)
    counts = Counter(e.event_type for e in audit)
    assert counts[AuditEvent.ORDER_VALIDATED] == len(bad)
    assert counts[AuditEvent.ORDER_REJECTED] == len(bad)
    assert counts[AuditEvent.ORDER_DEAD_LETTERED] == len(bad)
    assert result.stats.dead_lettered == {
        "DESERIALIZATION_ERROR": 7,
        "VALIDATION_ERROR": 4,
    }
    rejected = [e for e in audit if e.event_type is AuditEvent.ORDER_REJECTED]
    assert all(e.error and e.error.split(":")[0] in FailureReason.__members__ for e in rejected)
    _assert_all_committed(kafka_bootstrap, settings)


class FlakyStock:
    """Downstream that fails the first `failures` attempts of every order."""

    def __init__(self, failures: int, reason: FailureReason = FailureReason.PROCESSING_ERROR):
        self.failures = failures
        self.reason = reason
        self.seen: Counter[str] = Counter()

    def __call__(self, order: Order) -> None:
        self.seen[order.order_id] += 1
        if self.seen[order.order_id] <= self.failures:
            raise ProcessingFailure("warehouse busy", self.reason)


def test_transient_failures_are_retried_then_succeed(kafka_bootstrap, topic_factory, tmp_path):
    topic, dlq = topic_factory(2), topic_factory(1)
    produce(kafka_bootstrap, topic, [(f"k{i}".encode(), valid_payload(i + 1)) for i in range(20)])
    settings = tracker_settings(kafka_bootstrap, topic, dlq, tmp_path, max_retries=3)
    stock = FlakyStock(failures=2)

    result = run_drained(TrackerService(settings, downstream=stock))

    audit = read_audit(tmp_path)
    counts = Counter(e.event_type for e in audit)
    assert counts == {AuditEvent.ORDER_RETRIED: 40, AuditEvent.ORDER_VALIDATED: 20}
    assert set(stock.seen.values()) == {3}
    assert result.stats.retries == 40
    assert result.stats.valid == 20
    retried = [e for e in audit if e.event_type is AuditEvent.ORDER_RETRIED]
    assert all("PROCESSING_ERROR" in e.error and e.order_full for e in retried)
    _assert_all_committed(kafka_bootstrap, settings)


def test_exhausted_retries_are_dead_lettered_with_the_count(
    kafka_bootstrap, topic_factory, tmp_path
):
    topic, dlq = topic_factory(2), topic_factory(1)
    produce(kafka_bootstrap, topic, [(f"k{i}".encode(), valid_payload(i + 1)) for i in range(6)])
    settings = tracker_settings(kafka_bootstrap, topic, dlq, tmp_path, max_retries=3)

    result = run_drained(
        TrackerService(settings, downstream=FlakyStock(99, FailureReason.TIMEOUT_ERROR))
    )

    letters = dead_letters(kafka_bootstrap, dlq)
    assert len(letters) == 6
    for msg, letter in letters:
        assert letter.failure_reason is FailureReason.TIMEOUT_ERROR
        assert letter.retry_count == 3
        assert letter.first_failure < letter.last_failure
        assert letter.next_retry_at is None
        assert dict(msg.headers())[h.DLQ_RETRY_COUNT] == b"3"
    counts = Counter(e.event_type for e in read_audit(tmp_path))
    assert counts == {
        AuditEvent.ORDER_RETRIED: 12,
        AuditEvent.ORDER_REJECTED: 6,
        AuditEvent.ORDER_DEAD_LETTERED: 6,
    }
    assert result.stats.dead_lettered == {"TIMEOUT_ERROR": 6}
    _assert_all_committed(kafka_bootstrap, settings)


def test_random_transient_failures_keep_partition_order_and_lose_nothing(
    kafka_bootstrap, topic_factory, tmp_path
):
    topic, dlq = topic_factory(3), topic_factory(1)
    sent = produce(
        kafka_bootstrap, topic, [(f"k{i % 7}".encode(), valid_payload(i + 1)) for i in range(600)]
    )
    settings = tracker_settings(
        kafka_bootstrap, topic, dlq, tmp_path, max_retries=4, transient_failure_rate=0.2
    )

    result = run_drained(TrackerService(settings, seed=7))

    audit = read_audit(tmp_path)
    final = {AuditEvent.ORDER_VALIDATED, AuditEvent.ORDER_REJECTED}
    per_partition = defaultdict(list)
    for e in audit:
        if e.event_type in final:
            per_partition[e.kafka_partition].append(e.kafka_offset)
    for offsets in per_partition.values():
        assert offsets == sorted(offsets), "a partition was processed out of order"
    handled = {(p, o) for p, offsets in per_partition.items() for o in offsets}
    assert handled == {(m.partition(), m.offset()) for m in sent}
    assert result.stats.retries > 50
    assert result.stats.valid + result.stats.dead_lettered_total == 600
    _assert_all_committed(kafka_bootstrap, settings)


class PoisonOnPartitionZero:
    """Fails every attempt for the order with sequence 1; everything else goes through."""

    def __init__(self) -> None:
        self.fail = True

    def __call__(self, order: Order) -> None:
        if self.fail and order.sequence == 1:
            raise ProcessingFailure("stock service unreachable", FailureReason.PROCESSING_ERROR)


def test_a_retry_wait_does_not_block_other_partitions(kafka_bootstrap, topic_factory, tmp_path):
    topic, dlq = topic_factory(2), topic_factory(1)
    first = produce(
        kafka_bootstrap, topic, [(b"a", valid_payload(1)), (b"a", valid_payload(2))], partition=0
    )
    produce(
        kafka_bootstrap,
        topic,
        [(b"b", valid_payload(10 + i)) for i in range(30)],
        partition=1,
    )
    # Long enough that the wait is still running when the test ends.
    settings = tracker_settings(
        kafka_bootstrap, topic, dlq, tmp_path, retry_base_delay=600, retry_max_delay=600
    )
    stats = []
    with Background(
        TrackerService(
            settings, downstream=PoisonOnPartitionZero(), on_stats=stats.append, stats_interval=0.1
        )
    ) as bg:
        wait_until(lambda: stats and stats[-1].valid == 30, what="partition 1 to be handled")
        produce(kafka_bootstrap, topic, [(b"b", valid_payload(99))], partition=1)
        wait_until(lambda: stats[-1].valid == 31, what="partition 1 to keep flowing")
        assert stats[-1].in_flight >= 1
        result = bg.stop()  # the 600 s wait ends at once

    audit = read_audit(tmp_path)
    p0 = [(e.event_type, e.kafka_offset) for e in audit if e.kafka_partition == 0]
    assert p0 == [(AuditEvent.ORDER_RETRIED, first[0].offset())]
    assert result.committed.get(0, 0) == first[0].offset()
    committed, ends = committed_and_ends(kafka_bootstrap, settings.tracker.group, topic)
    assert committed[1] == ends[1]
    assert committed[0] == first[0].offset()

    # On restart the order in retry is consumed again, and then the one behind it.
    run_drained(TrackerService(settings))
    p0 = [(e.event_type, e.kafka_offset) for e in read_audit(tmp_path) if e.kafka_partition == 0]
    assert p0[1:] == [
        (AuditEvent.ORDER_VALIDATED, first[0].offset()),
        (AuditEvent.ORDER_VALIDATED, first[1].offset()),
    ]
    _assert_all_committed(kafka_bootstrap, settings)


def test_an_unacknowledged_dead_letter_is_not_committed(kafka_bootstrap, topic_factory, tmp_path):
    topic = topic_factory(1)
    # The dead-letter topic refuses anything bigger than 600 bytes: no dead letter fits.
    dlq = topic_factory(1, config={"max.message.bytes": "600"})
    too_big = base64.b64encode(os.urandom(6000))
    sent = produce(
        kafka_bootstrap,
        topic,
        [(b"1", valid_payload(1)), (b"2", too_big), (b"3", valid_payload(3)), (b"4", b"x")],
    )
    settings = tracker_settings(kafka_bootstrap, topic, dlq, tmp_path)
    logs = []
    with Background(TrackerService(settings, on_log=logs.append)) as bg:
        wait_until(
            lambda: any(e.level is LogLevel.ERROR for e in list(logs)),
            what="the failed dead letter to be reported",
        )
        wait_until(lambda: sum(1 for e in read_audit(tmp_path)) >= 4, what="the rest")
        result = bg.stop()

    assert result.committed[0] == sent[1].offset()
    committed, _ = committed_and_ends(kafka_bootstrap, settings.tracker.group, topic)
    assert committed[0] == sent[1].offset()
    error = next(e for e in logs if e.level is LogLevel.ERROR)
    assert "dead letter" in error.message
    assert error.error
    audit = read_audit(tmp_path)
    dead = [e.kafka_offset for e in audit if e.event_type is AuditEvent.ORDER_DEAD_LETTERED]
    assert dead == []
    assert result.stats.last_error and "dead letter" in result.stats.last_error
    # The stop names them and is not clean; the summary adds up.
    assert result.pending_dead_letters == 2 and not result.ok
    assert "pending_dead_letters=2" in result.summary()
    s = result.stats
    assert s.received == s.valid + s.dead_lettered_total + result.left_for_next_run
    assert result.left_for_next_run == 2 and s.in_flight == 2


def test_log_files_go_to_the_log_dir_and_rotate(kafka_bootstrap, topic_factory, tmp_path):
    topic, dlq = topic_factory(1), topic_factory(1)
    produce(kafka_bootstrap, topic, [(b"k", valid_payload(i + 1)) for i in range(200)])
    log_dir = tmp_path / "nested" / "logs"
    settings = tracker_settings(
        kafka_bootstrap,
        topic,
        dlq,
        log_dir,
        log_max_bytes=64 * 1024,
        log_backups=2,
        audit_retention_bytes=2 * 64 * 1024,
    )
    logs = []

    run_drained(TrackerService(settings, on_log=logs.append))

    names = sorted(p.name for p in log_dir.iterdir())
    assert names == ["tracker.events", "tracker.events.1", "tracker.events.2", "tracker.log"]
    assert all(p.stat().st_size <= 64 * 1024 for p in log_dir.iterdir())
    # Retention (applied at each rotation) removed the older files, and said so.
    removed = [e for e in logs if e.message.startswith("audit retention removed")]
    assert removed and all(e.level is LogLevel.WARNING for e in removed)
    assert "audit retention removed" in (log_dir / "tracker.log").read_text()
    _assert_all_committed(kafka_bootstrap, settings)


def test_two_trackers_in_one_group_share_the_work_through_rebalances(
    kafka_bootstrap, topic_factory, tmp_path
):
    topic, dlq = topic_factory(4), topic_factory(1)
    sent = produce(
        kafka_bootstrap, topic, [(f"k{i}".encode(), valid_payload(i + 1)) for i in range(400)]
    )
    settings = tracker_settings(kafka_bootstrap, topic, dlq, tmp_path / "a", max_retries=3)
    other = settings.model_copy(update={"log_dir": tmp_path / "b"})
    first_stats = []
    with Background(
        TrackerService(settings, on_stats=first_stats.append, stats_interval=0.05, seed=1)
    ) as first:
        wait_until(lambda: first_stats and first_stats[-1].valid > 0, what="first tracker")
        # A second member joins: partitions are revoked (and committed) and shared out.
        second_logs = []
        with Background(TrackerService(other, seed=2, on_log=second_logs.append)) as second:
            wait_until(
                lambda: any(
                    e.message == "partitions assigned" and e.metadata["partitions"]
                    for e in list(second_logs)
                ),
                what="the second tracker to get partitions",
            )
            produce(
                kafka_bootstrap,
                topic,
                [(f"k{i}".encode(), valid_payload(1000 + i)) for i in range(400)],
            )
            wait_until(
                lambda: _committed_all(kafka_bootstrap, settings),
                what="the group to commit every order",
            )
            second.stop()
        first.stop()

    validated = Counter(
        (e.kafka_partition, e.kafka_offset)
        for d in ("a", "b")
        for e in read_audit(tmp_path / d)
        if e.event_type is AuditEvent.ORDER_VALIDATED
    )
    assert len(validated) == 800
    assert {(m.partition(), m.offset()) for m in sent} <= set(validated)
    assert read_audit(tmp_path / "b"), "the second tracker got no partition"


def _committed_all(bootstrap: str, settings) -> bool:
    committed, ends = committed_and_ends(bootstrap, settings.tracker.group, settings.topics.orders)
    return sum(ends.values()) == 800 and committed == ends
