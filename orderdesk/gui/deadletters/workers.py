"""Threads of the dead-letter inbox: the topic reader and the republisher.

Both are `QThread`s whose `run()` does the blocking Kafka work, so the event loop never
waits on the broker. The reader does not signal once per dead letter: it appends batches
to a `DeadLetterFeed` (a lock and a list), and the inbox drains the feed on a GUI timer.
Stopping is cooperative: `request_stop()`/`cancel()` set the Qt-free reader's or
republisher's event and return at once; `finished` follows when `run()` returns. Every Kafka
call inside is bounded, but closing a consumer whose broker is gone can take seconds, so
the GUI thread never waits for it (`stop()`, which does, is for tests and scripts).
"""

from __future__ import annotations

import threading
import time
import traceback

from PySide6.QtCore import QObject, QThread, Signal

from orderdesk.config import Settings
from orderdesk.deadletters.entries import DeadLetterEntry
from orderdesk.deadletters.ledger import ReplayLedger
from orderdesk.deadletters.reader import DeadLetterReader
from orderdesk.deadletters.republish import ReplayRequest, ReplayResult, ReplaySummary, Republisher

#: Longest wait, in milliseconds, for a thread to return after stop().
STOP_WAIT_MS = 15_000
#: Least time between two progress signals of a bulk republish.
PROGRESS_INTERVAL = 0.05


class DeadLetterFeed:
    """Entries handed from the reader thread to the GUI thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[DeadLetterEntry] = []
        self._caught_up = False

    def put(self, batch: list[DeadLetterEntry]) -> None:
        with self._lock:
            self._entries.extend(batch)

    def mark_caught_up(self) -> None:
        with self._lock:
            self._caught_up = True

    def drain(self) -> tuple[list[DeadLetterEntry], bool]:
        """(entries since the last drain, whether the reader has caught up)."""
        with self._lock:
            entries, self._entries = self._entries, []
            return entries, self._caught_up


class DeadLetterReaderThread(QThread):
    """Reads the dead-letter topic from the beginning, then follows it, until `stop()`.

    Signals:
        failed(str): the reader gave up (the broker did not answer, a fatal client error).
    """

    failed = Signal(str)

    def __init__(self, settings: Settings, feed: DeadLetterFeed, parent: QObject | None = None):
        super().__init__(parent)
        self.setObjectName("dlq-reader")
        self.feed = feed
        # librdkafka would print every refused connection to the terminal, twenty a second;
        # the inbox's status line says that the cluster does not answer, and why.
        kafka = settings.kafka
        quiet = kafka.model_copy(update={"properties": {**kafka.properties, "log_level": 0}})
        self.reader = DeadLetterReader(quiet, settings.topics.dlq, feed.put, feed.mark_caught_up)

    def run(self) -> None:
        try:
            self.reader.run(follow=True)
        except Exception as exc:  # reported to the user; the thread must end cleanly
            self.failed.emit(str(exc) or traceback.format_exc(limit=1))

    def request_stop(self) -> None:
        """Ask the reader to stop; returns at once. `finished` follows."""
        self.reader.stop()

    def stop(self) -> None:
        """Ask the reader to stop and wait for the thread; blocks, so not for the GUI thread."""
        self.request_stop()
        self.wait(STOP_WAIT_MS)


class RepublishThread(QThread):
    """Republishes a list of requests once; `cancel()` stops sending what is not sent yet.

    Signals:
        progress(int, int, str): settled so far, total, the latest result as one line;
            at most every `PROGRESS_INTERVAL` seconds, and always for the last one.
        done(object): the `ReplaySummary`.
        failed(str): nothing could be republished (the broker did not answer).
    """

    progress = Signal(int, int, str)
    done = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        settings: Settings,
        ledger: ReplayLedger,
        requests: list[ReplayRequest],
        again: bool,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("dlq-republish")
        self.settings = settings
        self.ledger = ledger
        self.requests = requests
        self.again = again
        self._cancel = threading.Event()
        self._last_progress = 0.0

    def cancel(self) -> None:
        self._cancel.set()

    def stop(self) -> None:
        self.cancel()
        self.wait(STOP_WAIT_MS * 3)

    def run(self) -> None:
        republisher = Republisher(self.settings, self.ledger)
        try:
            summary = republisher.republish(
                self.requests, self.again, self._on_progress, self._cancel
            )
        except Exception as exc:  # reported to the user; the thread must end cleanly
            self.failed.emit(str(exc))
            return
        finally:
            republisher.close()
        self.done.emit(summary)

    def _on_progress(self, done: int, total: int, result: ReplayResult) -> None:
        now = time.monotonic()
        if done == total or now - self._last_progress >= PROGRESS_INTERVAL:
            self._last_progress = now
            self.progress.emit(done, total, result.describe())


__all__ = [
    "DeadLetterFeed",
    "DeadLetterReaderThread",
    "ReplaySummary",
    "RepublishThread",
]
