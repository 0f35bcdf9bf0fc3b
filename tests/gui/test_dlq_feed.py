"""The dead-letter inbox's feed: out of sight, dead letters wait as records the garbage
collector does not walk; shown, the reader parses them, in the order read."""

from __future__ import annotations

import gc

from orderdesk.deadletters.reader import DeadLetterRecord
from orderdesk.gui.deadletters.workers import DeadLetterFeed
from tests.unit.dlq_records import broken_order, orderdesk_record


def records(count: int, start: int = 0) -> list[DeadLetterRecord]:
    out: list[DeadLetterRecord] = []
    for offset in range(start, start + count):
        key, value, headers, _ = orderdesk_record(broken_order(), original_offset=offset)
        out.append(("orders-dlq", 0, offset, key, value, tuple(headers), 1_700_000_000_000, 1))
    return out


def test_out_of_sight_the_records_wait_unparsed_and_untracked() -> None:
    feed = DeadLetterFeed()
    feed.parse_ahead = False
    feed.put_records(records(3))
    feed.mark_caught_up()
    assert len(feed) == 3
    entries, done = feed.drain_entries(10)
    assert entries == [] and not done, "nothing handed over, nor caught up, while waiting"
    for _ in range(3):  # a pass of the collector untracks one level of nested tuples
        gc.collect()
    waiting = list(feed._records)
    assert waiting and not any(gc.is_tracked(r) for r in waiting)


def test_once_shown_the_reader_parses_the_backlog_first() -> None:
    feed = DeadLetterFeed()
    feed.parse_ahead = False
    feed.put_records(records(3))
    feed.parse_ahead = True
    feed.put_records([])  # the reader's next turn, nothing new
    feed.put_records(records(2, start=3))
    feed.mark_caught_up()
    entries, done = feed.drain_entries()
    assert [e.original_offset for e in entries] == [0, 1, 2, 3, 4]
    assert entries[0].failure_reason.value == "VALIDATION_ERROR"
    assert done and len(feed) == 0


def test_what_an_ended_reader_left_is_parsed_by_the_drain_in_chunks() -> None:
    feed = DeadLetterFeed()
    feed.parse_ahead = False
    feed.put_records(records(5))
    feed.mark_caught_up()
    first, done = feed.drain_entries(3, parse=True)
    assert [e.original_offset for e in first] == [0, 1, 2] and not done
    rest, done = feed.drain_entries(3, parse=True)
    assert [e.original_offset for e in rest] == [3, 4] and done
