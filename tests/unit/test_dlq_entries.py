"""Dead letters of every known producer become entries with their original coordinates."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from orderdesk.cli.dlq import format_entry
from orderdesk.deadletters.entries import (
    SOURCE_CONNECT,
    SOURCE_ORDERDESK,
    SOURCE_SPRING,
    SOURCE_UNKNOWN,
    TIMESTAMP_LOG_APPEND_TIME,
    TOMBSTONE,
    entry_from_record,
    reason_for_exception,
)
from orderdesk.domain import FailureReason
from orderdesk.domain import headers as hdr
from tests.unit.dlq_records import (
    broken_order,
    connect_headers,
    orderdesk_record,
    spring_headers,
)


def test_orderdesk_dead_letter_keeps_every_contract_field() -> None:
    order = broken_order()
    key, value, headers, message = orderdesk_record(order, original_partition=2, original_offset=41)
    entry = entry_from_record("orders-dlq", 1, 7, key, value, headers, 1_700_000_000_000)
    assert entry.source == SOURCE_ORDERDESK
    assert entry.id == message.id
    assert (entry.original_topic, entry.original_partition, entry.original_offset) == (
        "orders",
        2,
        41,
    )
    assert entry.original_key == order["order_id"]
    assert entry.key_bytes == order["order_id"].encode()
    assert json.loads(entry.payload_bytes or b"") == order
    assert entry.failure_reason is FailureReason.VALIDATION_ERROR
    assert entry.original_coordinates == "orders[2]@41"
    record = entry.to_record()
    assert next(iter(record)) == "id"
    for name in type(message).model_fields:
        assert name in record
    assert record["failure_reason"] == "VALIDATION_ERROR"
    json.dumps(record)


def test_spring_dead_letter_reads_big_endian_coordinates() -> None:
    headers = spring_headers(
        "payments",
        5,
        2**40 + 3,
        "org.springframework.kafka.support.serializer.DeserializationException",
        "failed to deserialize",
        timestamp_ms=1_700_000_000_123,
    )
    entry = entry_from_record("payments.DLT", 0, 12, b"k-1", b"{not json", headers, 1)
    assert entry.source == SOURCE_SPRING
    assert entry.id == "payments.DLT-0-12"
    assert (entry.original_topic, entry.original_partition, entry.original_offset) == (
        "payments",
        5,
        2**40 + 3,
    )
    assert entry.original_payload == "{not json"
    assert entry.payload_bytes == b"{not json"
    assert entry.key_bytes == b"k-1"
    assert entry.failure_reason is FailureReason.DESERIALIZATION_ERROR
    assert entry.error_message == "failed to deserialize"
    assert "Listener.on" in entry.error_stack
    assert entry.consumer_group == "spring-orders"
    assert entry.original_timestamp is not None
    # Binary numbers are shown as hex, not as garbage text.
    assert entry.to_record()["headers"]["kafka_dlt-original-partition"] == "0x00000005"


def test_connect_dead_letter_reads_text_coordinates() -> None:
    headers = connect_headers(
        "orders", 2, 99, "org.apache.kafka.connect.errors.DataException", "bad", "VALUE_CONVERTER"
    )
    entry = entry_from_record("connect-dlq", 3, 4, None, b'{"a": 1}', headers)
    assert entry.source == SOURCE_CONNECT
    assert entry.id == "connect-dlq-3-4"
    assert entry.original_coordinates == "orders[2]@99"
    assert entry.failure_reason is FailureReason.DESERIALIZATION_ERROR
    assert entry.metadata["connector"] == "orders-sink"


def test_republished_copy_drops_bookkeeping_headers() -> None:
    headers = [
        *connect_headers("orders", 0, 1, "x.TimeoutException", "slow"),
        ("traceparent", b"00-abc"),
        (hdr.REPLAY_DLQ_ID, b"older"),
    ]
    entry = entry_from_record("dlq", 0, 0, b"k", b"v", headers)
    assert entry.republish_headers() == [("traceparent", b"00-abc")]
    assert entry.replay_of == "older"
    assert entry.failure_reason is FailureReason.TIMEOUT_ERROR


def test_orderdesk_republish_headers_come_from_the_order() -> None:
    key, value, headers, _ = orderdesk_record(broken_order())
    entry = entry_from_record("orders-dlq", 0, 0, key, value, headers)
    names = dict(entry.republish_headers())
    assert names[hdr.EVENT_TYPE] == b"order.created"
    assert names[hdr.CONTENT_TYPE] == b"application/json"


def test_unknown_producer_and_tombstone() -> None:
    entry = entry_from_record("dlq", 0, 9, None, None, None)
    assert entry.source == SOURCE_UNKNOWN
    assert entry.id == "dlq-0-9"
    assert entry.original_topic is None
    assert entry.original_payload == ""
    assert entry.failure_reason is FailureReason.UNKNOWN_ERROR


def test_value_that_only_resembles_orderdesk_json_is_not_lost() -> None:
    entry = entry_from_record("dlq", 0, 1, None, b'{"failure_reason": 3}', [])
    assert entry.source == SOURCE_UNKNOWN
    assert entry.original_payload == '{"failure_reason": 3}'


def test_reason_for_exception_names() -> None:
    reason = reason_for_exception
    assert reason("a.b.ConstraintViolationException") is FailureReason.VALIDATION_ERROR
    assert reason("java.util.concurrent.TimeoutException") is FailureReason.TIMEOUT_ERROR
    assert reason("java.lang.NullPointerException") is FailureReason.PROCESSING_ERROR
    assert reason("") is FailureReason.UNKNOWN_ERROR


def test_spring_key_deserialization_failure_shows_the_key_exception() -> None:
    headers = [
        (name, value)
        for name, value in spring_headers("orders", 1, 5, "unused", "unused")
        if not name.startswith("kafka_dlt-exception-")
    ]
    fqcn = "org.springframework.kafka.support.serializer.DeserializationException"
    headers += [
        ("kafka_dlt-key-exception-fqcn", fqcn.encode()),
        ("kafka_dlt-key-exception-message", b"failed to deserialize"),
        (
            "kafka_dlt-key-exception-stacktrace",
            f"{fqcn}: failed\n\tat X\nCaused by: java.lang.IllegalArgumentException: "
            "Invalid UUID string: k\n\tat Y".encode(),
        ),
    ]
    entry = entry_from_record("orders-dlq", 1, 3, b"not-a-uuid", b"{}", headers, 1_700_000_000_000)
    assert entry.error_message == (
        "key: failed to deserialize (IllegalArgumentException: Invalid UUID string: k)"
    )
    assert entry.error_class == fqcn
    assert entry.error_stack.startswith(fqcn)
    assert entry.failure_reason is FailureReason.DESERIALIZATION_ERROR
    assert entry.metadata == {"failed_part": "key"}
    assert entry.timestamp is not None  # Spring's dead letter is stamped when it is sent


def test_connect_dead_letter_time_is_the_original_records() -> None:
    headers = connect_headers("orders", 0, 1, "org.apache.kafka.connect.errors.DataException", "x")
    written = 1_672_531_200_000  # 2023-01-01: the failed record's own time
    entry = entry_from_record("connect-dlq", 0, 0, None, b"x", headers, written)
    assert entry.timestamp is None
    assert entry.original_timestamp == datetime.fromtimestamp(written / 1000, UTC)
    record = entry.to_record()
    assert record["timestamp"] is None
    assert record["original_timestamp"].startswith("2023-01-01")
    assert "time:             not recorded" in format_entry(entry)
    # A topic stamped by the broker on append gives the dead-lettering time instead.
    appended = entry_from_record(
        "connect-dlq", 0, 0, None, b"x", headers, written, TIMESTAMP_LOG_APPEND_TIME
    )
    assert appended.timestamp is not None and appended.original_timestamp is None


def test_a_tombstone_shows_as_such_where_the_payload_shows() -> None:
    headers = connect_headers("orders", 0, 1, "org.apache.kafka.connect.errors.DataException", "x")
    entry = entry_from_record("connect-dlq", 0, 0, b"k", None, headers)
    assert entry.is_tombstone
    assert entry.payload_display == TOMBSTONE == "tombstone (null value)"
    assert entry.to_record()["original_payload"] is None
    assert "payload:\n  tombstone (null value)" in format_entry(entry)
    empty = entry_from_record("connect-dlq", 0, 1, b"k", b"", headers)
    assert not empty.is_tombstone and empty.payload_display == ""
