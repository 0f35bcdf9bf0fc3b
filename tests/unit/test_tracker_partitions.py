"""The tracker's partition bookkeeping, without a consumer: what may be committed, when."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from confluent_kafka import Message

from orderdesk.domain import parse_order
from orderdesk.tracker.partitions import Partition, PartitionBook, Retry
from tests.unit.orders import order_dict


def _msg(partition: int, offset: int) -> Message:
    value = json.dumps(order_dict(sequence=offset + 1)).encode()
    return Message(topic="orders", partition=partition, offset=offset, value=value)


def _retry(partition: int, offset: int, due: float) -> Retry:
    msg = _msg(partition, offset)
    return Retry(msg, parse_order(msg.value()), 1, datetime.now(UTC), due)


def test_nothing_is_committable_before_the_first_message_is_handled():
    part = Partition(0)
    assert part.committable() is None
    assert part.first_unhandled() is None
    assert part.in_flight() == 0


def test_a_pending_dead_letter_holds_the_commit_at_its_offset():
    part = Partition(0)
    part.done_upto = 10
    part.pending |= {7, 4}
    assert part.committable() == 4
    assert part.in_flight() == 2
    part.pending.discard(4)
    assert part.committable() == 7
    part.pending.clear()
    assert part.committable() == 10


def test_a_retry_and_its_backlog_count_as_in_flight_and_hold_back_new_messages():
    part = Partition(0)
    assert not part.holds_back()
    part.retry = _retry(0, 3, due=5.0)
    part.backlog.extend([_msg(0, 4), _msg(0, 5)])
    assert part.holds_back()
    assert part.in_flight() == 3
    # Nothing handled yet: the first unhandled offset is the one in retry.
    assert part.first_unhandled() == 3
    assert part.handled(2) is False
    part.done_upto = 3
    assert part.handled(2) and not part.handled(3)


def test_to_commit_names_only_partitions_that_moved_unless_forced():
    book = PartitionBook()
    book.assign([0, 1, 2])
    book.get(0).done_upto = 5
    book.get(1).done_upto = 3
    book.get(1).committed = 3
    assert book.to_commit() == {0: 5}
    assert book.to_commit(force=True) == {0: 5, 1: 3}
    assert book.to_commit([1, 2, 9], force=True) == {1: 3}


def test_retries_fall_due_in_time_order():
    book = PartitionBook()
    book.assign([0, 1])
    assert book.next_due() is None and not book.retry_due(100.0)
    book.get(0).retry = _retry(0, 0, due=10.0)
    book.get(1).retry = _retry(1, 0, due=4.0)
    assert book.next_due() == 4.0
    assert not book.retry_due(3.9)
    assert [p.number for p in book.due_retries(5.0)] == [1]
    assert [p.number for p in book.due_retries(10.0)] == [0, 1]


def test_a_partition_assigned_again_is_a_new_one():
    book = PartitionBook()
    book.assign([0])
    old = book.get(0)
    assert book.owns(old)
    book.forget([0])
    assert 0 not in book and not book.owns(old)
    book.assign([0])
    assert not book.owns(old) and book.owns(book.get(0))
    assert book.in_flight() == 0
