"""The desktop app and the embedded broker: who decides, what is stored, what the user sees."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from orderdesk.config import APP_NAME, Settings
from orderdesk.gui.app import DEMO_FAULTY_RATIO, ORGANIZATION, run_gui
from orderdesk.gui.main_window import MainWindow
from orderdesk.gui.settings.dialog import SettingsDialog
from orderdesk.kafka.embedded import BACKEND_ENV, MOCK_NOTICE, EmbeddedBrokerError, find_binary
from tests.interrupt import interrupt_self

#: Nothing listens there.
NOWHERE = "127.0.0.1:1"


def _has_embedded_broker() -> bool:
    try:
        find_binary()
    except EmbeddedBrokerError:
        return False
    return True


needs_embedded = pytest.mark.skipif(
    not _has_embedded_broker(), reason="no embedded broker binary here"
)


@pytest.fixture
def user_store(qapp, tmp_path: Path, monkeypatch):
    """run_gui's default QSettings, in a temporary folder."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    names = qapp.organizationName(), qapp.applicationName()
    qapp.setOrganizationName(ORGANIZATION)
    qapp.setApplicationName(APP_NAME)
    monkeypatch.setattr("orderdesk.gui.main_window.PROBE_TIMEOUT", 0.5)
    yield QSettings()
    qapp.setOrganizationName(names[0])
    qapp.setApplicationName(names[1])


def _visible_window() -> MainWindow:
    windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
    return next(w for w in windows if w.isVisible())


def _embedded_settings(tmp_path: Path) -> Settings:
    return Settings(
        kafka={"bootstrap_servers": "127.0.0.1:45678", "consumer_properties": {}},
        log_dir=tmp_path / "logs",
        embedded=True,
    )


def test_a_cluster_saved_in_the_dialog_wins_over_the_embedded_broker(
    user_store, tmp_path: Path, monkeypatch
) -> None:
    # No flag, variable or file names a cluster, but the dialog saved one.

    def no_embedded(*_args: object) -> None:
        raise AssertionError("the embedded broker must not start")

    monkeypatch.setattr("orderdesk.kafka.embedded.start_embedded", no_embedded)
    user_store.setValue("settings/last", json.dumps({"kafka.bootstrap_servers": NOWHERE}))
    seen: dict[str, object] = {}

    def inspect() -> None:
        window = _visible_window()
        seen["servers"] = window.settings.kafka.bootstrap_servers
        seen["embedded"] = window.settings.embedded
        seen["banner"] = window.embedded_banner.isVisible()
        seen["demo"] = window.demo
        interrupt_self()

    QTimer.singleShot(300, inspect)
    assert run_gui(Settings(log_dir=tmp_path / "logs"), None, bootstrap_configured=False) == 0
    assert seen == {"servers": NOWHERE, "embedded": False, "banner": False, "demo": False}


def test_the_embedded_address_is_never_stored(
    qtbot, qsettings, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr("orderdesk.gui.main_window.PROBE_TIMEOUT", 0.5)
    qsettings.setValue("settings/last", json.dumps({"kafka.bootstrap_servers": "kafka:9092"}))
    window = MainWindow(_embedded_settings(tmp_path), None, qsettings, probe_interval_ms=60_000)
    qtbot.addWidget(window)
    window.show()
    assert window.embedded_banner.isVisible()
    assert "in memory only" in window.embedded_banner.label.text()
    assert "--bootstrap-servers" in window.embedded_banner.label.text()
    window.save_last_settings()
    stored = json.loads(qsettings.value("settings/last"))
    assert stored["kafka.bootstrap_servers"] == "kafka:9092"
    # Pointing the window at a real cluster leaves embedded mode and its client tweaks.
    kafka = window.settings.kafka.model_copy(
        update={
            "bootstrap_servers": NOWHERE,
            "consumer_properties": {"session.timeout.ms": 6000},
            "producer_properties": {"batch.num.messages": 1},
        }
    )
    window.apply_settings(window.settings.model_copy(update={"kafka": kafka}))
    assert not window.settings.embedded
    assert window.settings.kafka.producer_properties == {}
    assert window.settings.kafka.consumer_properties == {}
    assert not window.embedded_banner.isVisible()
    assert json.loads(qsettings.value("settings/last"))["kafka.bootstrap_servers"] == NOWHERE
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)


