"""Dead letters as the domain contract gives them, built from a plain `Message`."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

from confluent_kafka import Message

from orderdesk.deadletters.entries import entry_from_record
from orderdesk.deadletters.letter import (
    MAX_VALUE_BYTES,
    FailureRecord,
    build_dead_letter,
    dead_letter_headers,
    encode_dead_letter,
    new_uuid4,
)
from orderdesk.domain import DeadLetterMessage, FailureReason
from orderdesk.domain import headers as h

SPEC_FIELDS = set(DeadLetterMessage.model_fields)


def _message(value: bytes | None, key: bytes | None = b"order-7", headers=None) -> Message:
    return Message(
        topic="orders",
        partition=2,
        offset=41,
        key=key,
        value=value,
        headers=headers if headers is not None else [(h.CORRELATION_ID, b"corr-9")],
        timestamp=(1, 1_764_072_000_000),
    )


def test_value_has_every_field_of_the_contract():
    first = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    last = datetime(2026, 11, 25, 12, 1, tzinfo=UTC)
    failure = FailureRecord(
        FailureReason.PROCESSING_ERROR,
        "stock reservation failed",
        retry_count=3,
        first_failure=first,
        last_failure=last,
    )
    letter = build_dead_letter(_message(b'{"order_id": 1}'), failure, "group-a", "host-1")

    raw = json.loads(letter.value)
    assert set(raw) == SPEC_FIELDS
    dlm = DeadLetterMessage.model_validate_json(letter.value)
    assert dlm == letter.message
    assert dlm.original_topic == "orders"
    assert (dlm.original_partition, dlm.original_offset) == (2, 41)
    assert dlm.original_key == "order-7"
    assert dlm.original_payload == '{"order_id": 1}'
    assert dlm.original_timestamp == datetime.fromtimestamp(1_764_072_000, UTC)
    assert dlm.failure_reason is FailureReason.PROCESSING_ERROR
    assert dlm.error_message == "stock reservation failed"
    assert dlm.consumer_group == "group-a"
    assert dlm.processing_host == "host-1"
    assert dlm.retry_count == 3
    assert (dlm.first_failure, dlm.last_failure) == (first, last)
    assert dlm.next_retry_at is None
    assert dlm.is_reprocessed is False
    assert dlm.metadata[h.CORRELATION_ID] == "corr-9"
    assert letter.key == b"order-7"
    assert (letter.topic, letter.partition, letter.offset) == ("orders", 2, 41)


def test_headers_name_the_origin_and_the_failure():
    failure = FailureRecord(FailureReason.VALIDATION_ERROR, "total: expected 3.00, got 1.00")
    letter = build_dead_letter(_message(b"{}"), failure, "g", "h")
    headers = dict(letter.headers)
    assert headers[h.DLQ_ID] == letter.message.id.encode()
    assert headers[h.DLQ_ORIGINAL_TOPIC] == b"orders"
    assert headers[h.DLQ_ORIGINAL_PARTITION] == b"2"
    assert headers[h.DLQ_ORIGINAL_OFFSET] == b"41"
    assert headers[h.DLQ_FAILURE_REASON] == b"VALIDATION_ERROR"
    assert headers[h.DLQ_ERROR_MESSAGE] == b"total: expected 3.00, got 1.00"
    assert headers[h.DLQ_RETRY_COUNT] == b"0"
    assert headers[h.CONTENT_TYPE] == b"application/json"
    assert headers[h.CORRELATION_ID] == b"corr-9"  # the original's are kept


def test_the_original_content_type_is_replaced_not_repeated():
    dlm = DeadLetterMessage(
        original_topic="t",
        original_partition=0,
        original_offset=0,
        original_payload="",
        failure_reason=FailureReason.DESERIALIZATION_ERROR,
        error_message="x" * 5000,
    )
    out = dead_letter_headers(dlm, [(h.CONTENT_TYPE, b"text/plain"), ("empty", None)])
    names = [k for k, _ in out]
    assert names.count(h.CONTENT_TYPE) == 1
    assert "empty" not in names
    assert len(dict(out)[h.DLQ_ERROR_MESSAGE]) == 1000


def test_tombstones_and_keyless_messages():
    failure = FailureRecord(FailureReason.DESERIALIZATION_ERROR, "payload is null (tombstone)")
    letter = build_dead_letter(_message(None, key=None, headers=[]), failure, "g", "h")
    assert letter.key is None
    assert letter.message.original_key is None
    assert letter.message.original_payload == ""
    assert letter.message.metadata["message_size"] == "0"
    # The desk reads it back as a tombstone (and a replay sends one), not an empty value.
    entry = entry_from_record("orders-dlq", 0, 0, letter.key, letter.value, letter.headers)
    assert entry.is_tombstone and entry.payload_bytes is None
    assert entry.payload_display == "tombstone (null value)"
    empty = build_dead_letter(_message(b"", key=None, headers=[]), failure, "g", "h")
    assert "tombstone" not in empty.message.metadata


def test_invalid_utf8_is_kept_as_escapes():
    failure = FailureRecord(FailureReason.DESERIALIZATION_ERROR, "not UTF-8")
    letter = build_dead_letter(_message(b"caf\xe9"), failure, "g", "h")
    assert letter.message.original_payload == "caf\\xe9"
    json.loads(letter.value)


def test_a_payload_too_big_for_kafka_is_cut_and_says_so():
    huge = '"' * (MAX_VALUE_BYTES // 2)  # every quote doubles when escaped
    dlm = DeadLetterMessage(
        original_topic="t",
        original_partition=0,
        original_offset=0,
        original_payload=huge,
        failure_reason=FailureReason.DESERIALIZATION_ERROR,
        error_message="not an order",
    )
    cut, value = encode_dead_letter(dlm)
    assert len(value) <= MAX_VALUE_BYTES
    assert huge.startswith(cut.original_payload)
    assert 0 < len(cut.original_payload) < len(huge)
    assert cut.metadata["original_payload_truncated"] == "true"
    assert cut.metadata["original_payload_chars"] == str(len(huge))
    small, value = encode_dead_letter(dlm.model_copy(update={"original_payload": "x" * 300_000}))
    assert small.original_payload == "x" * 300_000
    assert "original_payload_truncated" not in small.metadata


def test_ids_are_distinct_random_uuids():
    ids = [new_uuid4() for _ in range(2_000)]  # several batches of random bytes
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
    failure = FailureRecord(FailureReason.VALIDATION_ERROR, "total mismatch")
    letters = [build_dead_letter(_message(b"{}"), failure, "g", "h") for _ in range(3)]
    assert len({letter.message.id for letter in letters}) == 3


def test_a_900_kb_binary_payload_keeps_most_of_itself_as_base64():
    raw = bytes(range(256)) * 3600  # 921,600 bytes, mostly not UTF-8
    failure = FailureRecord(FailureReason.DESERIALIZATION_ERROR, "not an order")
    letter = build_dead_letter(_message(raw), failure, "g", "h")
    meta = letter.message.metadata
    assert len(letter.value) <= MAX_VALUE_BYTES
    assert meta["original_payload_truncated"] == "true"
    assert meta["original_payload_encoding"] == "base64"
    assert meta["original_payload_bytes"] == str(len(raw))
    kept = base64.b64decode(letter.message.original_payload)
    assert raw.startswith(kept)
    assert len(kept) == int(meta["original_payload_kept_bytes"]) >= 600_000


def test_text_that_escaping_inflates_is_cut_to_fit_never_to_nothing():
    for text in ("\\" * 900_000, "\x01" * 400_000, "é" * 800_000):
        dlm = DeadLetterMessage(
            original_topic="t",
            original_partition=0,
            original_offset=0,
            original_payload=text,
            failure_reason=FailureReason.DESERIALIZATION_ERROR,
            error_message="not an order",
        )
        cut, value = encode_dead_letter(dlm)
        assert len(value) <= MAX_VALUE_BYTES
        assert text.startswith(cut.original_payload)
        # Within a few percent of the limit: as much as fits is kept.
        assert len(value) >= MAX_VALUE_BYTES * 0.98, (text[0], len(value))
        assert cut.metadata["original_payload_kept_bytes"] == str(
            len(cut.original_payload.encode())
        )


def test_a_letter_cut_again_keeps_the_original_sizes():
    text = "a" * 2_000_000
    dlm = DeadLetterMessage(
        original_topic="t",
        original_partition=0,
        original_offset=0,
        original_payload=text,
        failure_reason=FailureReason.DESERIALIZATION_ERROR,
        error_message="not an order",
    )
    cut, value = encode_dead_letter(dlm)
    again, smaller = encode_dead_letter(cut, len(value) // 2)
    assert len(smaller) <= len(value) // 2 and again.original_payload
    assert again.metadata["original_payload_chars"] == str(len(text))
