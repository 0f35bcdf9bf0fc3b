"""The audit trail index: offsets, event codes and timestamps from raw bytes; filters."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

import orderdesk.audit.rows as ai_rows
import orderdesk.audit.search as audit_search
from orderdesk.audit.index import (
    CODE_MALFORMED,
    EVENT_CODES,
    MALFORMED,
    AuditFilter,
    AuditIndex,
    FileChange,
    extract_order_id,
    scan_file,
)
from orderdesk.audit.writer import AuditWriter
from orderdesk.config import ProducerSettings
from orderdesk.domain import parse_order
from orderdesk.domain.failures import ProcessingFailure
from orderdesk.domain.records import AuditEvent
from orderdesk.producer.generator import OrderGenerator

T0 = datetime(2026, 11, 25, 8, 0, 0, tzinfo=UTC)


def stamp(i: int) -> str:
    """Timestamp of the i-th line: one second apart, as the tracker writes it."""
    return (T0 + timedelta(seconds=i)).isoformat().replace("+00:00", "Z")


class ClockedWriter(AuditWriter):
    """The tracker's audit writer with a clock the test sets."""

    now = ""

    def timestamp(self) -> str:
        return self.now


def write_audit(path: Path, orders: int, seed: int = 1, start: int = 0) -> list[str]:
    """Write the audit trail of `orders` orders with the tracker's own writer.

    Every 5th order is retried once then validated, every 7th fails for good (rejected
    then dead-lettered); the rest are validated. Returns the order ids in order.
    """
    gen = OrderGenerator(ProducerSettings(faulty_ratio=0.0), seed=seed)
    ids = []
    line = start
    with ClockedWriter(path, max_bytes=1 << 40, backups=0) as writer:
        for k in range(orders):
            event = gen.next_event()
            order = parse_order(event.value)
            ids.append(order.order_id)
            steps: list[tuple[AuditEvent, str | None]] = []
            if k % 7 == 3:
                err = "PROCESSING_ERROR: boom (attempt 3/3)"
                steps = [(AuditEvent.ORDER_REJECTED, err), (AuditEvent.ORDER_DEAD_LETTERED, err)]
            elif k % 5 == 1:
                steps = [(AuditEvent.ORDER_RETRIED, "PROCESSING_ERROR: transient"),
                         (AuditEvent.ORDER_VALIDATED, None)]  # fmt: skip
            else:
                steps = [(AuditEvent.ORDER_VALIDATED, None)]
            for kind, err in steps:
                writer.now = stamp(line)
                writer.write(kind, "orders", k % 3, k, event.value, err, order)
                line += 1
    return ids


def write_faulty(path: Path, payload: bytes, when: int) -> None:
    """Append the entry of a payload that is not an order (no order_full)."""
    try:
        parse_order(payload)
        raise AssertionError("payload parsed")
    except ProcessingFailure as exc:
        err = f"{exc.reason}: {exc.message}"
    with ClockedWriter(path, max_bytes=1 << 40, backups=0) as writer:
        writer.now = stamp(when)
        writer.write(AuditEvent.ORDER_REJECTED, "orders", 0, 999, payload, err, None)


