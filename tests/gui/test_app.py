"""run_gui: opens the window with the stored preferences and returns when it is closed."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from orderdesk.config import APP_NAME, Settings
from orderdesk.gui.app import ORGANIZATION, run_gui
from orderdesk.gui.main_window import MainWindow
from tests.interrupt import interrupt_self


def test_run_gui_opens_the_window_and_returns_on_sigint(qapp, tmp_path: Path, monkeypatch) -> None:
    # Keep the user's real preferences out of it.
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    names = qapp.organizationName(), qapp.applicationName()
    qapp.setOrganizationName(ORGANIZATION)
    qapp.setApplicationName(APP_NAME)
    stored = {"tracker.group": "remembered-group"}
    QSettings().setValue("settings/last", json.dumps(stored))
    monkeypatch.setattr("orderdesk.gui.main_window.PROBE_TIMEOUT", 0.5)
    seen: dict[str, object] = {}

    def inspect() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        window = next(w for w in windows if w.isVisible())
        seen["title"] = window.windowTitle()
        seen["group"] = window.settings.tracker.group
        interrupt_self()  # handled by the app: closes the window

    QTimer.singleShot(300, inspect)
    settings = Settings(kafka={"bootstrap_servers": "127.0.0.1:1"}, log_dir=tmp_path / "logs")
    try:
        assert run_gui(settings, None) == 0
    finally:
        qapp.setOrganizationName(names[0])
        qapp.setApplicationName(names[1])
    assert seen == {"title": "OrderDesk", "group": "remembered-group"}
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
