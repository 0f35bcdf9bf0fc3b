"""Main window logic with stand-in services: controls, failures, closing, persistence."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel

from orderdesk.config import Settings
from orderdesk.domain.health import Health, Tone
from orderdesk.gui.main_window import MainWindow
from orderdesk.gui.services.runner import RunState
from orderdesk.kafka.clients import librdkafka_log, make_producer, repeated_lines
from orderdesk.service.base import Service

from .fakes import FakeFactory

#: Nothing listens there: the connection check fails fast.
NOWHERE = "127.0.0.1:1"


@pytest.fixture(autouse=True)
def without_optional_tabs(monkeypatch):
    """The audit browser and dead-letter inbox have tests of their own; here, placeholders."""
    import sys

    for name in ("orderdesk.gui.audit.browser", "orderdesk.gui.deadletters.inbox"):
        monkeypatch.setitem(sys.modules, name, None)  # importing it raises ImportError


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(kafka={"bootstrap_servers": NOWHERE}, log_dir=tmp_path / "logs")


def open_window(qtbot, settings: Settings, store: QSettings, **factories) -> MainWindow:
    factories.setdefault("producer", FakeFactory(kind="producer"))
    factories.setdefault("tracker", FakeFactory(kind="tracker"))
    window = MainWindow(settings, None, store, **factories)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def close_window(qtbot, window: MainWindow) -> None:
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)


def test_window_title_menus_and_shortcuts(qtbot, settings, qsettings) -> None:
    window = open_window(qtbot, settings, qsettings)
    assert window.windowTitle() == "OrderDesk"
    assert window.quit_action.shortcut().toString() == "Ctrl+Q"
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    services = [a for a in menus["Services"].actions() if not a.isSeparator()]
    assert all(not a.shortcut().isEmpty() for a in services)
    assert {a.text().replace("&", "") for a in services} >= {
        "Start all",
        "Stop all",
        "Start producer",
        "Stop producer",
        "Start tracker",
        "Stop tracker",
    }
    close_window(qtbot, window)


def test_start_and_stop_each_service(qtbot, settings, qsettings) -> None:
    producer, tracker = FakeFactory(kind="producer"), FakeFactory(kind="tracker")
    window = open_window(qtbot, settings, qsettings, producer=producer, tracker=tracker)
    assert not window.stop_all_action.isEnabled()
    window.start_producer_action.trigger()
    qtbot.waitUntil(lambda: window.dashboard.counters["generated"].text() not in ("0", ""))
    assert not window.start_producer_action.isEnabled()
    assert window.stop_producer_action.isEnabled()
    assert window.start_tracker_action.isEnabled()
    window.start_tracker_action.trigger()
    qtbot.waitUntil(lambda: window.dashboard.counters["received"].text() not in ("0", ""))
    assert "running" in window.tracker_state.text()
    with qtbot.waitSignal(window.producer.stopped, timeout=5000):
        window.stop_producer_action.trigger()
    assert window.tracker.state is RunState.RUNNING
    with qtbot.waitSignal(window.tracker.stopped, timeout=5000):
        window.stop_all_action.trigger()
    assert producer.built[0].stopped_cleanly and tracker.built[0].stopped_cleanly
    assert window.start_all_action.isEnabled()
    assert window.log_view.model.rowCount() > 0
    close_window(qtbot, window)


def test_a_failing_service_says_why(qtbot, settings, qsettings) -> None:
    window = open_window(
        qtbot, settings, qsettings, tracker=FakeFactory(kind="tracker", fail_with="broker gone")
    )
    with qtbot.waitSignal(window.tracker.stopped, timeout=5000):
        window.start_tracker_action.trigger()
    assert window.banner.isVisible()
    assert "broker gone" in window.banner.label.text()
    assert "broker gone" in window.statusBar().currentMessage()
    assert "failed" in window.tracker_state.text()
    window.tick()
    texts = [
        window.log_view.model.entry(i).error or "" for i in range(window.log_view.model.rowCount())
    ]
    assert any("broker gone" in t for t in texts)
    close_window(qtbot, window)


def failed_run(qtbot, window: MainWindow, name: str) -> None:
    """Start one service and wait until its failed run has ended and been drained."""
    runner = window.producer if name == "producer" else window.tracker
    action = window.start_producer_action if name == "producer" else window.start_tracker_action
    with qtbot.waitSignal(runner.stopped, timeout=5000):
        action.trigger()
    window.tick()
    assert runner.state is RunState.FAILED


def captions(window: MainWindow) -> list[str]:
    cards = window.dashboard.cards.values()
    return [c.caption.text() for c in cards] + [c.toolTip() for c in cards]


def test_a_tracker_failing_mid_run_reads_failed_not_stopped(qtbot, settings, qsettings) -> None:
    # A fatal error after some orders: counters stay, no badge judges, the reason shows.
    reason = "fatal Kafka error: Broker: Fenced instance ID"
    tracker = FakeFactory(kind="tracker", fail_with=reason, fail_after=40)
    window = open_window(qtbot, settings, qsettings, tracker=tracker)
    failed_run(qtbot, window, "tracker")
    dash = window.dashboard
    out = dash.cards["out"]
    assert out.value.text() == "—", "no rate from a service that is not running"
    assert out.caption.text() == f"failed: {reason}"
    assert out.tone is Tone.BAD
    assert dash.counters["received"].text() == "40", "the run's counters are kept"
    assert dash.health is not None
    for name, verdict in dash.health.verdicts().items():
        assert verdict.level is Health.NO_DATA, name
        assert verdict.detail == f"the tracker failed: {reason}", name
    assert not any("stopped" in text for text in captions(window))
    assert "failed" in window.tracker_state.text()
    assert reason in window.tracker_state.toolTip()
    assert reason in window.statusBar().currentMessage()
    assert window.tracker.last_result == 40, "what the run got done is not dropped"
    close_window(qtbot, window)


def test_a_tracker_failing_at_start_reads_failed_not_idle(qtbot, settings, qsettings) -> None:
    # No stats at all: the broker was unreachable within the bounded connect.
    reason = "no answer from Kafka at 127.0.0.1:1 within 1 s"
    window = open_window(
        qtbot, settings, qsettings, tracker=FakeFactory(kind="tracker", fail_with=reason)
    )
    failed_run(qtbot, window, "tracker")
    out = window.dashboard.cards["out"]
    assert out.caption.text() == f"failed: {reason}"
    assert out.tone is Tone.BAD
    assert window.dashboard.health is not None
    assert window.dashboard.health.throughput.detail == f"the tracker failed: {reason}"
    assert not any("tracker not started" in text for text in captions(window))
    close_window(qtbot, window)


def test_a_failed_producer_says_why_in_one_line(qtbot, settings, qsettings) -> None:
    producer = FakeFactory(kind="producer", fail_with="disk full\n  while writing", fail_after=5)
    window = open_window(qtbot, settings, qsettings, producer=producer)
    failed_run(qtbot, window, "producer")
    card = window.dashboard.cards["in"]
    assert card.value.text() == "—"
    assert card.caption.text() == "failed: disk full while writing"
    assert card.tone is Tone.BAD
    assert "disk full while writing" in window.producer_state.toolTip()
    assert "disk full while writing" in window.statusBar().currentMessage()
    close_window(qtbot, window)


def test_a_new_run_clears_the_failure(qtbot, settings, qsettings) -> None:
    tracker = FakeFactory(kind="tracker", fail_with="broker gone", fail_after=3)
    window = open_window(qtbot, settings, qsettings, tracker=tracker)
    failed_run(qtbot, window, "tracker")
    tracker.options.update(fail_with=None, fail_after=0)
    window.start_tracker_action.trigger()
    qtbot.waitUntil(lambda: len(tracker.built) == 2 and tracker.built[1].count > 3)
    window.tick()
    assert "failed" not in window.dashboard.cards["out"].caption.text()
    assert window.tracker_state.toolTip() == ""
    with qtbot.waitSignal(window.tracker.stopped, timeout=5000):
        window.stop_all_action.trigger()
    window.tick()
    assert window.dashboard.health is not None
    assert window.dashboard.health.throughput.detail == "the tracker is stopped"
    close_window(qtbot, window)


def test_closing_while_running_stops_services_first(qtbot, settings, qsettings) -> None:
    # A slow step: the services are inside wait() when the window closes.
    producer = FakeFactory(kind="producer", step=0.5)
    tracker = FakeFactory(kind="tracker", step=0.5)
    window = open_window(qtbot, settings, qsettings, producer=producer, tracker=tracker)
    window.start_all_action.trigger()
    qtbot.waitUntil(lambda: bool(producer.built) and bool(tracker.built))
    qtbot.waitUntil(
        lambda: producer.built[0].running.is_set() and tracker.built[0].running.is_set()
    )
    window.close()
    assert window.closing
    assert "Stopping" in window.statusBar().currentMessage()
    assert not window.start_all_action.isEnabled()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert producer.built[0].stopped_cleanly and tracker.built[0].stopped_cleanly
    assert not window.producer.is_active and not window.tracker.is_active


def test_window_state_and_settings_are_kept(qtbot, settings, qsettings) -> None:
    window = open_window(qtbot, settings, qsettings)
    window.resize(700, 520)
    window.tabs.setCurrentIndex(1)
    window.log_view.level_box.setCurrentText("WARNING")
    size = window.size()
    # What the user chose in the dialog is what is kept.
    window.apply_settings(settings, chosen={"kafka.bootstrap_servers": NOWHERE})
    close_window(qtbot, window)
    assert qsettings.value("window/tab") in (1, "1")
    assert "kafka.bootstrap_servers" in qsettings.value("settings/last")
    again = open_window(qtbot, settings, qsettings)
    assert again.tabs.currentIndex() == 1
    assert again.size() == size
    assert again.log_view.level_box.currentText() == "WARNING"
    close_window(qtbot, again)


def test_connection_indicator_shows_an_unreachable_broker(qtbot, settings, qsettings) -> None:
    window = open_window(qtbot, settings, qsettings)
    qtbot.waitUntil(lambda: window.connection.connected is False, timeout=15_000)
    assert NOWHERE in window.connection.text()
    assert "not connected" in window.connection.text()
    close_window(qtbot, window)


def test_missing_tabs_show_a_placeholder(qtbot, settings, qsettings) -> None:
    window = open_window(qtbot, settings, qsettings)
    assert isinstance(window.audit_browser, QLabel)
    assert "not available" in window.audit_browser.text()
    assert isinstance(window.dlq_inbox, QLabel)
    close_window(qtbot, window)


def test_real_tracker_without_a_broker_fails_visibly(qtbot, tmp_path, qsettings) -> None:
    from orderdesk.gui.services.runner import tracker_factory

    settings = Settings(
        kafka={"bootstrap_servers": NOWHERE, "connect_timeout": 1.0}, log_dir=tmp_path / "logs"
    )
    window = open_window(qtbot, settings, qsettings, tracker=tracker_factory)
    with qtbot.waitSignal(window.tracker.stopped, timeout=30_000):
        window.start_tracker_action.trigger()
    assert window.tracker.state is RunState.FAILED
    assert window.banner.isVisible()
    assert NOWHERE in window.banner.label.text()
    close_window(qtbot, window)


class PollingProducer(Service[None]):
    """A real Kafka producer, made as the producer service makes its own, polled until
    stopped: against a broker that is gone, librdkafka logs every refused connection."""

    name = "producer"

    def __init__(self, settings: Settings, on_stats: object, on_log: object) -> None:
        super().__init__()
        self.kafka = settings.kafka

    def run(self) -> None:
        producer = make_producer(self.kafka, error_cb=lambda _err: None, logger=librdkafka_log)
        while not self.wait(0.05):
            producer.poll(0)
        producer.flush(0)


def test_librdkafka_lines_reach_the_live_log_not_the_terminal(
    qtbot, settings, qsettings, capfd
) -> None:
    repeated_lines.clear()
    window = open_window(qtbot, settings, qsettings, producer=PollingProducer)
    model = window.log_view.model

    def librdkafka() -> list[str]:
        entries = (model.entry(i) for i in range(model.rowCount()))
        return [e.message for e in entries if e.service == "kafka.librdkafka"]

    window.start_producer_action.trigger()
    qtbot.waitUntil(lambda: any("Connection refused" in m for m in librdkafka()), timeout=10_000)
    with qtbot.waitSignal(window.producer.stopped, timeout=5000):
        window.stop_producer_action.trigger()
    close_window(qtbot, window)
    assert "Connection refused" not in capfd.readouterr().err


def test_default_layout_leaves_room_for_the_log(qtbot, settings, qsettings) -> None:
    from PySide6.QtCore import QSize
    from PySide6.QtWidgets import QTableView

    from orderdesk.gui.main_window import DEFAULT_WINDOW_SIZE, default_window_size

    assert default_window_size(QSize(1920, 1080)) == DEFAULT_WINDOW_SIZE
    assert default_window_size(QSize(1024, 700)) == (1024, 700)
    window = open_window(qtbot, settings, qsettings)
    # The README screenshot's size, a little smaller than the default one.
    window.resize(1100, 660)
    qtbot.waitUntil(lambda: window.height() == 660)
    table = window.log_view.findChild(QTableView)
    rows = table.viewport().height() / table.verticalHeader().defaultSectionSize()
    assert rows >= 5
    assert window.dashboard.height() >= window.dashboard.minimumSizeHint().height()
    close_window(qtbot, window)
