"""An index of the audit trail (`tracker.events`) that scales to millions of lines.

The browser never parses the whole file. One pass over the raw bytes, vectorised with numpy,
records for every line its start offset, a one-byte event-type code and its timestamp to the
second; rows are parsed only when shown (and kept in a small LRU cache). Filters work on the
same arrays or on the raw bytes: event type and time range are array comparisons, free text
and order id are substring searches over a memory map of the file whose match positions are
mapped to line numbers with `numpy.searchsorted`.

The fast path relies on the tracker's own line shape (pydantic's compact JSON of
`AuditEntry`: `{"timestamp":"...Z","event_type":"...",...`); any other line (other key
order, spaces, non-UTC offsets, broken JSON) is parsed on its own, so it is slower but still
right, and a line that is not JSON at all is kept and marked malformed.

Text and order id searches match bytes exactly (case-sensitive); a needle is also searched in
its JSON-escaped forms, so `"status":"paid"` finds the escaped raw message as well.

No file handle outlives a scan, a filter or a row read: on Windows an open handle would stop
the tracker from rotating its file. Each access reopens the file and checks that it is still
the one indexed.

Qt-free on purpose: the GUI wraps it (orderdesk.gui.audit.model), the bench and the tests
drive it directly.
"""

from __future__ import annotations

import functools
import json
import mmap
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from orderdesk.domain.records import AuditEvent

#: Event-type codes stored per line; 0 is a JSON line with another (or no) event type.
CODE_OTHER = 0
CODE_MALFORMED = 255
EVENT_CODES: dict[str, int] = {event.value: i + 1 for i, event in enumerate(AuditEvent)}
EVENT_NAMES: dict[int, str] = {code: name for name, code in EVENT_CODES.items()}
#: Pseudo event type for filters: lines that are not a JSON object.
MALFORMED = "(malformed)"

#: Seconds precision, UTC, ISO 8601 without zone: compares correctly as bytes.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
_TS_LEN = 19

_PREFIX = b'{"timestamp":"'
_EVENT_KEY = b',"event_type":"'
_TS_WINDOW = 40  # longest timestamp pydantic writes (with microseconds and Z) is 27 bytes
_VALUE_WINDOW = 24  # three 64-bit words: the longest value and its quote fit


