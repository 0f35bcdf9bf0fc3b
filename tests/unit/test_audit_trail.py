"""Reading back what the audit trail holds: whole lines only, per partition, newest files."""

from __future__ import annotations

import json
from pathlib import Path

from orderdesk.audit.trail import DEAD_LETTERED, REJECTED, VALIDATED, history_start, read_back
from orderdesk.audit.writer import AuditWriter
from orderdesk.domain import AuditEvent, parse_order
from tests.unit.orders import order_dict


def _write(path: Path, lines: list[tuple[AuditEvent, int, int, bytes, str | None]]) -> None:
    writer = AuditWriter(path, 10_000_000, 5)
    for event, partition, offset, payload, error in lines:
        order = parse_order(payload) if event is AuditEvent.ORDER_VALIDATED else None
        writer.write(event, "orders", partition, offset, payload, error, order)
    writer.close()


def test_final_events_are_read_back_per_partition(tmp_path):
    path = tmp_path / "tracker.events"
    ok = json.dumps(order_dict()).encode()
    _write(
        path,
        [
            (AuditEvent.ORDER_VALIDATED, 0, 5, ok, None),
            (AuditEvent.ORDER_RETRIED, 0, 6, ok, "PROCESSING_ERROR: busy"),
            (AuditEvent.ORDER_REJECTED, 1, 3, b"{not json", "DESERIALIZATION_ERROR: bad"),
            (AuditEvent.ORDER_DEAD_LETTERED, 1, 3, b"{not json", None),
            (AuditEvent.ORDER_REJECTED, 1, 4, b"x", "VALIDATION_ERROR: no items"),
        ],
    )
    trails = read_back(path, "orders")
    assert trails[0].events == {5: VALIDATED}
    assert trails[0].lookup(5, len(ok)) == VALIDATED
    assert trails[0].lookup(5, len(ok) + 1) == 0, "another message at that offset"
    assert trails[1].events == {3: REJECTED | DEAD_LETTERED, 4: REJECTED}
    assert trails[1].errors[4] == "VALIDATION_ERROR: no items"
    assert read_back(path, "other") == {}


def test_a_line_cut_short_does_not_count(tmp_path):
    path = tmp_path / "tracker.events"
    ok = json.dumps(order_dict()).encode()
    _write(path, [(AuditEvent.ORDER_VALIDATED, 0, 1, ok, None)])
    whole = path.read_bytes()
    # A second line that a full disk cut after its head; the writer ends it on reopen.
    path.write_bytes(whole + whole.replace(b'"kafka_offset":1', b'"kafka_offset":2')[:300])
    AuditWriter(path, 10_000_000, 5).close()
    assert read_back(path, "orders")[0].events == {1: VALIDATED}


def test_rotated_files_are_read_too_and_tell_where_history_starts(tmp_path):
    path = tmp_path / "tracker.events"
    ok = json.dumps(order_dict()).encode()
    _write(path, [(AuditEvent.ORDER_VALIDATED, 0, 1, ok, None)])
    path.rename(tmp_path / "tracker.events.1")
    _write(path, [(AuditEvent.ORDER_VALIDATED, 0, 2, ok, None)])
    assert set(read_back(path, "orders")[0].events) == {1, 2}
    first = json.loads((tmp_path / "tracker.events.1").read_bytes())["timestamp"]
    start = history_start(path)
    assert start is not None and start.isoformat().startswith(first[:19])
