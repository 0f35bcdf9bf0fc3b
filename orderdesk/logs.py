"""The tracker's two output streams as JSON Lines files with size-based rotation.

`tracker.log` holds technical `LogEntry` records, `tracker.events` the business audit trail
(`AuditEntry`). Both writers buffer lines in memory and hand them to the operating system
in one `write` call per `flush()`; the tracker flushes before every offset commit, so a
committed message always has its audit line in the file (at-least-once: a crash may repeat
lines, never lose one). Files are not fsync'ed: a process crash loses nothing that was
flushed, a power cut may.

The audit writer is on the tracker's hot path, so it builds each line with the standard
library's C JSON encoder instead of validating and serialising an `AuditEntry` model; the
result has exactly the model's fields and reads back with `AuditEntry.model_validate_json`.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from orderdesk.domain import AuditEvent, LogEntry, Order

TRACKER_LOG = "tracker.log"
TRACKER_EVENTS = "tracker.events"

#: Pending bytes after which a writer flushes on its own, to bound its memory.
AUTO_FLUSH_BYTES = 1 << 20

#: JSON string literal of a str, ASCII only (non-ASCII as \uXXXX escapes): the C encoder's,
#: without JSONEncoder's call overhead, and its ASCII output encodes to bytes by plain copy.
_escape = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


def rotated_name(path: Path, index: int) -> Path:
    """`tracker.events` -> `tracker.events.1`: the name of the `index`-th older file."""
    return path.with_name(f"{path.name}.{index}")


class JsonLinesWriter:
    """Append-only, buffered, size-rotated file of lines (each line already ends in `\\n`).

    When a line would take the file past `max_bytes`, the file becomes `<name>.1`, older
    ones shift up to `<name>.<backups>` (the oldest is dropped) and a new file is started;
    with `backups=0` the file is truncated instead. Not thread-safe: one owner thread.
    """

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = self._open()
        self._size = os.fstat(self._fd).st_size
        self._terminate_partial_line()

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _terminate_partial_line(self) -> None:
        # A process killed in the middle of a write may leave half a line: end it, so that
        # the next line starts on a line of its own and only the broken one is unreadable.
        if self._size == 0:
            return
        with open(self.path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            last = f.read(1)
        if last != b"\n":
            self._write(b"\n")

    @property
    def size(self) -> int:
        """Bytes in the current file, pending lines included."""
        return self._size + self._pending_bytes

    def write_line(self, line: bytes) -> None:
        """Queue one line (ending in a newline) for the next flush."""
        self.write_parts((line,), len(line))

    def write_parts(self, parts: tuple[bytes, ...], n: int) -> None:
        """Queue one line given as pieces of `n` bytes in all, the last ending in a newline.

        The pieces are joined only at flush time, once for all queued lines.
        """
        if self._size + self._pending_bytes + n > self.max_bytes and (
            self._size or self._pending_bytes
        ):
            self._write_pending()
            self._rotate()
        self._pending.extend(parts)
        self._pending_bytes += n
        if self._pending_bytes >= AUTO_FLUSH_BYTES:
            self._write_pending()

    def flush(self) -> None:
        """Hand every queued line to the operating system."""
        if self._pending:
            self._write_pending()

    def close(self) -> None:
        if self._fd < 0:
            return
        try:
            self.flush()
        finally:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> JsonLinesWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write_pending(self) -> None:
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        self._write(data)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += len(data)

    def _rotate(self) -> None:
        os.close(self._fd)
        self._fd = -1
        if self.backups > 0:
            for i in range(self.backups - 1, 0, -1):
                src = rotated_name(self.path, i)
                if src.exists():
                    os.replace(src, rotated_name(self.path, i + 1))
            os.replace(self.path, rotated_name(self.path, 1))
            self._fd = self._open()
        else:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC)
        self._size = 0


class TechnicalLogWriter(JsonLinesWriter):
    """`tracker.log`: one `LogEntry` a line. Entries are rare, so the model serialises them."""

    def write(self, entry: LogEntry) -> None:
        self.write_line(entry.model_dump_json(exclude_none=True).encode() + b"\n")


class AuditWriter(JsonLinesWriter):
    """`tracker.events`: one audit trail entry a line, built without the pydantic model."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        super().__init__(path, max_bytes, backups)
        self._middles: dict[tuple[AuditEvent, str, int], str] = {}
        self._second = -1
        self._second_text = ""
        self._millis = -1
        self._stamp = ""

    def timestamp(self) -> str:
        """Now, as ISO 8601 UTC to the millisecond; the text is made once per millisecond."""
        millis = time.time_ns() // 1_000_000
        if millis != self._millis:
            self._millis = millis
            second, frac = divmod(millis, 1000)
            if second != self._second:
                self._second = second
                self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._stamp = f"{self._second_text}.{frac:03d}Z"
        return self._stamp

    def write(
        self,
        event: AuditEvent,
        topic: str,
        partition: int,
        offset: int,
        payload: bytes | None,
        error: str | None = None,
        order: Order | None = None,
    ) -> None:
        """Queue one entry; `order` is the parsed order when the payload parsed."""
        if payload is None:
            raw = b'""'
            size = 0
        else:
            size = len(payload)
            try:
                raw = _escape(payload.decode()).encode()
            except UnicodeDecodeError:
                raw = _escape(payload.decode("utf-8", errors="backslashreplace")).encode()
        key = (event, topic, partition)
        middle = self._middles.get(key)
        if middle is None:
            middle = self._middles[key] = (
                f'","event_type":"{event.value}","kafka_topic":{_escape(topic)},'
                f'"kafka_partition":{partition},"kafka_offset":'
            )
        head = f'{{"timestamp":"{self.timestamp()}{middle}{offset},"raw_message":'.encode()
        if error is None:
            tail = f',"message_size":{size},'
        else:
            tail = f',"message_size":{size},"error":{_escape(error)},'
        if order is None:
            tail_b = (tail + '"deserialized":false}\n').encode()
            self.write_parts((head, raw, tail_b), len(head) + len(raw) + len(tail_b))
        else:
            tail_b = (tail + '"deserialized":true,"order_full":').encode()
            full = order_json(order, payload)
            self.write_parts(
                (head, raw, tail_b, full, b"}\n"),
                len(head) + len(raw) + len(tail_b) + len(full) + 2,
            )


def order_json(order: Order, payload: bytes | None) -> bytes:
    """The order as one line of strict JSON: the payload itself when it is safe to embed.

    The payload parsed as an order, so it is JSON; it is reused unless it spans lines.
    Fields of the payload that `Order` does not know are kept; readers ignore them. `Order`
    refuses non-finite amounts, but such a field may hold NaN or Infinity (pydantic's parser
    accepts them, strict JSON has no such numbers): the order is then written as null, and
    `raw_message` has it all.
    """
    if payload is None:
        return order.model_dump_json().encode()
    if (b"NaN" in payload or b"Infinity" in payload) and _has_non_finite(payload):
        return b"null"
    if b"\n" in payload or b"\r" in payload:
        return order.model_dump_json().encode()
    return payload


class _NonFinite(ValueError):
    pass


def _reject_constant(name: str) -> None:
    raise _NonFinite(name)


def _has_non_finite(payload: bytes) -> bool:
    """True when the JSON payload has a NaN/Infinity number (not merely such text)."""
    try:
        json.loads(payload, parse_constant=_reject_constant)
    except _NonFinite:
        return True
    except ValueError:
        return False
    return False
