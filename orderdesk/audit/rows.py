"""One audit line as the table and the detail pane show it: `AuditRow`, from `parse_line`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from orderdesk.audit.format import (
    ERROR,
    EVENT_TYPE,
    KAFKA_OFFSET,
    KAFKA_PARTITION,
    MALFORMED,
    TIMESTAMP,
    order_and_raw,
)

_ORDER_ID = re.compile(rb'order_id\\?"\s*:\s*\\?"([^"\\]*)')


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
    full, raw = order_and_raw(record, text)
    order_id = ""
    status = ""
    if isinstance(full, dict):
        order_id = str(full.get("order_id") or "")
        status = str(full.get("status") or "")
    if not order_id and raw:
        order_id = extract_order_id(raw)
    partition = record.get(KAFKA_PARTITION)
    offset = record.get(KAFKA_OFFSET)
    return AuditRow(
        line_no,
        timestamp=str(record.get(TIMESTAMP) or ""),
        event_type=str(record.get(EVENT_TYPE) or ""),
        order_id=order_id,
        partition=partition if isinstance(partition, int) else None,
        offset=offset if isinstance(offset, int) else None,
        status=status,
        error=str(record.get(ERROR) or ""),
        raw_message=raw,
        order_full=full,
        text=text,
        record=record,
    )
