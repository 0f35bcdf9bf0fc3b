"""The technical log, `tracker.log`: one `LogEntry` a line, through `logging`'s rotating file
handler and the JSON formatter of `orderdesk.service.logs`."""

from __future__ import annotations

from pathlib import Path

from orderdesk.domain import LogEntry
from orderdesk.service.logs import ROOT_LOGGER, RotatingJsonFile, entry_record

TRACKER_LOG = "tracker.log"


class TechnicalLogWriter:
    """`tracker.log` for one service: entries are rare (never one per message), so each is
    written at once; `flush()` is there for callers that flush every stream before a commit.
    """

    def __init__(self, path: Path, max_bytes: int, backups: int, service: str = "tracker"):
        self.path = Path(path)
        self.handler = RotatingJsonFile(self.path, max_bytes, backups)
        self._logger_name = f"{ROOT_LOGGER}.{service}"

    def write(self, entry: LogEntry) -> None:
        self.handler.handle(entry_record(self._logger_name, entry))

    def flush(self) -> None:
        self.handler.flush()

    def close(self) -> None:
        self.handler.close()

    def __enter__(self) -> TechnicalLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
