"""The technical log through the standard `logging` module.

Each area logs under a logger of its own (`orderdesk.tracker`, `orderdesk.producer`,
`orderdesk.deadletters`, `orderdesk.kafka`, ...). A record made from a `LogEntry` carries it
as `record.entry`; any other record becomes one (`entry_of`), so every handler here sees
the technical log's one shape: `timestamp, level, message, service, error, metadata`.

* `JsonFormatter` writes that shape as one JSON object a line (`tracker.log`).
* `RotatingJsonFile` is a `RotatingFileHandler` with that formatter.
* `EntryHandler` hands each entry to a callback: the GUI's feed, the headless printer.
* `plain_handler` hands what the other areas log (`orderdesk.kafka`, `orderdesk.deadletters`,
  ...) to such a callback too: the desktop app's live log for as long as its window is
  open, the headless printer for as long as a run lasts (`feeding`).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path

from orderdesk.domain import LogEntry, LogLevel

#: Logger names start with this; the rest names the area (`service` of an entry).
ROOT_LOGGER = "orderdesk"

_LEVELS = {level: logging.getLevelNamesMapping()[level.value] for level in LogLevel}


def python_level(level: LogLevel) -> int:
    return _LEVELS[level]


def entry_level(levelno: int) -> LogLevel:
    """The technical log's level for a `logging` level (custom levels round down)."""
    found = LogLevel.DEBUG
    for level, number in _LEVELS.items():
        if number <= levelno:
            found = level
    return found


def entry_record(logger_name: str, entry: LogEntry) -> logging.LogRecord:
    """A `logging` record that carries `entry` (its time is the entry's)."""
    record = logging.LogRecord(
        logger_name, python_level(entry.level), "", 0, entry.message, None, None
    )
    record.created = entry.timestamp.timestamp()
    record.__dict__["entry"] = entry
    return record


def entry_of(record: logging.LogRecord) -> LogEntry:
    """The entry a record carries, or one made from a plain `logging` call.

    A plain call may pass `extra={"error": ..., "metadata": {...}}`; an exception logged
    with `exc_info` becomes the entry's error, as its last line.
    """
    entry = getattr(record, "entry", None)
    if isinstance(entry, LogEntry):
        return entry
    error = getattr(record, "error", None)
    if error is None and record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        error = f"{type(exc).__name__}: {exc}"
    metadata = getattr(record, "metadata", None)
    name = record.name
    service = name.removeprefix(ROOT_LOGGER + ".") if name != ROOT_LOGGER else name
    return LogEntry(
        timestamp=datetime.fromtimestamp(record.created, UTC),
        level=entry_level(record.levelno),
        message=record.getMessage(),
        service=service,
        error=None if error is None else str(error),
        metadata=dict(metadata) if isinstance(metadata, dict) else None,
    )


class JsonFormatter(logging.Formatter):
    """One `LogEntry` as one line of JSON (no newline; the handler adds it)."""

    def format(self, record: logging.LogRecord) -> str:
        return entry_of(record).model_dump_json(exclude_none=True)


class EntryHandler(logging.Handler):
    """Hands each record, as a `LogEntry`, to `callback` on the logging thread.

    Errors in the callback propagate to the caller, as a direct call would.
    """

    def __init__(self, callback: Callable[[LogEntry], None], level: int = logging.NOTSET):
        super().__init__(level)
        self.callback = callback

    def emit(self, record: logging.LogRecord) -> None:
        self.callback(entry_of(record))


class RotatingJsonFile(RotatingFileHandler):
    """A JSON Lines file of entries, rotated by size to `<name>.1` ... `<name>.<backups>`.

    With `backups=0` the file starts afresh instead of growing without bound. A line left
    half written by a killed process is ended first, so that only it is unreadable.
    """

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        _end_partial_line(path)
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self.setFormatter(JsonFormatter())

    def doRollover(self) -> None:
        if self.backupCount > 0:
            super().doRollover()
            return
        if self.stream:
            self.stream.close()
        self.stream = open(self.baseFilename, "w", encoding=self.encoding)  # noqa: SIM115


def _end_partial_line(path: Path) -> None:
    try:
        with open(path, "rb+") as f:
            if f.seek(0, os.SEEK_END) == 0:
                return
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                f.write(b"\n")
    except FileNotFoundError:
        return


def _plain(record: logging.LogRecord) -> bool:
    # A service's own entries reach the callback through the service (`on_log`).
    return "entry" not in record.__dict__


def plain_handler(
    callback: Callable[[LogEntry], None], level: int = logging.WARNING
) -> EntryHandler:
    """A handler for OrderDesk's root logger: plain `logging` records at `level` and above
    go to `callback` as entries; a service's own entries do not come twice."""
    handler = EntryHandler(callback, level)
    handler.addFilter(_plain)
    return handler


@contextlib.contextmanager
def feeding(
    callback: Callable[[LogEntry], None], level: int = logging.WARNING
) -> Iterator[EntryHandler]:
    """While the block runs, plain `logging` records of OrderDesk at `level` and above go to
    `callback` as entries (`plain_handler`)."""
    handler = plain_handler(callback, level)
    logger = logging.getLogger(ROOT_LOGGER)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
