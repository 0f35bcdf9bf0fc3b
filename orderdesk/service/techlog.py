"""The technical log, `tracker.log`: one `LogEntry` a line."""

from __future__ import annotations

from orderdesk.domain import LogEntry
from orderdesk.service.jsonl import JsonLinesWriter

TRACKER_LOG = "tracker.log"


class TechnicalLogWriter(JsonLinesWriter):
    """`tracker.log`: one `LogEntry` a line. Entries are rare, so the model serialises them."""

    def write(self, entry: LogEntry) -> None:
        self.write_line(entry.model_dump_json(exclude_none=True).encode() + b"\n")
