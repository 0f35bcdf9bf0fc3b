"""The window's layout between runs (the dialog's choices: `connections`)."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings, QSize
from PySide6.QtWidgets import QComboBox, QMainWindow, QSplitter, QTabWidget

#: Preferred size of a first window: room for the plots and about eight log rows.
DEFAULT_WINDOW_SIZE = (1100, 760)


def default_window_size(available: QSize) -> tuple[int, int]:
    """The preferred first window size, shrunk to fit a small screen's available area."""
    width, height = DEFAULT_WINDOW_SIZE
    return min(width, available.width()), min(height, available.height())


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
