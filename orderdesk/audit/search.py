"""Filters over an audit index: event type and time range on the index's arrays, free text
and order id as substring searches over a memory map of the file, whose match positions
are mapped to line numbers with `numpy.searchsorted`.

Text and order id searches match bytes exactly (case-sensitive); a needle is also searched in
its JSON-escaped forms, so `"status":"paid"` finds the escaped raw message as well.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from orderdesk.audit.format import CODE_MALFORMED, EVENT_CODES, MALFORMED, time_key
from orderdesk.audit.rows import extract_order_id


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


def iter_matching(
    path: Path,
    starts: np.ndarray,
    codes: np.ndarray,
    times: np.ndarray,
    indexed_size: int,
    flt: AuditFilter,
    first: int,
    last: int,
) -> Generator[float, None, np.ndarray]:
    """Line numbers in [first, last) of an index's arrays that pass the filter, in
    small steps: yields its progress (0..1) every few milliseconds."""
    if first >= last:
        return np.empty(0, np.int64)
    end_offset = int(starts[last]) if last < len(starts) else indexed_size
    mask: np.ndarray | None = None
    if flt.event_types is not None:
        wanted = [EVENT_CODES[t] for t in flt.event_types if t in EVENT_CODES]
        if MALFORMED in flt.event_types:
            wanted.append(CODE_MALFORMED)
        mask = np.isin(codes[first:last], np.array(wanted, np.uint8))
    if flt.since is not None or flt.until is not None:
        times = times[first:last]
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
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    if size < end_offset:
        return np.empty(0, np.int64)  # truncated under us: the next check reindexes
    every = mask is None
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
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
