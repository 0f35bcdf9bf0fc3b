"""What the app keeps between runs in QSettings: window layout and the dialog's choices."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, QSize
from PySide6.QtWidgets import QComboBox, QMainWindow, QSplitter, QTabWidget

from orderdesk.config import Settings
from orderdesk.gui.settings.dialog import BOOTSTRAP_KEY, EDITED_KEYS, get_dotted

LAST_SETTINGS_KEY = "settings/last"

#: Preferred size of a first window: room for the plots and about eight log rows.
DEFAULT_WINDOW_SIZE = (1100, 760)


def default_window_size(available: QSize) -> tuple[int, int]:
    """The preferred first window size, shrunk to fit a small screen's available area."""
    width, height = DEFAULT_WINDOW_SIZE
    return min(width, available.width()), min(height, available.height())


def stored_json(stored: Any) -> dict[str, Any]:
    try:
        data = json.loads(stored) if stored else {}
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class WindowStore:
    """The window's geometry, splitter, tab and log level, and the last settings."""

    def __init__(self, store: QSettings) -> None:
        self.store = store

    def restore(
        self, window: QMainWindow, splitter: QSplitter, tabs: QTabWidget, level_box: QComboBox
    ) -> None:
        geometry = self.store.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            window.restoreGeometry(geometry)
        else:
            window.resize(*default_window_size(window.screen().availableGeometry().size()))
        state = self.store.value("window/state")
        if isinstance(state, QByteArray):
            window.restoreState(state)
        sizes = self.store.value("window/splitter")
        if isinstance(sizes, QByteArray):
            splitter.restoreState(sizes)
        else:
            splitter.setSizes([490, 200])
        try:
            tab = int(str(self.store.value("window/tab", 0)))
        except ValueError:
            tab = 0
        tabs.setCurrentIndex(tab if 0 <= tab < tabs.count() else 0)
        level = level_box.findText(str(self.store.value("log/level", "INFO")))
        if level >= 0:
            level_box.setCurrentIndex(level)

    def save(
        self, window: QMainWindow, splitter: QSplitter, tabs: QTabWidget, level_box: QComboBox
    ) -> None:
        self.store.setValue("window/geometry", window.saveGeometry())
        self.store.setValue("window/state", window.saveState())
        self.store.setValue("window/splitter", splitter.saveState())
        self.store.setValue("window/tab", tabs.currentIndex())
        self.store.setValue("log/level", level_box.currentText())
        self.store.sync()

    def save_last_settings(self, settings: Settings) -> None:
        """Keep the dialog's settings for the next run; never the embedded broker's address.

        The embedded broker gets a new port every run, so while it is in use the address
        stored before (if any) is kept instead.
        """
        values = {key: get_dotted(settings.to_yaml_dict(), key) for key in EDITED_KEYS}
        if settings.embedded:
            del values[BOOTSTRAP_KEY]
            previous = stored_json(self.store.value(LAST_SETTINGS_KEY))
            if BOOTSTRAP_KEY in previous:
                values[BOOTSTRAP_KEY] = previous[BOOTSTRAP_KEY]
        self.store.setValue(LAST_SETTINGS_KEY, json.dumps(values))