def test_settings_dialog_says_embedded_and_saves_no_embedded_address(qtbot, tmp_path: Path) -> None:
    dialog = SettingsDialog(_embedded_settings(tmp_path))
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.embedded_note.isVisible()
    path = tmp_path / "orderdesk.yaml"
    assert dialog.save_to(path)
    text = path.read_text(encoding="utf-8")
    assert "45678" not in text and "embedded" not in text
    dialog.bootstrap.setText("kafka:9092")
    assert not dialog.embedded_note.isVisible()
    result = dialog.settings()
    assert result is not None and not result.embedded


def test_the_banner_says_what_the_mock_cluster_cannot_do(
    qtbot, qsettings, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr("orderdesk.gui.main_window.PROBE_TIMEOUT", 0.5)
    window = MainWindow(
        _embedded_settings(tmp_path),
        None,
        qsettings,
        probe_interval_ms=60_000,
        broker_notice=MOCK_NOTICE,
    )
    qtbot.addWidget(window)
    window.show()
    text = window.embedded_banner.label.text()
    assert "in memory only" in text
    assert "mock cluster" in text and "4 partitions" in text and "about 2 s" in text
    # On a real cluster the banner and its notice go.
    kafka = window.settings.kafka.model_copy(update={"bootstrap_servers": NOWHERE})
    window.apply_settings(window.settings.model_copy(update={"kafka": kafka}))
    assert not window.embedded_banner.isVisible()
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)


@pytest.mark.slow
@pytest.mark.parametrize("backend", [pytest.param("tansu", marks=needs_embedded), "mock"])
def test_demo_mode_shows_orders_flowing_with_no_setup(
    user_store, tmp_path: Path, monkeypatch, backend: str
) -> None:
    """No broker configured, none answering: run_gui starts the embedded broker and both
    services, the dashboard counts orders through the tracker and the dead-letter desk
    reads the bad ones; out of sight it keeps them aside, and shows them once its tab is
    opened. On the mock cluster (forced here as Windows gets it), the banner says what the
    mock cannot do."""
    monkeypatch.setenv(BACKEND_ENV, backend)
    tag = uuid.uuid4().hex[:8]
    # Not configured by the user (bootstrap_configured=False), and nothing answers there.
    settings = Settings(
        kafka={"bootstrap_servers": NOWHERE},
        topics={"orders": f"demo-{tag}", "dlq": f"demo-{tag}-dlq"},
        tracker={"group": f"demo-{tag}"},
        producer={"rate": 20.0},
        log_dir=tmp_path / "logs",
    )
    seen: dict[str, object] = {}
    poll = QTimer()
    poll.setInterval(200)
    waited = [0]

    def check() -> None:
        waited[0] += 1
        try:
            window = _visible_window()
        except StopIteration:
            return
        inbox = window.dlq_inbox
        if "pending" not in seen:
            received = window.dashboard.counters["received"].text().replace(",", "")
            if (received.isdigit() and int(received) > 0 and inbox.follower.pending > 0) or (
                waited[0] > 300
            ):
                # Orders counted on the dashboard, dead letters read behind the hidden tab.
                seen["received"] = int(received) if received.isdigit() else 0
                seen["pending"] = inbox.follower.pending
                seen["rows_hidden"] = inbox.model.rowCount()
                window.tabs.setCurrentWidget(inbox)
            return
        letters = inbox.model.rowCount()
        if letters > 0 or waited[0] > 400:
            poll.stop()
            seen["letters"] = letters
            seen["banner_text"] = window.embedded_banner.label.text()
            seen["embedded"] = window.settings.embedded
            seen["banner"] = window.embedded_banner.isVisible()
            seen["indicator"] = window.connection.text()
            seen["faulty_ratio"] = window.settings.producer.faulty_ratio
            seen["errors"] = [r.last_error for r in window.runners if r.last_error]
            interrupt_self()

    poll.timeout.connect(check)
    poll.start()
    assert run_gui(settings, None, bootstrap_configured=False) == 0
    assert seen["errors"] == []
    assert seen["received"] > 0
    # The dead-letter desk reads from the embedded broker; its rows wait for the tab.
    assert seen["pending"] > 0 and seen["rows_hidden"] == 0
    assert seen["letters"] > 0
    assert ("mock cluster" in str(seen["banner_text"])) == (backend == "mock")
    assert seen["embedded"] and seen["banner"]
    assert "embedded, in memory only" in str(seen["indicator"])
    assert seen["faulty_ratio"] == DEMO_FAULTY_RATIO  # the dead-letter path shows too
    stored = json.loads(QSettings().value("settings/last") or "{}")  # nothing stored at all
    assert "kafka.bootstrap_servers" not in stored
