"""QThread adapters for the Qt-free services.

Each run of a service gets a `ServiceWorker` run by a `WorkerThread` (the GUI's one thread
idiom, see `orderdesk.gui.widgets.threads`); its `run()` blocks in `Service.run()` until
the service is done or stopped. A `ServiceRunner`, living on the GUI thread, owns them.

Data flow is pull, not push: the service's `on_stats`/`on_log` callbacks (called on the
worker thread) only write into a `ServiceFeed` (a bounded `Feed` of log entries plus the
latest stats snapshot). The main window drains every feed from one GUI timer, so a
service doing tens of thousands of orders per second costs the event loop one drain per
tick, never one signal per message.

Stopping: `Service.stop()` is thread-safe (it sets a `threading.Event`); the runner calls
`ServiceWorker.stop` directly on the GUI thread. A queued call would wait for the worker
thread's event loop, which never turns while `run()` blocks in the service.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal, Slot

from orderdesk.config import Settings
from orderdesk.domain import LogEntry, LogLevel
from orderdesk.gui.widgets.feed import Feed
from orderdesk.gui.widgets.threads import WorkerThread

#: Log entries kept per service between two drains; older ones are counted as dropped.
FEED_CAPACITY = 2_000
#: How much nicer than the GUI thread a service's thread runs (Linux niceness; the
#: threads its Kafka client starts inherit it).
SERVICE_NICENESS = 5


def yield_to_gui() -> None:
    """Lower the calling (service) thread's scheduling priority below the GUI thread's.

    On a busy machine the GUI thread, to take the GIL back, must also get a core: at the
    same priority it queues behind the service threads and their Kafka client's threads.
    Linux sets niceness per thread; elsewhere the thread keeps its priority.
    """
    if sys.platform.startswith("linux"):
        try:
            tid = threading.get_native_id()
            niceness = os.getpriority(os.PRIO_PROCESS, tid) + SERVICE_NICENESS
            os.setpriority(os.PRIO_PROCESS, tid, niceness)
        except OSError:
            pass


class StoppableService(Protocol):
    def run(self) -> Any: ...

    def stop(self) -> None: ...


#: Builds a service from the settings and the two callbacks it reports through.
ServiceFactory = Callable[
    [Settings, Callable[[Any], None], Callable[[LogEntry], None]], StoppableService
]


def producer_factory(
    settings: Settings, on_stats: Callable[[Any], None], on_log: Callable[[LogEntry], None]
) -> StoppableService:
    from orderdesk.producer.service import ProducerService

    return ProducerService(settings, on_stats=on_stats, on_log=on_log)


def tracker_factory(
    settings: Settings, on_stats: Callable[[Any], None], on_log: Callable[[LogEntry], None]
) -> StoppableService:
    from orderdesk.tracker.service import TrackerService

    return TrackerService(settings, on_stats=on_stats, on_log=on_log)


@dataclass
class FeedBatch:
    """What a service reported since the previous drain."""

    stats: Any = None
    logs: list[LogEntry] = field(default_factory=list)
    dropped: int = 0


class ServiceFeed:
    """Thread-safe hand-over from a service thread to the GUI timer: a bounded `Feed` of
    log entries and the latest stats snapshot."""

    def __init__(self, capacity: int = FEED_CAPACITY) -> None:
        self._logs: Feed[LogEntry] = Feed(capacity)
        self._lock = threading.Lock()
        self._stats: Any = None

    def put_stats(self, stats: Any) -> None:
        with self._lock:
            self._stats = stats

    def put_log(self, entry: LogEntry) -> None:
        self._logs.put(entry)

    def drain(self) -> FeedBatch:
        """Take everything reported so far; stats is None when no new snapshot came."""
        with self._lock:
            stats, self._stats = self._stats, None
        logs = self._logs.drain()
        return FeedBatch(stats, logs.items, logs.dropped)


class ServiceWorker(QObject):
    """Runs one service once, on the thread it was moved to.

    Signals:
        finished(object): `run()` ended; carries the service's result (on failure, what
            it got done before, as its `ServiceError` says, else None).
        failed(str): the service raised; a one-line reason for the user.
    """

    finished = Signal(object)
    failed = Signal(str)

    def __init__(
        self, factory: ServiceFactory, settings: Settings, feed: ServiceFeed, name: str = "service"
    ) -> None:
        super().__init__()
        self.name = name
        self._factory = factory
        self._settings = settings
        self._feed = feed
        self._lock = threading.Lock()
        self._service: StoppableService | None = None
        self._stop_requested = False

    @Slot()
    def run(self) -> None:
        result = None
        yield_to_gui()
        try:
            service = self._factory(self._settings, self._feed.put_stats, self._feed.put_log)
            with self._lock:
                self._service = service
                stop_now = self._stop_requested
            # A stop that arrived while the service was being built must not be lost.
            if stop_now:
                service.stop()
            result = service.run()
        except Exception as exc:  # every failure must reach the window, none may kill the thread
            result = _partial_result(exc)
            reason = _describe_failure(exc)
            self.failed.emit(reason)
            self._feed.put_log(
                LogEntry(
                    level=LogLevel.ERROR,
                    message=f"the {self.name} failed",
                    service=self.name,
                    error=reason,
                )
            )
        finally:
            with self._lock:
                self._service = None
        self.finished.emit(result)

    @Slot()
    def stop(self) -> None:
        """Ask the service to stop; safe from any thread, returns at once."""
        with self._lock:
            self._stop_requested = True
            service = self._service
        if service is not None:
            service.stop()


def _describe_failure(exc: BaseException) -> str:
    """Why a run failed, in one line (a banner, a status bar message, a card's caption)."""
    from orderdesk.service.base import ServiceError

    if isinstance(exc, ServiceError):
        return _one_line(str(exc))
    if isinstance(exc, ImportError):
        return _one_line(f"service not available: {exc}")
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" ({last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
    return _one_line(f"{type(exc).__name__}: {exc}{where}")


def _partial_result(exc: BaseException) -> Any:
    from orderdesk.service.base import ServiceError

    return exc.result if isinstance(exc, ServiceError) else None


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "unknown error"


class RunState(StrEnum):
    STOPPED = "stopped"
    RUNNING = "running"
    STOPPING = "stopping…"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


class ServiceRunner(QObject):
    """Starts and stops one service in its own thread; lives on the GUI thread.

    Signals:
        state_changed(str): the `RunState` value changed.
        failed(str): the last run failed; a one-line reason.
        stopped(object): the thread is gone; carries the run's result (see
            `ServiceWorker.finished`).
    """

    state_changed = Signal(str)
    failed = Signal(str)
    stopped = Signal(object)

    def __init__(self, name: str, factory: ServiceFactory, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._factory = factory
        self.feed = ServiceFeed()
        self._thread: WorkerThread | None = None
        self._worker: ServiceWorker | None = None
        self._state = RunState.STOPPED
        self._failed = False
        self.last_error: str | None = None
        self.last_result: Any = None

    @property
    def state(self) -> RunState:
        return self._state

    @property
    def is_active(self) -> bool:
        """True while a thread exists, running or stopping."""
        return self._thread is not None

    def start(self, settings: Settings) -> bool:
        """Run the service with these settings; False if it is already running."""
        if self._thread is not None:
            return False
        self._failed = False
        self.last_error = None
        worker = ServiceWorker(self._factory, settings, self.feed, self.name)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_worker_finished)
        thread = WorkerThread(worker, f"orderdesk-{self.name}")
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        self._set_state(RunState.RUNNING)
        thread.start()
        return True

    def stop(self) -> None:
        """Ask a running service to stop; `stopped` follows once its thread ended."""
        if self._thread is None or self._state is RunState.STOPPING:
            return
        self._set_state(RunState.STOPPING)
        if self._worker is not None:
            self._worker.stop()

    def wait(self, timeout_ms: int) -> bool:
        """Block until the thread ended (tests and scripts; never the GUI thread)."""
        return self._thread is None or self._thread.wait(timeout_ms)

    @Slot(str)
    def _on_failed(self, reason: str) -> None:
        self._failed = True
        self.last_error = reason
        self.failed.emit(reason)

    @Slot(object)
    def _on_worker_finished(self, result: Any) -> None:
        self.last_result = result

    @Slot()
    def _on_thread_finished(self) -> None:
        # Both are owned by Python (no parent): dropping the last references deletes them.
        self._thread = self._worker = None
        self._set_state(RunState.FAILED if self._failed else RunState.STOPPED)
        self.stopped.emit(self.last_result)

    def _set_state(self, state: RunState) -> None:
        if state is not self._state:
            self._state = state
            self.state_changed.emit(state.value)
