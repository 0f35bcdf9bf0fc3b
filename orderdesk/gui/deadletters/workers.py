"""Background work of the dead-letter inbox: the topic reader and the republisher.

Both are worker objects run by a `WorkerThread` (the GUI's one thread idiom), so the event
loop never waits on the broker. The reader does not signal once per dead letter: it puts
batches into a `DeadLetterFeed`, and the inbox drains the feed on a GUI timer. Stopping is
cooperative: `request_stop()` sets the Qt-free reader's or republisher's event and returns
at once; the thread's `finished` follows when the work returns. Every Kafka call inside is
bounded, but closing a consumer whose broker is gone can take seconds, so the GUI thread
never waits for it.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import deque

from PySide6.QtCore import QObject, Signal, Slot

from orderdesk.config import Settings
from orderdesk.deadletters.entries import DeadLetterEntry
from orderdesk.deadletters.ledger import ReplayLedger
from orderdesk.deadletters.reader import DeadLetterReader, DeadLetterRecord, parse_records
from orderdesk.deadletters.republish import ReplayRequest, ReplayResult, Republisher
from orderdesk.gui.widgets.feed import Feed
from orderdesk.kafka.errors import error_text

#: Longest wait, in milliseconds, for a thread to return after a stop request.
STOP_WAIT_MS = 15_000
#: Least time between two progress signals of a bulk republish.
PROGRESS_INTERVAL = 0.05


class DeadLetterFeed(Feed[DeadLetterEntry]):
    """Dead letters handed from the reader thread to the GUI thread, and whether it caught up.

    While the inbox is out of sight (`parse_ahead` off) they wait as records, not entries:
    a record costs the garbage collector nothing, an entry costs every full collection
    (see `DeadLetterRecord`), and a collection run from a service thread holds the GIL
    while the window waits. The reader thread parses them once the inbox is shown; the
    GUI thread parses only what a reader that ended left behind (`drain_entries`).
    """

    def __init__(self) -> None:
        super().__init__()
        self._caught_up = False
        self._records: deque[DeadLetterRecord] = deque()
        #: Records the reader took to parse and has not queued yet.
        self._parsing = 0
        #: Whether the reader parses what it reads at once (the inbox is shown).
        self.parse_ahead = True

    def put_records(self, records: list[DeadLetterRecord]) -> None:
        """The reader's callback, on its thread, every turn of its loop."""
        with self._lock:
            if not self.parse_ahead:
                self._records.extend(records)
                return
            backlog = list(self._records)
            self._records.clear()
            self._parsing = len(backlog) + len(records)
        if backlog or records:
            # Parsed outside the lock; only this thread adds, so the order is kept.
            entries = parse_records(backlog + records if backlog else records)
            with self._lock:
                for entry in entries:
                    self._put(entry)
                self._parsing = 0

    def mark_caught_up(self) -> None:
        with self._lock:
            self._caught_up = True

    def drain_entries(
        self, limit: int | None = None, parse: bool = False
    ) -> tuple[list[DeadLetterEntry], bool]:
        """(up to `limit` entries since the last drain, whether the reader has caught up
        and every entry it read before is drained). `parse`: also parse waiting records,
        which only a reader that ended leaves for the GUI thread."""
        with self._lock:
            items = self._drain(limit).items
            records: list[DeadLetterRecord] = []
            if parse:
                room = len(self._records) if limit is None else limit - len(items)
                records = [self._records.popleft() for _ in range(min(room, len(self._records)))]
            done = self._caught_up and not (self._items or self._records or self._parsing)
        if records:
            items += parse_records(records)
        return items, done

    def __len__(self) -> int:
        with self._lock:
            return len(self._items) + len(self._records)


class ReaderWorker(QObject):
    """Reads the dead-letter topic from the beginning, then follows it, until stopped.

    Signals:
        failed(str): the reader gave up (the broker did not answer, a fatal client error).
        finished(): the reader returned.
    """

    failed = Signal(str)
    finished = Signal()

    def __init__(self, settings: Settings, feed: DeadLetterFeed) -> None:
        super().__init__()
        self.feed = feed
        # librdkafka would print every refused connection to the terminal, twenty a second;
        # the inbox's status line says that the cluster does not answer, and why.
        kafka = settings.kafka
        quiet = kafka.model_copy(update={"properties": {**kafka.properties, "log_level": 0}})
        self.reader = DeadLetterReader(
            quiet,
            settings.topics.dlq,
            on_caught_up=feed.mark_caught_up,
            on_records=feed.put_records,
        )

    @Slot()
    def run(self) -> None:
        try:
            self.reader.run(follow=True)
        except Exception as exc:  # reported to the user; the thread must end cleanly
            self.failed.emit(error_text(exc) or traceback.format_exc(limit=1))
        finally:
            self.finished.emit()

    def request_stop(self) -> None:
        """Ask the reader to stop; safe from any thread, returns at once."""
        self.reader.stop()


class RepublishWorker(QObject):
    """Republishes a list of requests once; `request_stop()` cancels what is not sent yet.

    Signals:
        progress(int, int, str): settled so far, total, the latest result as one line;
            at most every `PROGRESS_INTERVAL` seconds, and always for the last one.
        done(object): the `ReplaySummary`.
        failed(str): nothing could be republished (the broker did not answer).
        finished(): the work returned.
    """

    progress = Signal(int, int, str)
    done = Signal(object)
    failed = Signal(str)
    finished = Signal()

    def __init__(
        self,
        settings: Settings,
        ledger: ReplayLedger,
        requests: list[ReplayRequest],
        again: bool,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.ledger = ledger
        self.requests = requests
        self.again = again
        self._cancel = threading.Event()
        self._last_progress = 0.0

    def request_stop(self) -> None:
        self._cancel.set()

    @Slot()
    def run(self) -> None:
        try:
            self._republish()
        finally:
            self.finished.emit()

    def _republish(self) -> None:
        republisher = Republisher(self.settings, self.ledger)
        try:
            summary = republisher.republish(
                self.requests, self.again, self._on_progress, self._cancel
            )
        except Exception as exc:  # reported to the user; the thread must end cleanly
            self.failed.emit(error_text(exc))
            return
        finally:
            republisher.close()
        self.done.emit(summary)

    def _on_progress(self, done: int, total: int, result: ReplayResult) -> None:
        now = time.monotonic()
        if done == total or now - self._last_progress >= PROGRESS_INTERVAL:
            self._last_progress = now
            self.progress.emit(done, total, result.describe())
