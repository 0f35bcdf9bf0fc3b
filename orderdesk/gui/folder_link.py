"""A tracker's log folder followed from the window: the Pipeline tab watches it, the audit
tab opens its events, the live log shows its tracker.log and says which folder it is."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from orderdesk.config import Settings
from orderdesk.domain import LogEntry, LogLevel
from orderdesk.gui.tab import Tab

if TYPE_CHECKING:
    from orderdesk.gui.monitor.tab import PipelineTab


class LogFolderLink:
    """Joins the Pipeline tab's followed folder to the audit tab and the live log.

    Either tab may be a placeholder (not available): what it would do is then left out.
    """

    def __init__(
        self,
        tabs: Sequence[Tab],
        show_entries: Callable[[list[LogEntry]], None],
        say: Callable[[LogLevel, str, int], None],
        settings: Callable[[], Settings],
    ) -> None:
        self._tabs = tabs
        self._say = say
        self._settings = settings
        pipeline = self._pipeline()
        if pipeline is not None:
            pipeline.monitor.log_entries.connect(show_entries)
            pipeline.monitor.folder_changed.connect(self._follow)

    def _pipeline(self) -> PipelineTab | None:
        from orderdesk.gui.monitor.tab import PipelineTab

        return next((t for t in self._tabs if isinstance(t, PipelineTab)), None)

    def watch(self, folder: Path | None = None) -> None:
        """Follow a tracker's log folder (ask for one when None): live log, audit, counts."""
        pipeline = self._pipeline()
        if pipeline is None:
            return
        if folder is None:
            pipeline.monitor.ask_folder()
        else:
            pipeline.monitor.watch(folder)

    def _follow(self, folder: Path | None) -> None:
        from orderdesk.gui.audit.browser import AuditTab, audit_path

        audit = next((t for t in self._tabs if isinstance(t, AuditTab)), None)
        if audit is not None:
            audit.browser.open_file(
                folder / "tracker.events" if folder is not None else audit_path(self._settings())
            )
        text = f"Watching the log folder {folder}" if folder else "Stopped watching the log folder"
        self._say(LogLevel.INFO, text, 8000)
