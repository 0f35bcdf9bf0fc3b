"""One pass over the raw bytes of an audit file: line starts, event codes, timestamps.

Vectorised with numpy: every line's first bytes are copied into a fixed-width window and
compared eight bytes at a time with the line prefix the writer uses (`format.LINE_PREFIX`,
`format.EVENT_KEY`); only lines of another shape (other key order, spaces, non-UTC
offsets, broken JSON) are parsed one by one, so they are slower but still right, and a line
that is not JSON at all is kept and marked malformed.
"""

from __future__ import annotations

import functools
import json
import mmap
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from orderdesk.audit.format import (
    CODE_MALFORMED,
    CODE_OTHER,
    EVENT_CODES,
    TIME_KEY_LEN,
    to_utc_key,
)
from orderdesk.audit.format import EVENT_KEY as _EVENT_KEY
from orderdesk.audit.format import LINE_PREFIX as _PREFIX

_TS_LEN = TIME_KEY_LEN
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
    return code, to_utc_key(obj.get("timestamp"))


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
