"""The business audit trail, `tracker.events`: one `AuditEntry` a JSON line.

Lines go through the rotating `JsonLinesWriter`; the tracker flushes before every offset
commit, so a committed message always has its audit line in the file.

The audit writer is on the tracker's hot path, so it builds each line with the standard
library's C JSON encoder instead of validating and serialising an `AuditEntry` model; the
result has exactly the model's fields and reads back with `AuditEntry.model_validate_json`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from orderdesk.domain import AuditEvent, Order
from orderdesk.service.jsonl import JsonLinesWriter

TRACKER_EVENTS = "tracker.events"

#: JSON string literal of a str, ASCII only (non-ASCII as \uXXXX escapes): the C encoder's,
#: without JSONEncoder's call overhead, and its ASCII output encodes to bytes by plain copy.
_escape = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


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
