"""GUI test fixtures: offscreen Qt, throwaway QSettings, and no thread left behind.

Every GUI test fails if it leaves a QThread running or a QThreadPool busy: a thread that
outlives its window is how "QThread: Destroyed while thread is still running" happens.
It fails too if it leaves a QTimer running: a timer that outlives its test fires into the
next one, on widgets that were meant to be gone.
"""

from __future__ import annotations

import os
import traceback
import weakref
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QSettings, QThread, QThreadPool, QTimer

GUI_DIR = Path(__file__).resolve().parent

#: Qt warnings of the offscreen platform itself, not of OrderDesk.
OFFSCREEN_NOISE = r"This plugin does not support propagateSizeHints\(\)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if GUI_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.gui)
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))


@pytest.fixture(autouse=True)
def no_threads_left(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail the test if a QThread it started is still running, or a pool still busy."""
    threads: weakref.WeakKeyDictionary[QThread, str] = weakref.WeakKeyDictionary()
    pools: weakref.WeakSet[QThreadPool] = weakref.WeakSet()
    thread_start = QThread.start
    pool_start = QThreadPool.start

    def start_thread(self: QThread, *args: object) -> None:
        threads[self] = "".join(traceback.format_stack(limit=6)[:-1])
        thread_start(self, *args)

    def start_pool(self: QThreadPool, *args: object) -> None:
        pools.add(self)
        pool_start(self, *args)

    monkeypatch.setattr(QThread, "start", start_thread)
    monkeypatch.setattr(QThreadPool, "start", start_pool)
    yield
    running = []
    for thread, where in list(threads.items()):
        try:
            if thread.isRunning():
                running.append(f"{thread.objectName() or thread!r} started at\n{where}")
        except RuntimeError:  # the C++ object is gone, so is the thread
            continue
    busy = []
    for pool in list(pools):
        try:
            if pool.activeThreadCount():
                busy.append(repr(pool))
        except RuntimeError:
            continue
    # Do not leave them running into the next test either.
    for thread in list(threads):
        try:
            thread.quit()
            thread.wait(10_000)
        except RuntimeError:
            continue
    assert not running, "QThreads left running:\n" + "\n".join(running)
    assert not busy, f"QThreadPools left busy: {busy}"


@pytest.fixture
def qsettings(tmp_path: Path) -> QSettings:
    """A QSettings in a file of its own, so tests never touch the user's preferences."""
    return QSettings(str(tmp_path / "orderdesk-test.ini"), QSettings.Format.IniFormat)


@pytest.fixture(autouse=True)
def no_timers_left(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail the test if a QTimer it started is still active once its widgets are closed."""
    timers: weakref.WeakKeyDictionary[QTimer, str] = weakref.WeakKeyDictionary()
    timer_start = QTimer.start

    def start_timer(self: QTimer, *args: object) -> None:
        timers[self] = "".join(traceback.format_stack(limit=6)[:-1])
        # As a slot, start() gets the signal's arguments (textChanged's text): Qt drops them.
        timer_start(self, *[a for a in args[:1] if isinstance(a, int)])

    monkeypatch.setattr(QTimer, "start", start_timer)
    yield
    active = []
    for timer, where in list(timers.items()):
        try:
            if timer.isActive():
                owner = timer.parent()
                active.append(f"{type(owner).__name__ if owner else 'no parent'} at\n{where}")
                timer.stop()
        except RuntimeError:  # the C++ object is gone, so is the timer
            continue
    assert not active, "QTimers left running:\n" + "\n".join(active)


@pytest.fixture(autouse=True)
def no_hard_exit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A window that gives up waiting for its threads ends the process; in a test it must
    not take the test run with it, so the exit is recorded and fails the test."""
    exits: list[int] = []
    monkeypatch.setattr("orderdesk.gui.main_window.hard_exit", exits.append)
    yield
    assert not exits, "a window ended the process (its quit did not finish in time)"
