"""Small text helpers every layer shares: counts in words, JSON for people, payload problems,
millisecond timestamps."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from orderdesk.domain.failures import OrderValidationError, ProcessingFailure
from orderdesk.domain.order import parse_order


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 problem`, `2 problems`, `1,000 entries` (`many` for irregular plurals)."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def pretty_json(text: str) -> str:
    """Indented JSON when `text` is JSON, else `text` unchanged."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):  # nesting deeper than json's recursion limit
        return text


def compact_json(text: str) -> str:
    """One-line JSON when `text` is JSON (the producer's shape), else `text` unchanged."""
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
    except (ValueError, RecursionError):  # nesting deeper than json's recursion limit
        return text


def order_problems(payload: bytes | str) -> list[str]:
    """What is still wrong with `payload` as an order event; empty when it is valid."""
    try:
        parse_order(payload)
    except OrderValidationError as exc:
        return list(exc.violations)
    except ProcessingFailure as exc:
        return [exc.message]
    return []


def from_millis(ms: int | None) -> datetime | None:
    """A Kafka timestamp (milliseconds since the epoch) as a UTC datetime; None when unset."""
    if ms is None or ms <= 0:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
