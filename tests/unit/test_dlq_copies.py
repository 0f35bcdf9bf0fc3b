"""Dead letters that a crash sent twice are grouped by the original message they stand for."""

from __future__ import annotations

from orderdesk.deadletters.copies import CopyIndex, copy_key
from orderdesk.deadletters.entries import DeadLetterEntry
from orderdesk.domain import DeadLetterMessage, FailureReason


def _entry(letter_id: str, offset: int, dlq_offset: int) -> DeadLetterEntry:
    message = DeadLetterMessage(
        id=letter_id,
        original_topic="orders",
        original_partition=1,
        original_offset=offset,
        original_payload="{not json",
        failure_reason=FailureReason.DESERIALIZATION_ERROR,
        error_message="not an order",
    )
    return DeadLetterEntry(
        message=message,
        source="orderdesk",
        dlq_topic="orders-dlq",
        dlq_partition=0,
        dlq_offset=dlq_offset,
        key_bytes=b"k",
        payload_bytes=b"{not json",
    )


def test_a_second_letter_for_the_same_original_is_a_copy_of_the_first():
    index = CopyIndex()
    first, again, other = _entry("a", 7, 0), _entry("b", 7, 1), _entry("c", 8, 2)
    assert index.add(first) is None
    assert index.add(other) is None
    assert index.add(again) is first
    assert [e.id for e in index.copies(first)] == ["a", "b"]
    assert [e.id for e in index.copies(other)] == ["c"]
    assert copy_key(first) == ("orders", 1, 7)


def test_the_same_letter_read_again_is_not_a_copy():
    index = CopyIndex()
    assert index.add(_entry("a", 7, 0)) is None
    assert index.add(_entry("a", 7, 0)) is None
    assert len(index.copies(_entry("a", 7, 0))) == 1
