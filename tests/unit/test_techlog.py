"""The technical log through `logging`: the entry shape, the rotating JSON file, the feed."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from orderdesk.domain import LogEntry, LogLevel
from orderdesk.service.base import Service
from orderdesk.service.logs import EntryHandler, JsonFormatter, RotatingJsonFile, feeding
from orderdesk.service.techlog import TechnicalLogWriter


class Named(Service[None]):
    name = "tracker"


def test_a_plain_logging_call_has_the_entry_shape() -> None:
    record = logging.LogRecord(
        "orderdesk.deadletters", logging.WARNING, "", 0, "%s lost", ("x",), None
    )
    record.__dict__.update(error="timed out", metadata={"partition": 2})
    data = json.loads(JsonFormatter().format(record))
    assert set(data) == {"timestamp", "level", "message", "service", "error", "metadata"}
    assert (data["level"], data["message"], data["service"]) == ("WARNING", "x lost", "deadletters")
    assert data["metadata"] == {"partition": 2}
    LogEntry.model_validate(data)


def test_an_exception_becomes_the_entrys_error() -> None:
    try:
        raise OSError("disk full")
    except OSError:
        record = logging.LogRecord("orderdesk", logging.ERROR, "", 0, "write", None, sys.exc_info())
    data = json.loads(JsonFormatter().format(record))
    assert data["error"] == "OSError: disk full"
    assert data["service"] == "orderdesk"


def test_service_log_feeds_its_own_handlers_and_its_area_logger() -> None:
    first: list[LogEntry] = []
    second: list[LogEntry] = []
    area: list[LogEntry] = []
    listener = EntryHandler(area.append)
    logger = logging.getLogger("orderdesk.tracker")
    logger.addHandler(listener)
    logger.setLevel(logging.INFO)
    try:
        a, b = Named(on_log=first.append), Named(on_log=second.append)
        entry = a.log(LogLevel.INFO, "started", partition=1)
        b.log(LogLevel.WARNING, "other")
    finally:
        logger.removeHandler(listener)
        logger.setLevel(logging.NOTSET)
    assert first == [entry] and entry.metadata == {"partition": 1}
    assert [e.message for e in second] == ["other"]  # no entries of another instance
    assert [e.message for e in area] == ["started", "other"]


def test_unconfigured_logging_prints_nothing_twice(capfd: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()
    try:
        Named().log(LogLevel.ERROR, "quiet")
    finally:
        root.handlers[:] = saved
    assert "quiet" not in capfd.readouterr().err


def test_technical_log_rotates_by_size(tmp_path: Path) -> None:
    path = tmp_path / "tracker.log"
    with TechnicalLogWriter(path, 400, 2) as log:
        for i in range(20):
            log.write(LogEntry(level=LogLevel.INFO, message=f"entry {i:02}", service="tracker"))
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["tracker.log", "tracker.log.1", "tracker.log.2"]
    for p in tmp_path.iterdir():
        assert p.stat().st_size <= 400
        for line in p.read_text().splitlines():
            LogEntry.model_validate_json(line)
    last = path.read_text().splitlines()[-1]
    assert json.loads(last)["message"] == "entry 19"


def test_no_backups_starts_the_file_afresh(tmp_path: Path) -> None:
    path = tmp_path / "tracker.log"
    with TechnicalLogWriter(path, 300, 0) as log:
        for i in range(20):
            log.write(LogEntry(level=LogLevel.INFO, message=f"entry {i:02}", service="tracker"))
    assert [p.name for p in tmp_path.iterdir()] == ["tracker.log"]
    assert path.stat().st_size <= 300


def test_a_half_written_last_line_is_ended(tmp_path: Path) -> None:
    path = tmp_path / "tracker.log"
    path.write_text('{"timestamp": "2026-')
    handler = RotatingJsonFile(path, 1 << 20, 1)
    handler.handle(logging.LogRecord("orderdesk.tracker", logging.INFO, "", 0, "next", None, None))
    handler.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["message"] == "next"


def test_feeding_passes_plain_records_once(capfd: pytest.CaptureFixture[str]) -> None:
    got: list[LogEntry] = []
    with feeding(got.append):
        logging.getLogger("orderdesk.kafka").warning("could not create topic %s", "t")
        logging.getLogger("orderdesk.kafka").info("below the level")
        Named(on_log=got.append).log(LogLevel.WARNING, "from the service")
    logging.getLogger("orderdesk.kafka").warning("after the block")
    assert [(e.service, e.message) for e in got] == [
        ("kafka", "could not create topic t"),
        ("tracker", "from the service"),
    ]
