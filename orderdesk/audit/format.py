"""The audit line, defined once: what `AuditWriter` writes and the index and rows read.

One JSON object a line (`AuditEntry`'s fields, see the domain contract), always starting
`{"timestamp":"<ISO 8601 UTC>Z","event_type":"<name>",`: the index finds the time and
the event type of millions of lines at fixed places in those first bytes without parsing
them. Any other line still reads, slower (parsed on its own).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from orderdesk.domain import AuditEvent, Order

# -- field names --------------------------------------------------------------------------

TIMESTAMP = "timestamp"
EVENT_TYPE = "event_type"
KAFKA_TOPIC = "kafka_topic"
KAFKA_PARTITION = "kafka_partition"
KAFKA_OFFSET = "kafka_offset"
MESSAGE_SIZE = "message_size"
DESERIALIZED = "deserialized"
ERROR = "error"
ORDER_FULL = "order_full"
RAW_MESSAGE = "raw_message"

#: Every line starts with these bytes, then the timestamp's text...
LINE_PREFIX = b'{"' + TIMESTAMP.encode() + b'":"'
#: ...and after the timestamp's closing quote, these, then the event type's name.
EVENT_KEY = b',"' + EVENT_TYPE.encode() + b'":"'

# -- event codes: one byte per line in the index ------------------------------------------

#: 0 is a JSON line with another (or no) event type.
CODE_OTHER = 0
CODE_MALFORMED = 255
EVENT_CODES: dict[str, int] = {event.value: i + 1 for i, event in enumerate(AuditEvent)}
EVENT_NAMES: dict[int, str] = {code: name for name, code in EVENT_CODES.items()}
#: Pseudo event type for filters: lines that are not a JSON object.
MALFORMED = "(malformed)"

# -- timestamps ---------------------------------------------------------------------------

#: Seconds precision, UTC, ISO 8601 without zone: compares correctly as bytes.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
TIME_KEY_LEN = 19


def time_key(when: datetime) -> bytes:
    """Key comparable with the index's per-line timestamps; naive datetimes are UTC."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime(TIME_FORMAT).encode("ascii")


def to_utc_key(value: Any) -> bytes:
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


# -- writing ------------------------------------------------------------------------------

#: JSON string literal of a str, ASCII only (non-ASCII as \uXXXX escapes): the C encoder's,
#: without JSONEncoder's call overhead, and its ASCII output encodes to bytes by plain copy.
escape = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


_PREFIX_TEXT = LINE_PREFIX.decode()


def line_middle(event: AuditEvent, topic: str, partition: int) -> str:
    """The part of a line from the timestamp's closing quote to the offset's value (the
    same for every line of one event type and partition: writers cache it)."""
    return (
        f'","{EVENT_TYPE}":"{event.value}","{KAFKA_TOPIC}":{escape(topic)},'
        f'"{KAFKA_PARTITION}":{partition},"{KAFKA_OFFSET}":'
    )


def encode_line(
    timestamp: str,
    middle: str,
    offset: int,
    payload: bytes | None,
    error: str | None,
    order: Order | None,
) -> tuple[tuple[bytes, ...], int]:
    """One whole line (newline included) as parts to write, and its length in bytes."""
    if payload is None:
        raw = b'""'
        size = 0
    else:
        size = len(payload)
        try:
            raw = escape(payload.decode()).encode()
        except UnicodeDecodeError:
            raw = escape(payload.decode("utf-8", errors="backslashreplace")).encode()
    head = f'{_PREFIX_TEXT}{timestamp}{middle}{offset},"{RAW_MESSAGE}":'.encode()
    if error is None:
        tail = f',"{MESSAGE_SIZE}":{size},'
    else:
        tail = f',"{MESSAGE_SIZE}":{size},"{ERROR}":{escape(error)},'
    if order is None:
        tail_b = (tail + f'"{DESERIALIZED}":false}}\n').encode()
        return (head, raw, tail_b), len(head) + len(raw) + len(tail_b)
    tail_b = (tail + f'"{DESERIALIZED}":true,"{ORDER_FULL}":').encode()
    full = order_json(order, payload)
    return (head, raw, tail_b, full, b"}\n"), len(head) + len(raw) + len(tail_b) + len(full) + 2


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


# -- reading ------------------------------------------------------------------------------


def order_and_raw(record: dict[str, Any]) -> tuple[Any, str]:
    """The embedded order (a dict, or None) and the payload as text, from a parsed line."""
    raw = record.get(RAW_MESSAGE)
    raw = raw if isinstance(raw, str) else ("" if raw is None else json.dumps(raw))
    return record.get(ORDER_FULL), raw
