"""Closing the window, within an announced time, always.

Close asks the services and the tabs' background work to stop (stop requests return at
once) and a timer checks whether every thread has ended; the window closes as soon as
they have. A service thread can be stuck inside a librdkafka call against a frozen broker;
at the announced limit, or at once on a second Ctrl+Q or "Quit now", the process exits
without waiting for it. Nothing is lost that way: what was not committed is consumed
again on the next run (at-least-once).
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
#: Seconds given to the stop on top of the longest flush a service may do.
QUIT_MARGIN = 5.0


class QuitSequence(QObject):
    """Stops the services and the tabs' background work, then says the window may close.

    Signals:
        ready(): every service thread, connection check and tab thread has ended.
        overdue(list): the limit passed (or the user said "now") with these still running;
            the names of what was left behind.
    """

    ready = Signal()
    overdue = Signal(list)

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
        self.limit = 0.0
        self._started_at = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(CLOSE_POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._deadline = QTimer(self)
        self._deadline.setSingleShot(True)
        self._deadline.timeout.connect(self.now)

    def begin(self, limit: float) -> None:
        """Ask everything to stop; `ready` follows once it has, `overdue` after `limit` s."""
        if self.started:
            return
        self.started = True
        self.limit = limit
        self._started_at = time.monotonic()
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
        self._deadline.start(int(limit * 1000))

    def remaining(self) -> float:
        return max(0.0, self.limit - (time.monotonic() - self._started_at))

    def waiting_for(self) -> list[str]:
        """What is still running, in words."""
        names = [r.name for r in self._runners if r.is_active]
        names += [f"{tab.title.lower()} tab" for tab in self._tabs if tab.busy()]
        if self._checking():
            names.append("connection check")
        return names

    def now(self) -> None:
        """Stop waiting: `ready` if all has ended meanwhile, else `overdue`."""
        if not self.started:
            return
        self._timer.stop()
        self._deadline.stop()
        left = self.waiting_for()
        if left:
            self.overdue.emit(left)
        else:
            self.ready.emit()

    def _poll(self) -> None:
        if self.waiting_for():
            return
        self._timer.stop()
        self._deadline.stop()
        self.ready.emit()
