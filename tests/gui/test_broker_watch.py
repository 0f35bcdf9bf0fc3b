"""The embedded broker is watched: its death is reported, with a restart; no zombie."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from orderdesk.config import Settings
from orderdesk.gui.main_window import MainWindow
from orderdesk.gui.services.broker import BrokerKeeper
from orderdesk.kafka.embedded import EmbeddedBroker, EmbeddedBrokerError, find_binary

from .fakes import FakeFactory
from .test_remembered_settings import FakeBroker


def _has_tansu() -> bool:
    try:
        find_binary()
    except EmbeddedBrokerError:
        return False
    return True


def _embedded(broker: FakeBroker, tmp_path: Path) -> Settings:
    return broker.configure(Settings(log_dir=tmp_path / "logs"))


def test_a_dead_embedded_broker_is_reported_and_restarted(qtbot, qsettings, tmp_path) -> None:
    first = FakeBroker(5).start()
    ports = iter([6, 7])
    keeper = BrokerKeeper(first, start=lambda _s: FakeBroker(next(ports)).start())
    producer, tracker = FakeFactory(), FakeFactory(kind="tracker")
    window = MainWindow(_embedded(first, tmp_path), None, qsettings, producer=producer,
                        tracker=tracker, probe_interval_ms=60_000, broker=keeper)  # fmt: skip
    qtbot.addWidget(window)
    window.show()
    window.start_all()
    qtbot.waitUntil(lambda: len(producer.built) == 1 and len(tracker.built) == 1)
    first.alive = False  # killed
    qtbot.waitUntil(window.banner.isVisible, timeout=5_000)
    assert "embedded broker stopped" in window.banner.label.text()
    assert "embedded broker stopped" in window.statusBar().currentMessage()
    assert "embedded broker stopped" in window.connection.text()
    assert window.banner.action_button.text() == "Restart broker"
    window.banner.action_button.click()
    assert window.settings.kafka.bootstrap_servers == "127.0.0.1:6"
    assert window.settings.embedded and not window.banner.isVisible()
    # The services that ran are started again, on the new broker.
    qtbot.waitUntil(lambda: len(producer.built) == 2 and len(tracker.built) == 2, timeout=10_000)
    assert producer.built[1].settings.kafka.bootstrap_servers == "127.0.0.1:6"
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)


@pytest.mark.skipif(not _has_tansu(), reason="no embedded broker binary here")
def test_a_killed_tansu_is_reported_and_leaves_no_zombie(qtbot) -> None:
    broker = EmbeddedBroker().start()
    keeper = BrokerKeeper(broker)
    pid = broker.pid
    assert pid is not None
    try:
        with qtbot.waitSignal(keeper.died, timeout=10_000) as died:
            os.kill(pid, signal.SIGKILL)
        assert "killed by signal 9" in died.args[0]
        state = Path(f"/proc/{pid}/stat")
        assert not state.exists(), f"a zombie is left: {state.read_text()}"
    finally:
        keeper.stop()
