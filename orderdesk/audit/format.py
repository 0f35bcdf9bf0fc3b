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
escape = json.encoder.encode_basestring_ascii


_PREFIX_TEXT = LINE_PREFIX.decode()
_SIZE = f',"{MESSAGE_SIZE}":'
_FULL = f',"{DESERIALIZED}":true,"{ORDER_FULL}":'
_PARSED_ERROR = f',"{DESERIALIZED}":true,"{ERROR}":'
_ERROR_FULL = f',"{ORDER_FULL}":'
SIZE_BYTES = _SIZE.encode()
FULL_BYTES = _FULL.encode()


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
    parsed: bool,
    strict: bool = False,
) -> tuple[tuple[bytes, ...], int]:
    """One whole line (newline included) as parts to write, and its length in bytes.

    The payload is written once: as `order_full`, verbatim, when it `parsed` as an order
    and can be embedded (`embeddable`); else as `raw_message`, a JSON string of its text.
    `strict` says the payload is known to be UTF-8 text of strict JSON (the order reader
    refuses anything else), so that only its line breaks remain to be looked at.
    """
    if payload is not None and parsed:
        body = one_line(payload) if strict else embeddable(payload)
        if body is not None:
            if error is None:
                head = f"{_PREFIX_TEXT}{timestamp}{middle}{offset}{_SIZE}{len(payload)}{_FULL}"
            else:
                head = (
                    f"{_PREFIX_TEXT}{timestamp}{middle}{offset}{_SIZE}{len(payload)}"
                    f"{_PARSED_ERROR}{escape(error)}{_ERROR_FULL}"
                )
            encoded = head.encode()
            return (encoded, body, b"}\n"), len(encoded) + len(body) + 2
    if payload is None:
        raw = b'""'
        size = 0
    else:
        size = len(payload)
        try:
            raw = escape(payload.decode()).encode()
        except UnicodeDecodeError:
            raw = escape(payload.decode("utf-8", errors="backslashreplace")).encode()
    error_field = "" if error is None else f'"{ERROR}":{escape(error)},'
    start = (
        f"{_PREFIX_TEXT}{timestamp}{middle}{offset},"
        f'"{MESSAGE_SIZE}":{size},"{DESERIALIZED}":{"true" if parsed else "false"},'
        f'{error_field}"{RAW_MESSAGE}":'
    ).encode()
    return (start, raw, b"}\n"), len(start) + len(raw) + 2


def embeddable(payload: bytes) -> bytes | None:
    """The payload of a parsed order as it can stand in a line as `order_full`, or None.

    That is the payload itself unless it holds a line break (then the same JSON with its
    line breaks, all whitespace between tokens, as spaces), and only when it is UTF-8 text
    of strict JSON: no NaN or Infinity (pydantic's parser takes them in fields the order
    does not know). Each check is one scan in C; the exact checks run only for the rare
    payload that a cheap scan could not clear.
    """
    find = payload.find
    if find(b"\n") >= 0 or find(b"\r") >= 0:
        return _without_line_breaks(payload)
    # A NaN or Infinity token starts with an upper-case N or I, rare outside of text.
    i = find(b"N")
    while i >= 0:
        if payload.startswith(b"NaN", i):
            return None if _not_strict_json(payload) else _utf8(payload)
        i = find(b"N", i + 1)
    i = find(b"I")
    while i >= 0:
        if payload.startswith(b"Infinity", i):
            return None if _not_strict_json(payload) else _utf8(payload)
        i = find(b"I", i + 1)
    return _utf8(payload)


def one_line(payload: bytes) -> bytes:
    """A payload known to be strict JSON, its line breaks (all between tokens) as spaces:
    what `embeddable` makes of it, without checking it again."""
    if payload.find(b"\n") >= 0 or payload.find(b"\r") >= 0:  # find: faster than `in`
        return payload.replace(b"\r", b" ").replace(b"\n", b" ")
    return payload


def _utf8(payload: bytes) -> bytes | None:
    if not payload.isascii():
        try:
            payload.decode()
        except UnicodeDecodeError:
            return None
    return payload


def _without_line_breaks(payload: bytes) -> bytes | None:
    """Line breaks as spaces, when every one lies between tokens (strict JSON has no raw
    line break inside a string) and the text is strict JSON."""
    try:
        json.loads(payload, parse_constant=_reject_constant)
    except ValueError:
        return None
    return payload.replace(b"\r", b" ").replace(b"\n", b" ")


def order_json(order: Order, payload: bytes | None) -> bytes:
    """The order as one line of strict JSON: the payload itself when it can be embedded,
    else the order as the model writes it (`null` when the payload cannot be embedded)."""
    if payload is None:
        return order.model_dump_json().encode()
    body = embeddable(payload)
    return b"null" if body is None else body


class _NonFinite(ValueError):
    pass


def _reject_constant(name: str) -> None:
    raise _NonFinite(name)


def _not_strict_json(payload: bytes) -> bool:
    """True when the JSON payload has a NaN/Infinity number (not merely such text), or is
    not JSON at all."""
    try:
        json.loads(payload, parse_constant=_reject_constant)
    except ValueError:
        return True
    return False


# -- reading ------------------------------------------------------------------------------


def order_and_raw(record: dict[str, Any], line: str) -> tuple[Any, str]:
    """The embedded order (a dict, or None) and the payload as text, from a parsed line.

    Lines written since the payload is written once have no `raw_message` for an order
    that parsed: its text is then cut out of the line itself (`order_full` is its last
    field, verbatim). Older lines have both; either shape reads the same.
    """
    full = record.get(ORDER_FULL)
    raw = record.get(RAW_MESSAGE)
    if isinstance(raw, str):
        return full, raw
    if raw is not None:
        return full, json.dumps(raw)
    if full is None:
        return None, ""
    return full, _embedded_text(record, line) or json.dumps(full, ensure_ascii=False)


_ORDER_FULL_KEY = f',"{ORDER_FULL}":'


def _embedded_text(record: dict[str, Any], line: str) -> str | None:
    # Every field before order_full is the writer's own, its strings escaped: the first
    # `,"order_full":` in the line is the key, and the value runs to the line's last brace.
    if next(reversed(record)) != ORDER_FULL:
        return None
    line = line.rstrip()
    at = line.find(_ORDER_FULL_KEY)
    if at < 0 or not line.endswith("}"):
        return None
    return line[at + len(_ORDER_FULL_KEY) : -1]
