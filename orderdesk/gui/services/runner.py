"""QThread adapters for the Qt-free services.

Each run of a service gets a `ServiceWorker` moved to a fresh `QThread`; the thread's
`started` signal runs the worker, whose `run()` blocks in `Service.run()` until the
service is done or stopped. A `ServiceRunner`, living on the GUI thread, owns that pair.

Data flow is pull, not push: the service's `on_stats`/`on_log` callbacks (called on the
worker thread) only write into a `ServiceFeed` (a lock, the latest stats snapshot and a
bounded deque of log entries). The main window drains every feed from one GUI timer, so a
service doing tens of thousands of orders per second costs the event loop one drain per
tick, never one signal per message.

Stopping: `Service.stop()` is thread-safe (it sets a `threading.Event`). The runner's
`stop_requested` signal is wired to `ServiceWorker.stop` with a `DirectConnection`, so the
slot runs at once on the GUI thread; a queued connection would wait for the worker
thread's event loop, which never turns while `run()` blocks in the service.
"""

from __future__ import annotations

import threading
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from orderdesk.config import Settings
from orderdesk.domain import LogEntry, LogLevel

#: Log entries kept per service between two drains; older ones are counted as dropped.
FEED_CAPACITY = 2_000


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
    """Thread-safe hand-over from a service thread to the GUI timer. Bounded."""

    def __init__(self, capacity: int = FEED_CAPACITY) -> None:
        self._lock = threading.Lock()
        self._stats: Any = None
        self._logs: deque[LogEntry] = deque(maxlen=capacity)
        self._dropped = 0

    def put_stats(self, stats: Any) -> None:
        with self._lock:
            self._stats = stats

    def put_log(self, entry: LogEntry) -> None:
        with self._lock:
            if len(self._logs) == self._logs.maxlen:
                self._dropped += 1
            self._logs.append(entry)

    def drain(self) -> FeedBatch:
        """Take everything reported so far; stats is None when no new snapshot came."""
        with self._lock:
            batch = FeedBatch(self._stats, list(self._logs), self._dropped)
            self._stats = None
            self._logs.clear()
            self._dropped = 0
        return batch


class ServiceWorker(QObject):
    """Runs one service once, on the thread it was moved to.

    Signals:
        finished(object): `run()` returned; carries the service's result (None on failure).
        failed(str): the service raised; a one-line reason for the user.
    """

    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, factory: ServiceFactory, settings: Settings, feed: ServiceFeed) -> None:
        super().__init__()
        self._factory = factory
        self._settings = settings
        self._feed = feed
        self._lock = threading.Lock()
        self._service: StoppableService | None = None
        self._stop_requested = False

    @Slot()
    def run(self) -> None:
        result = None
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
            self.failed.emit(_describe_failure(exc))
            self._feed.put_log(
                LogEntry(
                    level=LogLevel.ERROR,
                    message="service failed",
                    service="gui",
                    error=_describe_failure(exc),
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
    from orderdesk.service.base import ServiceError

    if isinstance(exc, ServiceError):
        return str(exc)
    if isinstance(exc, ImportError):
        return f"service not available: {exc}"
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" ({last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


class RunState(StrEnum):
    STOPPED = "stopped"
    RUNNING = "running"
    STOPPING = "stopping…"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


class ServiceRunner(QObject):
    """Starts and stops one service in its own QThread; lives on the GUI thread.

    Signals:
        state_changed(str): the `RunState` value changed.
        failed(str): the last run failed; a one-line reason.
        stopped(object): the thread is gone; carries the run's result (None on failure).
        stop_requested(): wired to the worker's stop slot with a DirectConnection.
    """

    state_changed = Signal(str)
    failed = Signal(str)
    stopped = Signal(object)
    stop_requested = Signal()

    def __init__(self, name: str, factory: ServiceFactory, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._factory = factory
        self.feed = ServiceFeed()
        self._thread: QThread | None = None
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
        thread = QThread()
        thread.setObjectName(f"orderdesk-{self.name}")
        worker = ServiceWorker(self._factory, settings, self.feed)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        self.stop_requested.connect(worker.stop, Qt.ConnectionType.DirectConnection)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_worker_finished)
        # Quit from the worker's own thread: the run is over, its event loop may end.
        worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
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
        self.stop_requested.emit()

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
        thread, worker = self._thread, self._worker
        self._thread = self._worker = None
        if worker is not None:
            self.stop_requested.disconnect(worker.stop)
        if thread is not None:
            thread.wait()  # returns at once: the thread has finished; reaps it cleanly
        # Both are owned by Python (no parent): dropping the last references deletes them.
        del thread, worker
        self._set_state(RunState.FAILED if self._failed else RunState.STOPPED)
        self.stopped.emit(self.last_result)

    def _set_state(self, state: RunState) -> None:
        if state is not self._state:
            self._state = state
            self.state_changed.emit(state.value)
