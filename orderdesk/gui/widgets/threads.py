"""The GUI's one thread idiom: a worker object moved to a fresh `QThread`, run once.

A worker is a `QObject` with a `run()` slot that does the blocking work and a `finished`
signal (any arguments) that it emits last; when it can be asked to stop, it offers a
thread-safe method that returns at once (it sets a `threading.Event` the work checks).
`WorkerThread` owns the thread: `started` runs the worker, the worker's `finished` quits
the thread from the worker's own thread, and `WorkerThread.finished` reaches the owner on
the GUI thread once the thread has ended. The owner keeps the `WorkerThread` until then:
a `QThread` destroyed while running takes the process down.

Stopping never goes through a queued slot: the worker's thread runs no event loop while
`run()` blocks, so the owner calls the worker's stop method directly.
"""

from __future__ import annotations

from typing import Any, Protocol

from PySide6.QtCore import QObject, Qt, QThread, Signal, SignalInstance


class ThreadWorker(Protocol):
    """What `WorkerThread` needs of a worker (a `QObject`)."""

    finished: SignalInstance

    def run(self) -> None: ...

    def moveToThread(self, thread: QThread) -> bool: ...


class WorkerThread(QObject):
    """Runs one worker once on a thread of its own.

    Signals:
        finished(): the thread has ended; delivered on the owner's (GUI) thread.
    """

    finished = Signal()

    def __init__(self, worker: Any, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self._thread = QThread()
        self._thread.setObjectName(name)
        worker.moveToThread(self._thread)
        self._thread.started.connect(worker.run)
        # The run is over: quit from the worker's thread, before its event loop even starts.
        worker.finished.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._thread.finished.connect(self._thread_finished)
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def is_running(self) -> bool:
        """True from `start()` until the thread has ended."""
        return self._started and not self._thread.isFinished()

    def wait(self, timeout_ms: int) -> bool:
        """Block until the thread ended; for tests and scripts, never the GUI thread."""
        return not self._started or self._thread.wait(timeout_ms)

    def _thread_finished(self) -> None:
        self._thread.wait()  # returns at once: the thread has finished; reaps it
        self.finished.emit()
