"""Following the dead-letter topic: one live reader, and the stopped ones still ending."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from orderdesk.config import Settings
from orderdesk.gui.deadletters.workers import STOP_WAIT_MS, DeadLetterFeed, ReaderWorker
from orderdesk.gui.widgets.threads import WorkerThread

#: How often the reader's feed is drained.
DRAIN_INTERVAL_MS = 200
#: Entries handed over at a time, and the GUI time a timer's drain may take: a topic of
#: many thousands (or a tracker writing hundreds a second) fills the table over a few
#: ticks rather than in one long stall of the event loop.
DRAIN_CHUNK = 200
DRAIN_BUDGET_S = 0.005


class TopicFollower(QObject):
    """Reads a dead-letter topic from its start and follows it, handing entries over in
    batches from a GUI timer.

    Stopping returns at once: a reader whose broker does not answer can take seconds to
    close, so a stopped one is kept until its thread ends (`busy` until then).

    While `is_hidden()` says the inbox is out of sight, the timer hands nothing over: the
    dead letters wait in the feed (`pending`) as records, and are parsed by the reader and
    go into the table, a chunk a tick, once it is shown; `drain()` hands everything over
    whatever is shown.

    Signals:
        entries(list): a batch of `DeadLetterEntry`, in the order read.
        caught_up(): everything that was in the topic at the start has been read.
        failed(str): the live reader gave up; the reason in one line.
    """

    entries = Signal(list)
    caught_up = Signal()
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._reader: WorkerThread | None = None
        self._feed: DeadLetterFeed | None = None
        self._retiring: list[WorkerThread] = []
        self._caught_up = False
        self.is_hidden: Callable[[], bool] = lambda: False
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_INTERVAL_MS)
        self._timer.timeout.connect(self._drain_some)

    @property
    def reading(self) -> bool:
        return self._reader is not None

    @property
    def is_caught_up(self) -> bool:
        return self._caught_up

    @property
    def pending(self) -> int:
        """Entries read and not handed over yet."""
        return len(self._feed) if self._feed is not None else 0

    @property
    def busy(self) -> bool:
        """Whether a reader thread, live or stopped, is still running."""
        threads = [*self._retiring, self._reader]
        return any(t is not None and t.is_running() for t in threads)

    def start(self, settings: Settings) -> None:
        """Read `settings.topics.dlq` from the beginning (no-op while reading)."""
        if self._reader is not None:
            return
        self._caught_up = False
        self._feed = DeadLetterFeed()
        self._feed.parse_ahead = not self.is_hidden()
        worker = ReaderWorker(settings, self._feed)
        thread = WorkerThread(worker, "dlq-reader")
        # A bound method, so the slot runs on the GUI thread, not the reader's.
        worker.failed.connect(self._failed)
        thread.finished.connect(lambda t=thread: self._finished(t))
        self._reader = thread
        thread.start()
        self._timer.start()

    def stop(self) -> None:
        """Ask the reader to stop; returns at once. What it read so far is drained (shown)
        or waits for the inbox to be shown."""
        thread, self._reader = self._reader, None
        if thread is not None:
            thread.worker.request_stop()
            if thread.is_running():
                self._retiring.append(thread)
        self._timer.stop()
        if not self.is_hidden():
            self.drain()  # else once shown (`catch_up`)

    def wait_stopped(self, timeout_ms: int = STOP_WAIT_MS) -> bool:
        """Block until every reader thread has ended (after `stop()`); not for the GUI."""
        threads = [t for t in (*self._retiring, self._reader) if t is not None]
        return all(t.wait(timeout_ms) for t in threads)

    def drain(self) -> None:
        """Hand over everything read so far."""
        self._drain(None, None)

    def catch_up(self) -> None:
        """The inbox was just shown: hand over a chunk now, not at the next tick (all of
        it once the reader stopped: no tick hands over the rest)."""
        if self._reader is not None:
            self._drain_some()
        else:
            self.drain()

    def _drain_some(self) -> None:
        """The timer's share: a budgeted chunk, nothing while out of sight."""
        hidden = self.is_hidden()
        if self._feed is not None:
            self._feed.parse_ahead = not hidden
        if not hidden:
            self._drain(DRAIN_CHUNK, DRAIN_BUDGET_S)

    def _drain(self, chunk: int | None, budget: float | None) -> None:
        if self._feed is None:
            return
        deadline = None if budget is None else time.perf_counter() + budget
        while True:
            # Records still waiting are parsed here only once no reader is left to do it.
            entries, caught_up = self._feed.drain_entries(chunk, parse=self._reader is None)
            if entries:
                self.entries.emit(entries)
            if caught_up and not self._caught_up:
                self._caught_up = True
                self.caught_up.emit()
            if not entries or chunk is None or len(entries) < chunk:
                return
            if deadline is not None and time.perf_counter() >= deadline:
                return  # the rest on the next tick

    def _failed(self, message: str) -> None:
        # Only the live reader's failure is news; a reader stopped by a reload is not.
        if self._reader is not None and self.sender() is self._reader.worker:
            self.failed.emit(message)

    def _finished(self, thread: WorkerThread) -> None:
        if thread in self._retiring:
            self._retiring.remove(thread)
