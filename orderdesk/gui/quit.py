"""Closing the window: services and tabs are asked to stop, then the window closes.

Nothing here blocks the event loop: stop requests return at once, and a timer checks
whether every thread has ended.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, QTimer, Signal

from orderdesk.gui.services.runner import ServiceRunner
from orderdesk.gui.tab import Tab

log = logging.getLogger("orderdesk.gui")

#: Period at which a closing window checks whether its threads are done.
CLOSE_POLL_MS = 50


class QuitSequence(QObject):
    """Stops the services and the tabs' background work, then says the window may close.

    Signals:
        ready(): every service thread, connection check and tab thread has ended.
    """

    ready = Signal()

    def __init__(
        self,
        runners: Sequence[ServiceRunner],
        tabs: Sequence[Tab],
        checking: Callable[[], bool],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runners = runners
        self._tabs = tabs
        self._checking = checking
        self.started = False
        self._timer = QTimer(self)
        self._timer.setInterval(CLOSE_POLL_MS)
        self._timer.timeout.connect(self._poll)

    def begin(self) -> None:
        """Ask everything to stop; `ready` follows once it has (at once when idle)."""
        if self.started:
            return
        self.started = True
        for runner in self._runners:
            runner.stop()
        for tab in self._tabs:
            started = time.monotonic()
            try:
                tab.shutdown()
            except Exception:
                log.exception("shutting down the %s tab failed", tab.title)
            took = time.monotonic() - started
            if took > 0.5:
                log.warning("%s tab: shutdown() blocked for %.1f s", tab.title, took)
        # Checked from the timer, never from the close event: Qt ignores close() inside it.
        self._timer.start()

    def waiting_for(self) -> list[str]:
        """What is still running, in words."""
        names = [r.name for r in self._runners if r.is_active]
        names += [f"{tab.title.lower()} tab" for tab in self._tabs if tab.busy()]
        if self._checking():
            names.append("connection check")
        return names

    def _poll(self) -> None:
        if self.waiting_for():
            return
        self._timer.stop()
        self.ready.emit()
