"""Remembered settings are what the user chose in the dialog, and nothing else."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Self

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from orderdesk.config import APP_NAME, Settings
from orderdesk.gui.app import ORGANIZATION, run_gui
from orderdesk.gui.main_window import MainWindow
from orderdesk.gui.services.broker import BrokerKeeper
from orderdesk.gui.settings.connections import (
    CHOICES_KEY,
    EMBEDDED,
    Secrets,
    bootstrap_problem,
    load_choices,
    load_connections,
)
from orderdesk.gui.settings.dialog import SettingsDialog
from orderdesk.kafka.embedded import InMemoryBroker

from .fakes import FakeFactory

NOWHERE = "127.0.0.1:1"


class FakeBroker(InMemoryBroker):
    """Stands in for the embedded broker: an address where nothing answers."""

    backend = "fake"
    started = 0

    def __init__(self, port: int = 1) -> None:
        self.port = port
        self.alive = False

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Self:
        FakeBroker.started += 1
        self.alive = True
        return self

    def stop(self, timeout: float = 1.0) -> None:
        self.alive = False

    @property
    def running(self) -> bool:
        return self.alive


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring() -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


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


def _run_and_look(settings: Settings, configured: bool) -> dict[str, object]:
    seen: dict[str, object] = {}

    def inspect() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        window = next(w for w in windows if w.isVisible())
        seen["servers"] = window.settings.kafka.bootstrap_servers
        seen["embedded"] = window.settings.embedded
        seen["rate"] = window.settings.producer.rate
        for runner in window.runners:  # demo mode starts them: not wanted here
            runner.stop()
        os.kill(os.getpid(), signal.SIGINT)

    QTimer.singleShot(300, inspect)
    assert run_gui(settings, None, bootstrap_configured=configured) == 0
    return seen


def test_flags_are_not_remembered(user_store, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("orderdesk.kafka.embedded.start_embedded", lambda *_a: FakeBroker(2))
    monkeypatch.setattr("orderdesk.kafka.embedded.answers", lambda *_a, **_k: False)
    monkeypatch.setattr("orderdesk.gui.main_window.producer_factory", FakeFactory())
    monkeypatch.setattr("orderdesk.gui.main_window.tracker_factory", FakeFactory(kind="tracker"))
    logs = tmp_path / "logs"
    # `orderdesk --bootstrap-servers X --rate 0` once ...
    once = Settings(kafka={"bootstrap_servers": NOWHERE}, producer={"rate": 0}, log_dir=logs)
    assert _run_and_look(once, configured=True) == {"servers": NOWHERE, "embedded": False,
                                                   "rate": 0}  # fmt: skip
    stored = QSettings().value(CHOICES_KEY)
    assert stored is None or not {"kafka.bootstrap_servers", "producer.rate"} & set(
        json.loads(stored)
    )
    # ... then plain `orderdesk`: the embedded broker again, at the default pace.
    seen = _run_and_look(Settings(log_dir=logs), configured=False)
    assert seen == {"servers": "127.0.0.1:2", "embedded": True, "rate": Settings().producer.rate}


def test_bootstrap_servers_are_checked_as_typed(qtbot) -> None:
    dialog = SettingsDialog(Settings(kafka={"bootstrap_servers": "kafka:9092"}), store=None)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.bootstrap.setText("not a host;;")
    assert dialog.settings() is None and not ok.isEnabled()
    assert "not a host" in dialog.error_label.text()
    assert "kafka.bootstrap_servers" in dialog.error_label.text()
    dialog.bootstrap.setText("broker-1:9092, [::1]:9093,10.0.0.7:19092")
    assert dialog.settings() is not None and ok.isEnabled()
    for bad in ("", "host", "host:0", "host:http", "a..b:9092", "h:1,,h:2"):
        assert bootstrap_problem(bad), bad


def test_the_dialog_switches_back_to_the_embedded_broker(qtbot, qsettings, tmp_path) -> None:
    settings = Settings(kafka={"bootstrap_servers": NOWHERE}, log_dir=tmp_path / "logs")
    keeper = BrokerKeeper(start=lambda _s: FakeBroker(3).start())
    window = MainWindow(settings, None, qsettings, producer=FakeFactory(),
                        tracker=FakeFactory(kind="tracker"), broker=keeper)  # fmt: skip
    qtbot.addWidget(window)
    window.show()
    dialogs: list[SettingsDialog] = []

    def choose_embedded(dialog: SettingsDialog) -> int:
        dialogs.append(dialog)
        dialog.connection.choice.setCurrentIndex(dialog.connection.choice.findData(EMBEDDED))
        assert dialog.embedded_note.isVisible() or not dialog.isVisible()
        assert dialog.settings() is not None and dialog.settings().embedded
        return 1

    SettingsDialog.exec = choose_embedded  # type: ignore[method-assign]
    try:
        window.edit_settings()
    finally:
        del SettingsDialog.exec
    assert window.settings.embedded
    assert window.settings.kafka.bootstrap_servers == "127.0.0.1:3"
    assert window.embedded_banner.isVisible()
    assert load_choices(qsettings) == {"connection": EMBEDDED}
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)


def test_a_saved_connection_keeps_its_password_in_the_keyring(
    qtbot, qsettings, memory_keyring: MemoryKeyring
) -> None:
    dialog = SettingsDialog(Settings(), store=qsettings)
    qtbot.addWidget(dialog)
    box = dialog.connection
    box.name.setText("prod")
    box.bootstrap.setText("broker-1:9092")
    box.protocol.setCurrentText("SASL_SSL")
    box.mechanism.setCurrentText("SCRAM-SHA-512")
    box.username.setText("orderdesk")
    box.password.setText("s3cret")
    result = dialog.settings()
    assert result is not None and result.kafka.sasl_password.get_secret_value() == "s3cret"
    dialog.accept()
    assert dialog.secret_problem == ""
    assert [c.name for c in load_connections(qsettings)] == ["prod"]
    assert Secrets().get("prod") == "s3cret"
    assert dialog.chosen()["connection"] == "prod"
    qsettings.sync()
    assert "s3cret" not in Path(qsettings.fileName()).read_text()

    again = SettingsDialog(Settings(), store=qsettings)
    qtbot.addWidget(again)
    choice = again.connection.choice
    assert [choice.itemText(i) for i in range(choice.count())] == [
        "Embedded demo", "prod", "Other cluster…",
    ]  # fmt: skip
    choice.setCurrentIndex(choice.findData("prod"))
    assert again.connection.password.text() == "s3cret"
    assert again.settings().kafka.sasl_mechanism == "SCRAM-SHA-512"


def test_without_a_keyring_the_password_is_not_stored_and_it_says_so(
    qtbot, qsettings, no_keyring
) -> None:
    dialog = SettingsDialog(Settings(), store=qsettings)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.connection.secret_note.isVisible()
    assert "not stored" in dialog.connection.secret_note.text()
    dialog.connection.bootstrap.setText("broker-1:9092")
    dialog.connection.password.setText("s3cret")
    dialog.accept()
    assert "keyring" in dialog.secret_problem
    qsettings.sync()
    assert "s3cret" not in Path(qsettings.fileName()).read_text()


def test_test_connection_shows_its_answer(qtbot) -> None:
    dialog = SettingsDialog(Settings(kafka={"bootstrap_servers": NOWHERE}), store=None)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.connection.tested, timeout=20_000) as result:
        dialog.connection.test_button.click()
        assert "Testing" in dialog.connection.test_result.text()
    assert result.args[0] is False
    result_text = dialog.connection.test_result.text()
    assert "✗" in result_text and "127.0.0.1:1" in result_text


@pytest.mark.kafka
def test_test_connection_against_the_real_broker(qtbot, kafka_bootstrap: str) -> None:
    dialog = SettingsDialog(Settings(kafka={"bootstrap_servers": kafka_bootstrap}), store=None)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.connection.tested, timeout=20_000) as result:
        dialog.connection.test_button.click()
    assert result.args[0] is True
    assert "Connected to" in dialog.connection.test_result.text()


def test_ctrl_k_answers_in_the_status_bar(qtbot, qsettings, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("orderdesk.gui.main_window.PROBE_TIMEOUT", 0.5)
    settings = Settings(kafka={"bootstrap_servers": NOWHERE}, log_dir=tmp_path / "logs")
    window = MainWindow(settings, None, qsettings, producer=FakeFactory(),
                        tracker=FakeFactory(kind="tracker"), probe_interval_ms=60_000)  # fmt: skip
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.connection.connected is False, timeout=15_000)
    window.statusBar().clearMessage()
    window.check_action.trigger()
    assert "Checking Kafka at 127.0.0.1:1" in window.statusBar().currentMessage()

    def answered() -> bool:
        message = window.statusBar().currentMessage()
        return "127.0.0.1:1" in message and not message.startswith("Checking")

    qtbot.waitUntil(answered, timeout=15_000)
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)


def test_the_demo_faulty_ratio_stays_with_the_demo(qtbot, qsettings, tmp_path) -> None:
    broker = FakeBroker(8).start()
    demo = broker.configure(Settings(producer={"faulty_ratio": 0.05}, log_dir=tmp_path / "l"))
    window = MainWindow(demo, None, qsettings, producer=FakeFactory(),
                        tracker=FakeFactory(kind="tracker"), probe_interval_ms=60_000,
                        broker=BrokerKeeper(broker))  # fmt: skip
    window.demo_faulty_ratio = 0.05
    qtbot.addWidget(window)
    window.show()
    kafka = demo.kafka.model_copy(update={"bootstrap_servers": NOWHERE})
    window.apply_settings(demo.model_copy(update={"kafka": kafka, "embedded": False}),
                          chosen={"kafka.bootstrap_servers": NOWHERE})  # fmt: skip
    assert window.settings.producer.faulty_ratio == 0.0
    assert "producer.faulty_ratio" not in load_choices(qsettings)
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)