def append_raw(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


@pytest.fixture
def trail(tmp_path: Path) -> tuple[Path, list[str]]:
    path = tmp_path / "tracker.events"
    return path, write_audit(path, 60)


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_index_matches_a_plain_parse(trail: tuple[Path, list[str]]) -> None:
    path, _ = trail
    records = lines_of(path)
    index = AuditIndex(path)
    assert index.index_all() == len(records)
    assert index.indexed_size == path.stat().st_size
    assert [int(c) for c in index.codes] == [EVENT_CODES[r["event_type"]] for r in records]
    assert [t.decode() for t in index.times] == [r["timestamp"][:19] for r in records]
    row = index.row(len(records) - 1)
    assert row.event_type == records[-1]["event_type"]
    assert row.order_id == records[-1]["order_full"]["order_id"]
    assert row.timestamp == records[-1]["timestamp"]
    assert (row.partition, row.offset) == (records[-1]["kafka_partition"], 59)
    assert row.status == records[-1]["order_full"]["status"]


@pytest.mark.parametrize("chunk", [1, 100, 4096])
def test_blocks_of_any_size_give_the_same_index(trail: tuple[Path, list[str]], chunk: int) -> None:
    path, _ = trail
    whole = AuditIndex(path)
    whole.index_all()
    parts = AuditIndex(path)
    for block in scan_file(path, chunk_bytes=chunk):
        assert parts.append(block)
    assert np.array_equal(parts._starts.array, whole._starts.array)
    assert np.array_equal(parts.codes, whole.codes)
    assert np.array_equal(parts.times, whole.times)


def test_one_order_id_finds_every_event_of_that_order(trail: tuple[Path, list[str]]) -> None:
    path, ids = trail
    index = AuditIndex(path)
    index.index_all()
    failed, retried = ids[3], ids[1]
    hits = index.matching(AuditFilter(order_id=failed))
    assert [index.row(int(i)).event_type for i in hits] == [
        "order.rejected",
        "order.dead_lettered",
    ]
    hits = index.matching(AuditFilter(order_id=retried))
    assert [index.row(int(i)).event_type for i in hits] == ["order.retried", "order.validated"]
    assert all(index.row(int(i)).order_id == retried for i in hits)
    # A part of the id finds it too; an id that is nowhere finds nothing.
    assert len(index.matching(AuditFilter(order_id=retried[:13]))) == 2
    assert len(index.matching(AuditFilter(order_id="00000000-dead-beef"))) == 0


def test_event_type_time_and_text_filters(trail: tuple[Path, list[str]]) -> None:
    path, _ = trail
    records = lines_of(path)
    index = AuditIndex(path)
    index.index_all()

    def expect(pred) -> list[int]:  # type: ignore[no-untyped-def]
        return [i for i, r in enumerate(records) if pred(r)]

    dead = index.matching(AuditFilter(event_types={"order.dead_lettered"}))
    assert dead.tolist() == expect(lambda r: r["event_type"] == "order.dead_lettered")
    failures = {"order.retried", "order.rejected"}
    assert index.matching(AuditFilter(event_types=failures)).tolist() == expect(
        lambda r: r["event_type"] in failures
    )
    since, until = T0 + timedelta(seconds=10), T0 + timedelta(seconds=20)
    assert index.matching(AuditFilter(since=since, until=until)).tolist() == list(range(10, 21))
    assert index.matching(AuditFilter(since=T0 + timedelta(seconds=70))).tolist() == list(
        range(70, len(records))
    )
    name = records[5]["order_full"]["customer_info"]["name"]
    assert index.matching(AuditFilter(text=name)).tolist() == expect(
        lambda r: name in json.dumps(r, ensure_ascii=False)
    )
    # Text with quotes matches the order_full object and the escaped raw message alike.
    quoted = '"status":"pending"'
    assert index.matching(AuditFilter(text=quoted)).tolist() == expect(
        lambda r: r["order_full"]["status"] == "pending"
    )
    both = AuditFilter(text="transient", event_types={"order.retried"}, since=since)
    assert index.matching(both).tolist() == expect(
        lambda r: r["event_type"] == "order.retried" and r["timestamp"] >= stamp(10)
    )


def test_search_finds_a_needle_across_slice_edges(
    trail: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, ids = trail
    index = AuditIndex(path)
    index.index_all()
    expected = index.matching(AuditFilter(order_id=ids[40])).tolist()
    monkeypatch.setattr(audit_search, "_SLICE", 7)  # needles straddle nearly every slice edge
    steps = index.iter_matching(AuditFilter(order_id=ids[40]))
    progress = []
    while True:
        try:
            progress.append(next(steps))
        except StopIteration as done:
            assert done.value.tolist() == expected
            break
    assert len(progress) > 10
    assert all(0 <= p <= 1 for p in progress)


def test_a_malformed_line_is_kept_and_marked(trail: tuple[Path, list[str]]) -> None:
    path, _ = trail
    append_raw(path, b'{"timestamp":"2026-11-25T09:00:00Z","event_type":"order.valid\n')
    append_raw(path, b"not json at all\n")
    write_faulty(path, b"\xff\xfe not utf-8 {", 200)
    write_audit(path, 2, seed=9, start=300)
    index = AuditIndex(path)
    n = index.index_all()
    codes = index.codes.tolist()
    broken = [i for i, c in enumerate(codes) if c == CODE_MALFORMED]
    assert broken == [n - 6, n - 5]
    row = index.row(n - 5)
    assert row.malformed and row.event_type == MALFORMED and "not JSON" in row.error
    assert row.text == "not json at all"
    faulty = index.row(n - 4)
    assert faulty.event_type == "order.rejected" and not faulty.malformed
    assert faulty.order_full is None and faulty.error.startswith("DESERIALIZATION_ERROR")
    assert index.matching(AuditFilter(event_types={MALFORMED})).tolist() == broken
    assert index.row(n - 1).event_type == "order.validated"  # lines after it still read


def test_other_writers_lines_take_the_slow_path(tmp_path: Path) -> None:
    path = tmp_path / "other.events"
    lines = [
        # Spaces after separators, as json.dumps writes by default.
        json.dumps({"timestamp": "2026-11-25T08:00:01Z", "event_type": "order.retried"}),
        # Another key order and a zone offset: 10:00+02:00 is 08:00 UTC.
        json.dumps({"event_type": "order.rejected", "timestamp": "2026-11-25T10:00:02+02:00"}),
        json.dumps({"timestamp": "2026-11-25T08:00:03Z", "event_type": "order.shipped"}),
        "[1, 2, 3]",
        "",
    ]
    path.write_text("\r\n".join(lines) + "\r\n")
    index = AuditIndex(path)
    assert index.index_all() == 5
    assert index.codes.tolist() == [
        EVENT_CODES["order.retried"],
        EVENT_CODES["order.rejected"],
        0,
        CODE_MALFORMED,
        CODE_MALFORMED,
    ]
    assert index.times[:3].tolist() == [
        b"2026-11-25T08:00:01",
        b"2026-11-25T08:00:02",
        b"2026-11-25T08:00:03",
    ]
    assert index.row(2).event_type == "order.shipped"


def test_growth_is_indexed_and_a_half_written_line_waits(
    trail: tuple[Path, list[str]],
) -> None:
    path, _ = trail
    index = AuditIndex(path)
    n = index.index_all()
    assert index.check() is FileChange.SAME
    whole = path.read_bytes().splitlines(keepends=True)[0]
    append_raw(path, whole[:50])
    assert index.check() is FileChange.GROWN
    assert list(index.update()) == []  # only half a line so far
    append_raw(path, whole[50:] + whole)
    assert list(index.update()) == [n, n + 1]
    assert index.row(n).text == whole.decode().rstrip("\n")
    assert index.check() is FileChange.SAME


def test_rotation_truncation_and_absence_are_seen(trail: tuple[Path, list[str]]) -> None:
    path, _ = trail
    index = AuditIndex(path)
    index.index_all()
    os.replace(path, path.with_name("tracker.events.1"))
    assert index.check() is FileChange.MISSING
    write_audit(path, 1, seed=5)
    assert index.check() is FileChange.REPLACED
    index.index_all()
    assert index.line_count == 1
    # Truncated in place, then rewritten past the old size: same inode, other first line.
    write_audit(path, 1, seed=6)
    index.index_all()
    with open(path, "r+b") as f:
        f.truncate(0)
    assert index.check() is FileChange.REPLACED
    write_audit(path, 4, seed=7)
    assert index.check() is FileChange.REPLACED
    # A row read from the wrong file is an error row, never another file's line.
    stale = AuditIndex(path)
    stale.index_all()
    os.replace(path, path.with_name("tracker.events.2"))
    write_audit(path, 4, seed=8)
    stale._cache.clear()
    assert stale.row(0).error.startswith("unreadable")


def test_order_id_comes_from_the_raw_message_when_the_order_did_not_parse() -> None:
    raw = '{"sequence":-1,"order_id":"abc-123","items":[]}'
    assert extract_order_id(raw) == "abc-123"
    assert extract_order_id(json.dumps(raw).encode()) == "abc-123"  # escaped, inside a line
    assert extract_order_id("no id here") == ""


def _old_line(i: int, payload: bytes, event: str = "order.validated") -> bytes:
    """A line as the tracker wrote them before the payload was written once: the escaped
    raw_message first, then the order_full object."""
    return (
        (
            f'{{"timestamp":"{stamp(i)}","event_type":"{event}","kafka_topic":"orders",'
            f'"kafka_partition":0,"kafka_offset":{i},'
            f'"raw_message":{json.dumps(payload.decode())},"message_size":{len(payload)},'
            f'"deserialized":true,"order_full":'
        ).encode()
        + payload
        + b"}\n"
    )


def test_files_written_before_the_payload_was_written_once_still_read(tmp_path: Path) -> None:
    gen = OrderGenerator(ProducerSettings(faulty_ratio=0.0), seed=3)
    payloads = [gen.next_event().value for _ in range(6)]
    old = tmp_path / "old.events"
    old.write_bytes(b"".join(_old_line(i, p) for i, p in enumerate(payloads)))
    new = tmp_path / "new.events"
    with ClockedWriter(new, max_bytes=1 << 40, backups=0) as writer:
        for i, p in enumerate(payloads):
            writer.now = stamp(i)
            writer.write(AuditEvent.ORDER_VALIDATED, "orders", 0, i, p, None, parse_order(p))
    assert new.stat().st_size < 0.65 * old.stat().st_size
    rows = {}
    for path in (old, new):
        index = AuditIndex(path)
        assert index.index_all() == len(payloads)
        assert [int(c) for c in index.codes] == [EVENT_CODES["order.validated"]] * 6
        assert [t.decode() for t in index.times] == [stamp(i)[:19] for i in range(6)]
        rows[path] = index.rows(list(range(6)))
        wanted = json.loads(payloads[4])["order_id"]
        assert index.matching(AuditFilter(order_id=wanted)).tolist() == [4]
        assert len(index.matching(AuditFilter(text='"status":"pending"'))) == sum(
            b'"status":"pending"' in p for p in payloads
        )
    for before, after, payload in zip(rows[old], rows[new], payloads, strict=True):
        for row in (before, after):
            assert row.raw_message == payload.decode()
            assert row.order_full == json.loads(payload)
            assert row.order_id == json.loads(payload)["order_id"]
            assert row.status and not row.malformed
        assert (before.timestamp, before.offset) == (after.timestamp, after.offset)


def test_a_line_without_raw_message_whose_order_is_not_last_still_has_its_text() -> None:
    line = b'{"timestamp":"2026-11-25T08:00:00Z","event_type":"order.validated",'
    line += b'"order_full":{"order_id":"x-1", "status":"paid"},"kafka_offset":3}'
    row = ai_rows.parse_line(0, line)
    assert (row.order_id, row.status, row.offset) == ("x-1", "paid", 3)
    assert json.loads(row.raw_message) == {"order_id": "x-1", "status": "paid"}