@functools.lru_cache(maxsize=32)
def _words(text: bytes) -> tuple[list[np.uint64], list[np.uint64]]:
    size = -(-len(text) // 8) * 8
    padded = np.frombuffer(text.ljust(size, b"\0"), np.uint64)
    mask = np.frombuffer((b"\xff" * len(text)).ljust(size, b"\0"), np.uint64)
    return list(padded), list(mask)


def _starts_with(block: np.ndarray, text: bytes) -> np.ndarray:
    """Rows of a (rows, width) uint8 array that begin with `text`.

    Compared eight bytes at a time as masked 64-bit words: several times faster than
    comparing bytes and reducing along the short axis. `width` must cover whole words.
    """
    patterns, masks = _words(text)
    words = np.ascontiguousarray(block[:, : 8 * len(patterns)]).view(np.uint64)
    ok = (words[:, 0] & masks[0]) == patterns[0]
    for j in range(1, len(patterns)):
        ok &= (words[:, j] & masks[j]) == patterns[j]
    return ok


_HEAD_WINDOW = len(_PREFIX) + _TS_WINDOW + len(_EVENT_KEY) + _VALUE_WINDOW
_CHUNK_BYTES = 8 * 1024 * 1024

_ORDER_ID = re.compile(rb'order_id\\?"\s*:\s*\\?"([^"\\]*)')


def _to_utc_key(value: Any) -> bytes:
    """The fixed-width byte key of a timestamp as written in a line (b'' if unreadable)."""
    if not isinstance(value, str):
        return b""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return b""
    return time_key(when)


def time_key(when: datetime) -> bytes:
    """Key comparable with the index's per-line timestamps; naive datetimes are UTC."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime(TIME_FORMAT).encode("ascii")


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """What makes a file the same file: device and inode, and its first bytes."""

    device: int
    inode: int
    head: bytes

    @classmethod
    def of(cls, f: Any, head_len: int = 256) -> FileIdentity:
        st = os.fstat(f.fileno())
        f.seek(0)
        return cls(st.st_dev, st.st_ino, f.read(head_len))

    def same_file(self, other: FileIdentity) -> bool:
        if (self.device, self.inode) != (other.device, other.inode):
            return False
        # A file truncated and rewritten keeps its inode but not its first line.
        n = min(len(self.head), len(other.head))
        return self.head[:n] == other.head[:n]


@dataclass(slots=True)
class ScannedChunk:
    """The lines found in one block of the file: the unit handed from indexer to index."""

    identity: FileIdentity
    start: int  # file offset of the block
    end: int  # file offset just past the last complete line
    starts: np.ndarray  # int64 file offsets of line starts
    codes: np.ndarray  # uint8 event-type codes
    times: np.ndarray  # S19 UTC timestamps (b'' when unknown)


def scan_range(
    data: bytes | mmap.mmap, arr: np.ndarray, lo: int, hi: int, identity: FileIdentity
) -> ScannedChunk:
    """Index the complete lines that start in data[lo:hi] (arr is data as uint8).

    A line that starts before `hi` but ends after it is included when it ends before the
    end of `data`; a last line without its newline is not (it may be half written).
    """
    # memchr through the buffer: much faster here than numpy's compare + flatnonzero.
    ends: list[int] = []
    find = data.find
    pos = find(b"\n", lo, hi)
    while pos != -1:
        ends.append(pos)
        pos = find(b"\n", pos + 1, hi)
    tail = find(b"\n", ends[-1] + 1 if ends else lo)
    if tail != -1 and tail >= hi:
        ends.append(tail)
    n = len(ends)
    if n == 0:
        return ScannedChunk(
            identity,
            lo,
            lo,
            np.empty(0, np.int64),
            np.empty(0, np.uint8),
            np.empty(0, f"S{_TS_LEN}"),
        )
    newlines = np.array(ends, np.int64)
    starts = np.empty(n, np.int64)
    starts[0] = lo
    starts[1:] = newlines[:-1] + 1
    # One fixed-width window per line start, copied row by row from a strided view of the
    # buffer: cheap, and every field the fast path needs lies in it.
    width = _HEAD_WINDOW
    limit = len(arr) - width
    if limit < 0:
        arr = np.concatenate([arr, np.zeros(-limit, np.uint8)])
        limit = 0
    head = as_strided(arr, shape=(limit + 1, width), strides=(1, 1))[np.minimum(starts, limit)]
    rows = np.arange(n)
    ok = starts <= limit
    ok &= _starts_with(head, _PREFIX)
    stamp = head[:, len(_PREFIX) : len(_PREFIX) + _TS_WINDOW]
    quote = stamp == ord('"')
    q = quote.argmax(axis=1)
    ok &= quote[rows, q] & (q >= _TS_LEN)
    ok &= stamp[rows, np.maximum(q - 1, 0)] == ord("Z")
    key_at = len(_PREFIX) + q + 1  # column in head
    # Timestamps come in a couple of lengths (with or without microseconds): one plain
    # slice per length is far cheaper than a per-row gather.
    span = len(_EVENT_KEY) + _VALUE_WINDOW
    rest = np.empty((n, span), np.uint8)
    for at in np.unique(key_at).tolist():
        sel = key_at == at
        rest[sel] = head[sel, at : at + span]
    ok &= _starts_with(rest, _EVENT_KEY)
    # The value must also lie inside the line (a cut-off line is not a fast-path hit).
    ok &= starts + key_at + len(_EVENT_KEY) + _VALUE_WINDOW <= newlines + 1
    values = rest[:, len(_EVENT_KEY) :]
    codes = np.zeros(n, np.uint8)
    for name, code in EVENT_CODES.items():
        codes[_starts_with(values, name.encode() + b'"')] = code
    times = np.ascontiguousarray(stamp[:, :_TS_LEN]).view(f"S{_TS_LEN}").ravel().copy()
    times[~ok] = b""
    codes[~ok] = CODE_OTHER

    for i in np.flatnonzero(~ok).tolist():
        codes[i], times[i] = _classify_slow(data[int(starts[i]) : int(newlines[i])])

    return ScannedChunk(identity, lo, int(newlines[-1]) + 1, starts, codes, times)


def _classify_slow(line: bytes) -> tuple[int, bytes]:
    try:
        obj = json.loads(line)
    except ValueError:
        return CODE_MALFORMED, b""
    if not isinstance(obj, dict):
        return CODE_MALFORMED, b""
    code = EVENT_CODES.get(obj.get("event_type"), CODE_OTHER)  # type: ignore[arg-type]
    return code, _to_utc_key(obj.get("timestamp"))


def scan_file(
    path: Path,
    start: int = 0,
    identity: FileIdentity | None = None,
    chunk_bytes: int = _CHUNK_BYTES,
    stop: threading.Event | None = None,
    first_chunk_bytes: int | None = None,
) -> Iterator[ScannedChunk]:
    """Scan `path` from `start` in blocks, yielding the complete lines of each block.

    The file is memory-mapped for the scan (no copy of its bytes) and unmapped at the end.
    Stops early (without error) when `stop` is set or when the file is no longer the one
    `identity` names; the caller's next check of the file then sees the change.
    """
    with open(path, "rb") as f:
        current = FileIdentity.of(f)
        if identity is not None and not identity.same_file(current):
            return
        identity = identity or current
        size = os.fstat(f.fileno()).st_size
        if size <= start:
            return
        # Not MAP_POPULATE: mapping every page up front saves a little in all but holds
        # the GIL for the whole file at once, which froze the window for half a second.
        with mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) as mm:
            arr = np.frombuffer(mm, np.uint8)
            try:
                pos = start
                step = first_chunk_bytes or chunk_bytes  # a small first block shows rows soon
                while pos < size and (stop is None or not stop.is_set()):
                    chunk = scan_range(mm, arr, pos, min(pos + step, size), identity)
                    step = chunk_bytes
                    if chunk.end == pos:
                        return  # only an unfinished last line is left
                    pos = chunk.end
                    yield chunk
            finally:
                del arr  # the map cannot close while a numpy view exports it


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


@dataclass(frozen=True)
class AuditFilter:
    """What the user asked to see; empty fields match everything. All fields must match."""

    text: str = ""
    order_id: str = ""
    #: event_type values (and possibly MALFORMED); None means every type.
    event_types: frozenset[str] | set[str] | None = None
    since: datetime | None = None
    until: datetime | None = None

    def is_empty(self) -> bool:
        return (
            not self.text
            and not self.order_id.strip()
            and self.event_types is None
            and self.since is None
            and self.until is None
        )


@dataclass(slots=True)
class AuditRow:
    """One parsed line, as the table and the detail pane show it."""

    line: int
    timestamp: str = ""
    event_type: str = ""
    order_id: str = ""
    partition: int | None = None
    offset: int | None = None
    status: str = ""
    error: str = ""
    raw_message: str = ""
    order_full: Any = None
    malformed: bool = False
    text: str = ""  # the line itself
    record: dict[str, Any] = field(default_factory=dict)


def extract_order_id(raw: bytes | str) -> str:
    """The order id in an order's raw JSON (escaped or not), without parsing it."""
    data = raw.encode("utf-8", "backslashreplace") if isinstance(raw, str) else raw
    match = _ORDER_ID.search(data)
    return match.group(1).decode("utf-8", "replace") if match else ""


def parse_line(line_no: int, data: bytes) -> AuditRow:
    """Turn one line into a row; never raises: a broken line becomes a malformed row."""
    text = data.decode("utf-8", "backslashreplace").rstrip("\r\n")
    try:
        record = json.loads(text)
    except ValueError as exc:
        return AuditRow(
            line_no,
            event_type=MALFORMED,
            error=f"not JSON: {exc}",
            malformed=True,
            text=text,
            order_id=extract_order_id(data),
        )
    if not isinstance(record, dict):
        return AuditRow(
            line_no, event_type=MALFORMED, error="not a JSON object", malformed=True, text=text
        )
    raw = record.get("raw_message")
    raw = raw if isinstance(raw, str) else ("" if raw is None else json.dumps(raw))
    full = record.get("order_full")
    order_id = ""
    status = ""
    if isinstance(full, dict):
        order_id = str(full.get("order_id") or "")
        status = str(full.get("status") or "")
    if not order_id and raw:
        order_id = extract_order_id(raw)
    partition = record.get("kafka_partition")
    offset = record.get("kafka_offset")
    return AuditRow(
        line_no,
        timestamp=str(record.get("timestamp") or ""),
        event_type=str(record.get("event_type") or ""),
        order_id=order_id,
        partition=partition if isinstance(partition, int) else None,
        offset=offset if isinstance(offset, int) else None,
        status=status,
        error=str(record.get("error") or ""),
        raw_message=raw,
        order_full=full,
        text=text,
        record=record,
    )


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
                return done.value  # type: ignore[no-any-return]

    def iter_matching(
        self, flt: AuditFilter, first: int = 0, last: int | None = None
    ) -> Generator[float, None, np.ndarray]:
        """`matching` in small steps: yields its progress (0..1) every few milliseconds.

        The GUI drives it from its event loop and drops it (`close()`) when the filter
        changes, so a search through gigabytes never freezes the window. The arrays it reads
        are snapshots: lines appended meanwhile are not seen (the caller asks for them next).
        """
        last = self.line_count if last is None else min(last, self.line_count)
        if first >= last:
            return np.empty(0, np.int64)
        starts = self._starts.array
        end_offset = int(starts[last]) if last < len(starts) else self.indexed_size
        mask: np.ndarray | None = None
        if flt.event_types is not None:
            wanted = [EVENT_CODES[t] for t in flt.event_types if t in EVENT_CODES]
            if MALFORMED in flt.event_types:
                wanted.append(CODE_MALFORMED)
            mask = np.isin(self.codes[first:last], np.array(wanted, np.uint8))
        if flt.since is not None or flt.until is not None:
            times = self.times[first:last]
            tmask = times != b""
            if flt.since is not None:
                tmask &= times >= np.bytes_(time_key(flt.since))
            if flt.until is not None:
                tmask &= times <= np.bytes_(time_key(flt.until))
            mask = tmask if mask is None else mask & tmask
        lines = (
            np.arange(first, last, dtype=np.int64)
            if mask is None
            else np.flatnonzero(mask).astype(np.int64) + first
        )
        needles = []
        order_id = flt.order_id.strip()
        if order_id:
            needles.append(order_id)
        if flt.text:
            needles.append(flt.text)
        if not needles or not len(lines):
            return lines
        size = self.file_size() or 0
        if size < end_offset:
            return np.empty(0, np.int64)  # truncated under us: the next check reindexes
        every = mask is None
        with open(self.path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            for needle in needles:
                variants = _needle_variants(needle)
                # Checking line by line costs per line, scanning costs per byte of the file.
                if not every and len(lines) < max(50_000, (last - first) // 3):
                    lines = yield from _check_lines(mm, starts, end_offset, lines, variants)
                else:
                    found = []
                    for v in variants:
                        hits = yield from _search(mm, starts, v, first, last, end_offset)
                        found.append(hits)
                    hit_lines = np.unique(np.concatenate(found))
                    lines = hit_lines if every else np.intersect1d(lines, hit_lines, True)
                every = False
                if not len(lines):
                    return lines
            if order_id and len(lines) <= 200_000:
                lines = yield from _keep_order_id(mm, starts, end_offset, lines, order_id)
        return lines


_SLICE = 8 * 1024 * 1024  # bytes searched between two yields (a few ms)
_LINES_PER_STEP = 20_000


def _search(
    mm: mmap.mmap, starts: np.ndarray, needle: bytes, first: int, last: int, end: int
) -> Generator[float, None, np.ndarray]:
    """Lines in [first, last) whose bytes contain needle: one scan of the mapped file."""
    lo = int(starts[first])
    hi = int(starts[last]) if last < len(starts) else end
    hits: list[int] = []
    find = mm.find
    pos = lo
    span = max(1, hi - lo)
    while pos < hi:
        stop = min(hi, pos + _SLICE)
        # Searching past the slice end by len(needle) - 1 catches a needle across it.
        at = find(needle, pos, min(hi, stop + len(needle) - 1))
        while at != -1:
            hits.append(at)
            nl = find(b"\n", at + len(needle), hi)
            pos = hi if nl == -1 else nl + 1
            if pos >= stop:
                break
            at = find(needle, pos, min(hi, stop + len(needle) - 1))
        else:
            pos = stop
        yield (pos - lo) / span
    if not hits:
        return np.empty(0, np.int64)
    return np.searchsorted(starts[: last + 1], np.array(hits, np.int64), side="right") - 1


def _line_spans(starts: np.ndarray, end: int, lines: np.ndarray) -> tuple[list[int], list[int]]:
    begins = starts[lines]
    nxt = lines + 1
    ends = np.where(nxt < len(starts), starts[np.minimum(nxt, len(starts) - 1)], end)
    return begins.tolist(), ends.tolist()


def _check_lines(
    mm: mmap.mmap, starts: np.ndarray, end: int, lines: np.ndarray, needles: list[bytes]
) -> Generator[float, None, np.ndarray]:
    keep = np.zeros(len(lines), bool)
    find = mm.find
    begins, ends = _line_spans(starts, end, lines)
    for k, (b, e) in enumerate(zip(begins, ends, strict=True)):
        for n in needles:
            if find(n, b, e) != -1:
                keep[k] = True
                break
        if k % _LINES_PER_STEP == 0:
            yield k / len(lines)
    return lines[keep]


def _keep_order_id(
    mm: mmap.mmap, starts: np.ndarray, end: int, lines: np.ndarray, needle: str
) -> Generator[float, None, np.ndarray]:
    """Drop lines where the id occurs elsewhere than in the order id field."""
    keep = np.zeros(len(lines), bool)
    begins, ends = _line_spans(starts, end, lines)
    for k, (b, e) in enumerate(zip(begins, ends, strict=True)):
        keep[k] = needle in extract_order_id(mm[b:e])
        if k % _LINES_PER_STEP == 0:
            yield k / len(lines)
    return lines[keep]


def _needle_variants(text: str) -> list[bytes]:
    """The needle as typed, and as it reads inside JSON strings (once and twice escaped)."""
    plain = text.encode("utf-8")
    once = json.dumps(text, ensure_ascii=False)[1:-1]
    twice = json.dumps(once, ensure_ascii=False)[1:-1]
    return list(dict.fromkeys([plain, once.encode("utf-8"), twice.encode("utf-8")]))


class FileChangedError(OSError):
    """The file on disk is no longer the one indexed (rotated or rewritten)."""
