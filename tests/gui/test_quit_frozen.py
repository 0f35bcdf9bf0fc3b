"""Quit with a frozen broker, for real: the app on the embedded broker, the broker stopped
with SIGSTOP while both services run, then quit as Ctrl+Q quits (SIGTERM takes the same
path). The process must be gone within the announced limit plus 2 s, or within 2 s of a
second request, and take its broker with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orderdesk.kafka.embedded import EmbeddedBrokerError, answers, find_binary
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

#: The announced limit with the default settings: producer flush timeout 15 s + 5 s.
LIMIT = 20.0


def _has_tansu() -> bool:
    try:
        find_binary()
    except EmbeddedBrokerError:
        return False
    return True


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and SIGSTOP")
@pytest.mark.skipif(not _has_tansu(), reason="no embedded broker binary here")
@pytest.mark.parametrize(("requests", "bound"), [(1, LIMIT + 2.0), (2, 2.0)])
def test_quit_with_a_frozen_broker_is_bounded(tmp_path: Path, requests: int, bound: float):
    if answers("localhost:9092", 0.5):
        pytest.skip("a broker answers on localhost:9092: the app would not start its demo")
    home = tmp_path / "home"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
    }
    logs = tmp_path / "logs"
    app = subprocess.Popen(
        [sys.executable, "-m", "orderdesk", "--rate", "50", "--log-dir", str(logs)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    frozen: list[int] = []
    try:
        events = logs / "tracker.events"
        # Both services at work: the tracker has audited orders.
        wait_until(lambda: app.poll() is not None or (events.exists() and
                   events.stat().st_size > 2_000), what="the demo's first orders")  # fmt: skip
        assert app.poll() is None, app.stderr.read() if app.stderr else ""
        frozen = [pid for pid in _children(app.pid) if _alive(pid)]
        assert frozen, "no embedded broker process"
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        started = time.monotonic()
        app.send_signal(signal.SIGTERM)
        if requests == 2:
            # Once the first request is under way (the tracker says it is stopping), again:
            # two signals before Python's handler runs would count as one.
            log = logs / "tracker.log"
            wait_until(lambda: log.exists() and "stopping" in log.read_text(), timeout=10,
                       what="the tracker stopping")  # fmt: skip
            app.send_signal(signal.SIGTERM)
            started = time.monotonic()
        status = app.wait(timeout=LIMIT + 30)
        took = time.monotonic() - started
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        for pid in frozen:
            if _alive(pid):
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
    err = app.stderr.read() if app.stderr else ""
    assert took <= bound, f"{took:.1f} s\n{err[-2000:]}"
    assert status == 0
    assert not any(_alive(pid) for pid in frozen), "the embedded broker outlived the app"
    if requests == 2:
        assert "read again on the next run" in err
