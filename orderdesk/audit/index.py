"""An index of the audit trail (`tracker.events`) that scales to millions of lines.

The browser never parses the whole file. One pass over the raw bytes (`scanning`),
vectorised with numpy, records for every line its start offset, a one-byte event-type code
and its timestamp to the second; rows are parsed only when shown (`rows`, kept in a small
LRU cache). Filters (`search`) work on the same arrays or on the raw bytes.

No file handle outlives a scan, a filter or a row read: on Windows an open handle would stop
the tracker from rotating its file. Each access reopens the file and checks that it is still
the one indexed.

Qt-free on purpose: the GUI wraps it (orderdesk.gui.audit.model), the bench and the tests
drive it directly.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Generator, Iterable
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from orderdesk.audit import search
from orderdesk.audit.format import (
    CODE_MALFORMED,
    CODE_OTHER,
    EVENT_CODES,
    EVENT_NAMES,
    MALFORMED,
    TIME_FORMAT,
    TIME_KEY_LEN,
    time_key,
)
from orderdesk.audit.rows import AuditRow, extract_order_id, parse_line
from orderdesk.audit.scanning import FileIdentity, ScannedChunk, scan_file, scan_range
from orderdesk.audit.search import AuditFilter

__all__ = [
    "CODE_MALFORMED",
    "CODE_OTHER",
    "EVENT_CODES",
    "EVENT_NAMES",
    "MALFORMED",
    "TIME_FORMAT",
    "AuditFilter",
    "AuditIndex",
    "AuditRow",
    "FileChange",
    "FileChangedError",
    "FileIdentity",
    "ScannedChunk",
    "extract_order_id",
    "parse_line",
    "scan_file",
    "scan_range",
    "time_key",
]

_TS_LEN = TIME_KEY_LEN


class _Growable:
    """A numpy array that grows by doubling, so appends stay amortised O(1)."""

    def __init__(self, dtype: Any) -> None:
        self._data = np.empty(1024, dtype)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        need = self.size + len(values)
        if need > len(self._data):
            grown = np.empty(max(need, 2 * len(self._data)), self._data.dtype)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : need] = values
        self.size = need

    @property
    def array(self) -> np.ndarray:
        return self._data[: self.size]


class FileChange(Enum):
    """What `AuditIndex.check` found on disk."""

    SAME = "same"
    GROWN = "grown"  # more bytes after the indexed part
    REPLACED = "replaced"  # rotated, truncated or rewritten: index again from scratch
    MISSING = "missing"  # gone for now (between a rotation's rename and the new file)


class AuditIndex:
    """Line offsets, event-type codes and timestamps of one audit file, plus a row cache.

    Not thread-safe: one owner (the GUI thread) calls it; a scanner in another thread only
    produces `ScannedChunk`s that the owner `append`s.
    """

    def __init__(self, path: Path | str, cache_rows: int = 2048) -> None:
        self.path = Path(path)
        self._cache_rows = cache_rows
        self.reset()

    # -- state --------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything indexed (the file was replaced, or another one is opened)."""
        self._starts = _Growable(np.int64)
        self._codes = _Growable(np.uint8)
        self._times = _Growable(f"S{_TS_LEN}")
        self.indexed_size = 0
        self.identity: FileIdentity | None = None
        self._cache: OrderedDict[int, AuditRow] = OrderedDict()

    @property
    def line_count(self) -> int:
        return self._starts.size

    @property
    def codes(self) -> np.ndarray:
        return self._codes.array

    @property
    def times(self) -> np.ndarray:
        return self._times.array

    def file_size(self) -> int | None:
        try:
            return self.path.stat().st_size
        except OSError:
            return None

    def pending_bytes(self) -> int:
        size = self.file_size()
        return 0 if size is None else max(0, size - self.indexed_size)

    def check(self) -> FileChange:
        """Compare the file on disk with what is indexed (cheap: a stat and a small read)."""
        try:
            with open(self.path, "rb") as f:
                current = FileIdentity.of(f)
                size = os.fstat(f.fileno()).st_size
                last = b"\n"
                if 0 < self.indexed_size <= size:
                    f.seek(self.indexed_size - 1)
                    last = f.read(1)
        except OSError:
            return FileChange.MISSING
        if self.identity is None:
            return FileChange.GROWN if size > 0 else FileChange.SAME
        # Rewritten in place shows as another first line, or no line end where one was.
        if not self.identity.same_file(current) or size < self.indexed_size or last != b"\n":
            return FileChange.REPLACED
        return FileChange.GROWN if size > self.indexed_size else FileChange.SAME

    # -- indexing -----------------------------------------------------------------------

    def append(self, chunk: ScannedChunk) -> range:
        """Add a scanned block; returns the new line numbers (empty if it does not fit)."""
        if chunk.start != self.indexed_size:
            return range(0)
        if self.identity is None:
            self.identity = chunk.identity
        elif not self.identity.same_file(chunk.identity):
            return range(0)
        first = self.line_count
        self._starts.extend(chunk.starts)
        self._codes.extend(chunk.codes)
        self._times.extend(chunk.times)
        self.indexed_size = chunk.end
        return range(first, self.line_count)

    def update(self, stop: threading.Event | None = None) -> range:
        """Index whatever complete lines were added since the last call (in this thread)."""
        first = self.line_count
        for chunk in scan_file(self.path, self.indexed_size, self.identity, stop=stop):
            self.append(chunk)
        return range(first, self.line_count)

    def index_all(self) -> int:
        """Index the whole file from scratch; returns the line count."""
        self.reset()
        self.update()
        return self.line_count

    # -- rows ---------------------------------------------------------------------------

    def _span(self, line: int) -> tuple[int, int]:
        starts = self._starts.array
        begin = int(starts[line])
        end = int(starts[line + 1]) if line + 1 < len(starts) else self.indexed_size
        return begin, end

    def read_lines(self, lines: Iterable[int]) -> dict[int, bytes]:
        """Raw bytes of some lines (newline stripped), read with one open of the file."""
        out: dict[int, bytes] = {}
        with open(self.path, "rb") as f:
            if self.identity is not None and not self.identity.same_file(FileIdentity.of(f)):
                raise FileChangedError(f"{self.path} was replaced since it was indexed")
            for line in lines:
                begin, end = self._span(line)
                f.seek(begin)
                out[line] = f.read(end - begin).rstrip(b"\r\n")
        return out

    def is_cached(self, line: int) -> bool:
        return line in self._cache

    def row(self, line: int) -> AuditRow:
        """The parsed row of a line, from the LRU cache when it was shown recently."""
        cached = self._cache.get(line)
        if cached is not None:
            self._cache.move_to_end(line)
            return cached
        return self.rows([line])[0]

    def rows(self, lines: list[int]) -> list[AuditRow]:
        """Parsed rows of several lines (one file open for all the missing ones)."""
        missing = [i for i in lines if i not in self._cache]
        if missing:
            try:
                raw = self.read_lines(missing)
            except (OSError, FileChangedError) as exc:
                # Not cached: the next check of the file reindexes, then it reads again.
                gone = {i: AuditRow(i, event_type="", error=f"unreadable: {exc}") for i in missing}
                return [self._cache.get(i) or gone[i] for i in lines]
            for i, data in raw.items():
                self._cache[i] = parse_line(i, data)
            while len(self._cache) > self._cache_rows:
                self._cache.popitem(last=False)
        return [self._cache[i] for i in lines]

    # -- filtering ----------------------------------------------------------------------

    def matching(self, flt: AuditFilter, first: int = 0, last: int | None = None) -> np.ndarray:
        """Line numbers in [first, last) that pass the filter, ascending (int64)."""
        steps = self.iter_matching(flt, first, last)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                return done.value

    def iter_matching(
        self, flt: AuditFilter, first: int = 0, last: int | None = None
    ) -> Generator[float, None, np.ndarray]:
        """`matching` in small steps: yields its progress (0..1) every few milliseconds.

        The GUI drives it from its event loop and drops it (`close()`) when the filter
        changes, so a search through gigabytes never freezes the window. The arrays it reads
        are snapshots: lines appended meanwhile are not seen (the caller asks for them next).
        """
        last = self.line_count if last is None else min(last, self.line_count)
        return search.iter_matching(
            self.path,
            self._starts.array,
            self.codes,
            self.times,
            self.indexed_size,
            flt,
            first,
            last,
        )


class FileChangedError(OSError):
    """The file on disk is no longer the one indexed (rotated or rewritten)."""
