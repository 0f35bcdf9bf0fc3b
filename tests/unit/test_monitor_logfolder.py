"""Following a tracker's log folder: tail of tracker.log, counts of tracker.events."""

from __future__ import annotations

import json
import os

from orderdesk.domain import LogLevel
from orderdesk.monitor.logfolder import LineTail, LogFolder


def _event(kind: str, offset: int) -> bytes:
    # The writer's line shape, with an order whose own metadata names an event type too.
    order = {"metadata": {"event_type": "order.created"}}
    return (
        f'{{"timestamp":"2026-01-01T00:00:00.000Z","event_type":"{kind}",'
        f'"kafka_offset":{offset},"order_full":{json.dumps(order)}}}\n'
    ).encode()


def _log(message: str) -> bytes:
    entry = {"timestamp": "2026-01-01T00:00:00Z", "level": "INFO", "message": message}
    return json.dumps({**entry, "service": "tracker"}).encode() + b"\n"


def test_counts_and_log_tail_follow_growth_and_rotation(tmp_path):
    events, log = tmp_path / "tracker.events", tmp_path / "tracker.log"
    events.write_bytes(_event("order.validated", 0) + _event("order.rejected", 1))
    log.write_bytes(_log("tracker started"))
    folder = LogFolder(tmp_path)
    first = folder.poll()
    assert first.counts == {"order.validated": 1, "order.rejected": 1}
    assert [e.message for e in first.logs] == ["tracker started"]
    assert first.logs[0].level is LogLevel.INFO

    with events.open("ab") as f:
        f.write(_event("order.validated", 2) + b'{"timestamp":"2026-01-01')  # half a line
    second = folder.poll()
    assert second.counts["order.validated"] == 2 and second.events == 3
    assert second.logs == []
    with events.open("ab") as f:
        f.write(b'T00:00:00.000Z","event_type":"order.dead_lettered"}\n')
    assert folder.poll().counts["order.dead_lettered"] == 1

    # Rotation: the writer renames the file and starts a new one.
    os.replace(events, tmp_path / "tracker.events.1")
    events.write_bytes(_event("order.retried", 3))
    log.write_bytes(b"not json\n")
    after = folder.poll()
    assert after.counts["order.retried"] == 1 and after.events == 5
    assert [e.message for e in after.logs] == ["not json"]


def test_the_log_starts_near_its_end_on_a_whole_line(tmp_path):
    path = tmp_path / "tracker.log"
    path.write_bytes(b"".join(_log(f"line {i}") for i in range(1000)))
    tail = LineTail(path, start=-500)
    lines, more = tail.read()
    assert not more and 0 < len(lines) < 10
    assert all(json.loads(line)["message"].startswith("line ") for line in lines)
    assert json.loads(lines[-1])["message"] == "line 999"


def test_a_missing_folder_reports_nothing_yet(tmp_path):
    update = LogFolder(tmp_path / "absent").poll()
    assert update.logs == [] and update.counts == {}
    assert not update.log_exists and not update.events_exist


def test_a_large_trail_is_counted_in_steps(tmp_path):
    (tmp_path / "tracker.events").write_bytes(
        b"".join(_event("order.validated", i) for i in range(200))
    )
    folder = LogFolder(tmp_path)
    update = folder.poll(limit=4096)
    assert update.catching_up and 0 < update.events < 200
    while update.catching_up:
        update = folder.poll(limit=4096)
    assert update.counts == {"order.validated": 200}
