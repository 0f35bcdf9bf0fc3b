"""What the audit trail on disk already holds: read back at start, and how far back it goes.

A tracker killed after flushing its audit lines but before committing the offsets gets
those messages again when it restarts. `read_back` tells it, per partition, which recent
offsets already have their final audit lines, so it does not audit them twice. Only the tail
of the trail is read (the newest `READBACK_BYTES`, across rotated files): offsets are
committed every fraction of a second, so what comes back after a crash is recent.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from orderdesk.domain import AuditEvent
from orderdesk.service.jsonl import rotated_files

#: Bytes of the newest audit lines read back at start.
READBACK_BYTES = 32 * 1024 * 1024

VALIDATED = 1
REJECTED = 2
DEAD_LETTERED = 4
_FLAGS = {
    AuditEvent.ORDER_VALIDATED.value: VALIDATED,
    AuditEvent.ORDER_REJECTED.value: REJECTED,
    AuditEvent.ORDER_DEAD_LETTERED.value: DEAD_LETTERED,
}

# The writer's field order; a line of another shape is parsed as JSON instead. Inside JSON
# strings quotes are escaped, so these patterns cannot match a payload's text.
_HEAD = re.compile(
    rb'"event_type":"([a-z_.]+)","kafka_topic":("(?:[^"\\]|\\.)*"),'
    rb'"kafka_partition":(-?\d+),"kafka_offset":(-?\d+)'
)
_SIZE = re.compile(rb'"message_size":(\d+)')
_ERROR = re.compile(rb'"error":"((?:[^"\\]|\\.)*)"')
_TIMESTAMP = re.compile(rb'"timestamp":"([^"]+)"')


@dataclass
class PartitionTrail:
    """Final audit events of a partition's recent offsets."""

    #: offset -> VALIDATED | REJECTED | DEAD_LETTERED bits.
    events: dict[int, int] = field(default_factory=dict)
    #: offset -> `message_size` of the audited message (tells a recreated topic's offsets).
    sizes: dict[int, int] = field(default_factory=dict)
    #: offset -> the rejection's error text ("REASON: message").
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def last(self) -> int:
        return max(self.events, default=-1)

    def lookup(self, offset: int, size: int) -> int:
        """Event bits audited for `offset`, 0 unless its message had the same size."""
        bits = self.events.get(offset, 0)
        if bits and self.sizes.get(offset) != size:
            return 0
        return bits


def read_back(path: Path, topic: str, max_bytes: int = READBACK_BYTES) -> dict[int, PartitionTrail]:
    """Per partition of `topic`, the final events in the newest `max_bytes` of the trail."""
    trails: dict[int, PartitionTrail] = {}
    budget = max_bytes
    files = [path, *rotated_files(path)]
    chunks: list[bytes] = []
    for file in files:
        if budget <= 0:
            break
        try:
            with open(file, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                start = max(0, size - budget)
                f.seek(start)
                data = f.read()
        except OSError:
            continue
        budget -= len(data)
        if start > 0:
            cut = data.find(b"\n")
            data = data[cut + 1 :] if cut >= 0 else b""
        chunks.append(data)
    # Oldest first, so that later lines win.
    for data in reversed(chunks):
        for line in data.splitlines():
            _read_line(line, topic, trails)
    return trails


def _complete(line: bytes) -> bool:
    """True when `line` is a whole JSON object, not one cut by a failed write or a crash.

    Cheap first: a line ending in `}` with as many `{` as `}` is whole (a cut one misses at
    least its final `}`); only lines whose payload unbalances the count are parsed.
    """
    line = line.rstrip()
    if not line.endswith(b"}"):
        return False
    if line.count(b"{") == line.count(b"}"):
        return True
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _read_line(line: bytes, topic: str, trails: dict[int, PartitionTrail]) -> None:
    if not _complete(line):
        return  # a line cut short: its message is not audited yet
    head = _HEAD.search(line)
    if head is not None:
        event = head.group(1).decode()
        flag = _FLAGS.get(event)
        if flag is None:
            return
        try:
            line_topic = json.loads(head.group(2))
        except ValueError:
            return
        partition, offset = int(head.group(3)), int(head.group(4))
        size_match = _SIZE.search(line, head.end())
        size = int(size_match.group(1)) if size_match else -1
        error = None
        if flag == REJECTED:
            found = _ERROR.search(line, head.end())
            error = json.loads(b'"' + found.group(1) + b'"') if found else ""
    else:
        try:
            entry = json.loads(line)
            flag = _FLAGS.get(entry.get("event_type"))
            if flag is None:
                return
            line_topic = entry["kafka_topic"]
            partition, offset = int(entry["kafka_partition"]), int(entry["kafka_offset"])
            size = int(entry.get("message_size", -1))
            error = entry.get("error") or ""
        except (ValueError, KeyError, TypeError, AttributeError):
            return  # a line cut by a crash, or not ours
    if line_topic != topic:
        return
    trail = trails.get(partition)
    if trail is None:
        trail = trails[partition] = PartitionTrail()
    trail.events[offset] = trail.events.get(offset, 0) | flag
    trail.sizes[offset] = size
    if flag == REJECTED and error is not None:
        trail.errors[offset] = error


def history_start(path: Path) -> datetime | None:
    """Timestamp of the oldest audit line still kept (in the oldest rotated file), if any."""
    for file in [*reversed(rotated_files(path)), path]:
        try:
            with open(file, "rb") as f:
                for line in f:
                    found = _TIMESTAMP.search(line)
                    if found is None:
                        continue
                    try:
                        return datetime.fromisoformat(found.group(1).decode())
                    except ValueError:
                        continue
        except OSError:
            continue
    return None
