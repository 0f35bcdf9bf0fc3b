"""Quit is bounded: within the announced time, always; a second Ctrl+Q exits at once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from orderdesk.config import Settings
from orderdesk.gui.main_window import MainWindow

from .fakes import FakeFactory, StuckFactory

QUIT_APP = Path(__file__).with_name("quit_app.py")


@pytest.fixture
def stuck(qtbot, qsettings, tmp_path, monkeypatch):
    """A window whose producer and tracker ignore stop (a frozen broker), and whose
    process exit is recorded instead of done."""
    monkeypatch.setattr("orderdesk.gui.main_window.QUIT_MARGIN", 0.0)
    monkeypatch.setattr("orderdesk.gui.main_window.PROBE_TIMEOUT", 0.5)
    exits: list[float] = []
    producer, tracker = StuckFactory(), StuckFactory(kind="tracker")
    settings = Settings(
        kafka={"bootstrap_servers": "127.0.0.1:1"},
        producer={"flush_timeout": 1.5},
        log_dir=tmp_path / "logs",
    )
    window = MainWindow(settings, None, qsettings, producer=producer, tracker=tracker,
                        probe_interval_ms=60_000,
                        exit_now=lambda _status: exits.append(time.monotonic()))  # fmt: skip
    # Not qtbot.addWidget: its teardown would delete the window before the services end.
    window.show()
    window.start_all()
    qtbot.waitUntil(lambda: len(producer.built) == len(tracker.built) == 1)
    qtbot.waitUntil(
        lambda: producer.built[0].running.is_set() and tracker.built[0].running.is_set()
    )
    yield window, exits
    producer.release.set()
    tracker.release.set()
    qtbot.wait(1000)
    qtbot.waitUntil(lambda: not window.quitting.waiting_for(), timeout=20_000)
    window._close_ready = True
    window.close()
    window.deleteLater()


def test_quit_with_stuck_services_ends_at_the_announced_limit(qtbot, stuck, qsettings) -> None:
    window, exits = stuck
    started = time.monotonic()
    window.close()
    assert "up to 1.5 s" in window.statusBar().currentMessage()
    assert window.stopping_banner.isVisible()
    assert window.stopping_banner.action_button.text() == "Quit now"
    qtbot.waitUntil(lambda: bool(exits), timeout=10_000)
    took = exits[0] - started
    assert 1.4 <= took <= 1.5 + 2.0, took
    assert qsettings.value("window/geometry") is not None  # the layout was kept all the same


def test_a_second_ctrl_q_exits_at_once(qtbot, stuck) -> None:
    window, exits = stuck
    window.close()
    assert not exits
    started = time.monotonic()
    window.close()  # Ctrl+Q again
    assert exits and exits[0] - started < 2.0


def test_quit_now_button_exits_at_once(qtbot, stuck) -> None:
    window, exits = stuck
    window.close()
    window.stopping_banner.action_button.click()
    assert exits


def test_quit_waits_no_longer_than_it_must(qtbot, qsettings, tmp_path) -> None:
    exits: list[int] = []
    window = MainWindow(
        Settings(kafka={"bootstrap_servers": "127.0.0.1:1"}, log_dir=tmp_path / "logs"),
        None, qsettings, producer=FakeFactory(step=0.2), tracker=FakeFactory(kind="tracker"),
        probe_interval_ms=60_000, exit_now=exits.append,
    )  # fmt: skip
    qtbot.addWidget(window)
    window.show()
    window.start_all()
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert not exits  # a clean close, not an exit


@pytest.mark.parametrize(("times", "bound"), [(1, 3.0 + 2.0), (2, 2.0)])
def test_the_process_really_ends(times: int, bound: float) -> None:
    """The same through the real `os._exit`, in a process of its own."""
    proc = subprocess.Popen(
        [sys.executable, str(QUIT_APP), "3", str(times)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the window closes (or the script dies)
        assert line.strip() == "closing", proc.stderr.read() if proc.stderr else ""
        started = time.monotonic()
        status = proc.wait(timeout=bound + 10)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert took <= bound, took
    assert status == 0
    err = proc.stderr.read() if proc.stderr else ""
    assert "orders not yet committed are read again on the next run" in err
    assert "event loop returned" not in (proc.stdout.read() if proc.stdout else "")
