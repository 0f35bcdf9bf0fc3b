"""The business audit trail, `tracker.events`: one `AuditEntry` a JSON line.

Lines go through the rotating `JsonLinesWriter`; the tracker flushes before every offset
commit, so a committed message always has its audit line in the file.

The audit writer is on the tracker's hot path, so it builds each line with the standard
library's C JSON encoder (`orderdesk.audit.format`) instead of validating and serialising
an `AuditEntry` model; the result has exactly the model's fields and reads back with
`AuditEntry.model_validate_json`.
"""

from __future__ import annotations

import time
from pathlib import Path

from orderdesk.audit.format import (
    FULL_BYTES,
    LINE_PREFIX,
    SIZE_BYTES,
    TIME_FORMAT,
    encode_line,
    line_middle,
    one_line,
    order_json,
)
from orderdesk.domain import AuditEvent, Order
from orderdesk.service.jsonl import JsonLinesWriter, Retention

__all__ = ["TRACKER_EVENTS", "AuditWriter", "order_json"]

TRACKER_EVENTS = "tracker.events"

_VALIDATED = AuditEvent.ORDER_VALIDATED


class AuditWriter(JsonLinesWriter):
    """`tracker.events`: one audit trail entry a line, built without the pydantic model."""

    def __init__(
        self, path: Path, max_bytes: int, backups: int, retention: Retention | None = None
    ) -> None:
        super().__init__(path, max_bytes, backups, retention)
        self._middles: dict[tuple[AuditEvent, str, int], str] = {}
        #: `line_middle` of `order.validated` lines, as bytes, per topic and partition.
        self._validated: dict[tuple[str, int], bytes] = {}
        #: The line's first bytes up to the timestamp's closing quote, for `_stamp_text`.
        self._stamp_text = ""
        self._stamp_head = b""
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
                self._second_text = time.strftime(TIME_FORMAT, time.gmtime(second))
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
        *,
        strict: bool = False,
    ) -> None:
        """Queue one entry; `order` is the parsed order when the payload parsed.

        `strict`: the payload is the one `order` was read from, so it is known to be
        strict JSON (see `encode_line`); the line is the same, made with fewer checks.
        """
        key = (event, topic, partition)
        middle = self._middles.get(key)
        if middle is None:
            middle = self._middles[key] = line_middle(event, topic, partition)
        parts, size = encode_line(
            self.timestamp(), middle, offset, payload, error, order is not None, strict
        )
        self.write_parts(parts, size)

    def write_validated(self, topic: str, partition: int, offset: int, payload: bytes) -> None:
        """Queue the `order.validated` line of a payload the order reader accepted.

        The line `write` makes for it (with the order, `strict`), without the order: the
        tracker's hot path only learns the verdict (`orderdesk.domain.check_order`).
        """
        middle = self._validated.get((topic, partition))
        if middle is None:
            middle = line_middle(_VALIDATED, topic, partition).encode()
            self._validated[(topic, partition)] = middle
        stamp = self.timestamp()
        if stamp is not self._stamp_text:  # a new millisecond
            self._stamp_text = stamp
            self._stamp_head = LINE_PREFIX + stamp.encode()
        # encode_line's validated line, its head made in one formatting call.
        body = one_line(payload)
        head = b"%b%b%d%b%d%b" % (
            self._stamp_head,
            middle,
            offset,
            SIZE_BYTES,
            len(payload),
            FULL_BYTES,
        )
        self.write_parts((head, body, b"}\n"), len(head) + len(body) + 2)
