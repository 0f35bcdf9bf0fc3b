"""Following a tracker's log folder: the tail of `tracker.log`, counts of `tracker.events`.

The seed's way of monitoring a tracker, whoever runs it, as long as its folder can be
read (local, or shared). `LogFolder.poll()` returns what was added to the two files since
the call before: the technical log's new entries, and the audit trail's counts by event
type. A file that rotates (renamed to `.1`, a new one started) is followed into the new
file. Qt-free: the GUI calls `poll()` from a worker thread.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from orderdesk.audit.writer import TRACKER_EVENTS
from orderdesk.domain import LogEntry, LogLevel
from orderdesk.service.techlog import TRACKER_LOG

#: Bytes read from a file per poll: a large trail is counted over several polls.
READ_LIMIT = 32 * 1024 * 1024
#: The technical log is shown from this far before its end when following starts.
LOG_BACKLOG_BYTES = 64 * 1024

# Every audit line starts with its timestamp and event type (orderdesk/audit/format.py);
# anchored at the line's start, the order's own metadata.event_type never matches.
_EVENT_TYPE = re.compile(rb'^\{"timestamp":"[^"]*","event_type":"([^"]+)"', re.MULTILINE)


class LineTail:
    """The complete lines appended to a file since the last read, across rotation."""

    def __init__(self, path: Path, start: int = 0) -> None:
        self.path = path
        #: Where the next read starts; negative: this many bytes before the end.
        self._start = start
        self._pos: int | None = None
        self._inode: int | None = None
        self._partial = b""

    @property
    def position(self) -> int:
        return self._pos or 0

    def read(self, limit: int = READ_LIMIT) -> tuple[list[bytes], bool]:
        """New complete lines (without their newline), and whether more is waiting."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return [], False
        if self._pos is None or st.st_ino != self._inode or st.st_size < self._pos:
            # First read, or the file was rotated or truncated: start the new file.
            first = self._pos is None
            self._inode = st.st_ino
            self._partial = b""
            self._pos = max(0, st.st_size + self._start) if first and self._start < 0 else 0
            if first and self._start < 0 and self._pos > 0:
                self._skip_partial_line()
        if st.st_size == self._pos:
            return [], False
        with open(self.path, "rb") as f:
            f.seek(self._pos)
            data = f.read(limit)
        self._pos += len(data)
        data = self._partial + data
        cut = data.rfind(b"\n") + 1
        self._partial = data[cut:]
        lines = data[:cut].splitlines()
        return [line for line in lines if line.strip()], self._pos < st.st_size

    def _skip_partial_line(self) -> None:
        """Start after the next newline: the bytes before it are the end of a cut line."""
        with open(self.path, "rb") as f:
            assert self._pos is not None
            f.seek(self._pos - 1)
            chunk = f.read(LOG_BACKLOG_BYTES)
        newline = chunk.find(b"\n")
        self._pos += newline if newline >= 0 else len(chunk) - 1


def parse_log_line(line: bytes) -> LogEntry:
    """A technical log line as a `LogEntry`; a line that is not one is shown as it is."""
    try:
        return LogEntry.model_validate(json.loads(line))
    except (ValueError, ValidationError, TypeError):
        return LogEntry(
            level=LogLevel.INFO,
            message=line.decode("utf-8", "replace"),
            service="tracker.log",
        )


@dataclass
class FolderUpdate:
    """What a poll found: new log entries, event counts so far, whether more waits."""

    logs: list[LogEntry] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    #: Audit lines counted so far.
    events: int = 0
    #: The audit trail is not read to its end yet (a large file is counted in steps).
    catching_up: bool = False
    log_exists: bool = False
    events_exist: bool = False


class LogFolder:
    """A tracker's folder: the tail of its technical log, counts of its audit trail."""

    def __init__(self, folder: Path, log_backlog: int = LOG_BACKLOG_BYTES) -> None:
        self.folder = folder
        self.log = LineTail(folder / TRACKER_LOG, start=-log_backlog)
        self.events = LineTail(folder / TRACKER_EVENTS)
        self.counts: Counter[str] = Counter()
        self.total = 0

    def poll(self, limit: int = READ_LIMIT) -> FolderUpdate:
        log_lines, _ = self.log.read(limit)
        event_lines, more = self.events.read(limit)
        if event_lines:
            # One regex pass over the batch: no JSON parse per audit line.
            found = _EVENT_TYPE.findall(b"\n".join(event_lines))
            self.counts.update(name.decode("ascii", "replace") for name in found)
            self.total += len(found)
        return FolderUpdate(
            logs=[parse_log_line(line) for line in log_lines],
            counts=dict(self.counts),
            events=self.total,
            catching_up=more,
            log_exists=self.log.path.exists(),
            events_exist=self.events.path.exists(),
        )
