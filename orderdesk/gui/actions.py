"""The window's actions, menus and toolbar."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QMainWindow, QToolBar


def make_action(
    parent: QMainWindow,
    text: str,
    shortcut: str | QKeySequence.StandardKey | None,
    slot: Callable[..., object],
    tip: str = "",
) -> QAction:
    action = QAction(text, parent)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(slot)
    action.setStatusTip(tip or text)
    action.setToolTip(
        f"{tip or text} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
        if shortcut is not None
        else tip or text
    )
    return action


def bundled_icon(name: str) -> QIcon | None:
    """resources/icon-`name`.svg as an icon (sharp at any scale), or None: from the source
    tree this module is in when there is one, else from the installed resources."""
    from orderdesk.gui.main_window import resources_dir

    for folder in (Path(__file__).resolve().parents[2] / "resources", resources_dir()):
        path = folder / f"icon-{name}.svg"
        if path.exists():
            return QIcon(str(path))
    return None


@dataclass
class WindowSlots:
    """What the actions do."""

    start_all: Callable[[], None]
    stop_all: Callable[[], None]
    start_producer: Callable[[], None]
    stop_producer: Callable[[], None]
    start_tracker: Callable[[], None]
    stop_tracker: Callable[[], None]
    settings: Callable[[], None]
    check: Callable[[], None]
    quit: Callable[[], object]
    about: Callable[[], None]
    show_tab: Callable[[int], None]
    focus_log: Callable[[], None]
    #: Follow a tracker's log folder (asks which).
    watch_logs: Callable[[], None] | None = None


class WindowActions:
    """Every action of the main window; `install()` puts them in menus and the toolbar."""

    def __init__(
        self, window: QMainWindow, slots: WindowSlots, tabs: Sequence[tuple[str, str]]
    ) -> None:
        act = lambda *args: make_action(window, *args)  # noqa: E731
        sp = window.style().StandardPixmap
        self.start_producer = act(
            "Start &producer", "Ctrl+P", slots.start_producer, "Start generating orders"
        )
        self.stop_producer = act(
            "Stop p&roducer", "Ctrl+Shift+P", slots.stop_producer, "Stop the producer"
        )
        self.start_tracker = act(
            "Start &tracker", "Ctrl+T", slots.start_tracker, "Start consuming and validating"
        )
        self.stop_tracker = act(
            "Stop tr&acker", "Ctrl+Shift+T", slots.stop_tracker, "Stop the tracker"
        )
        self.start_all = act(
            "&Start all", "F5", slots.start_all, "Start the producer and the tracker"
        )
        self.stop_all = act("St&op all", "Shift+F5", slots.stop_all, "Stop both")
        self.settings = act("&Settings…", "Ctrl+,", slots.settings, "Edit broker, topics and pace")
        self.check = act("&Check connection", "Ctrl+K", slots.check, "Ask the broker now")
        self.quit = act("&Quit", "Ctrl+Q", slots.quit, "Stop services and quit")
        self.quit.setMenuRole(QAction.MenuRole.QuitRole)
        self.about = act("&About OrderDesk", None, slots.about)
        self.tabs = [
            act(f"&{i + 1} {title}", shortcut, lambda _=False, i=i: slots.show_tab(i))
            for i, (title, shortcut) in enumerate(tabs)
        ]
        self.focus_log = act("Focus &log filter", "Ctrl+L", slots.focus_log)
        watch = slots.watch_logs
        self.watch_logs = act(
            "&Watch log folder…",
            "Ctrl+Shift+O",
            (lambda _=False: watch()) if watch is not None else (lambda _=False: None),
            "Follow a tracker's log folder: its live log, audit trail and event counts",
        )
        self.watch_logs.setEnabled(watch is not None)
        # The bundled icons (resources/icon-*.svg), Qt's standard ones where one is missing.
        for action, name, fallback in (
            (self.start_all, "start", sp.SP_MediaPlay),
            (self.stop_all, "stop", sp.SP_MediaStop),
            (self.start_producer, "start", sp.SP_MediaPlay),
            (self.stop_producer, "stop", sp.SP_MediaStop),
            (self.start_tracker, "start", sp.SP_MediaPlay),
            (self.stop_tracker, "stop", sp.SP_MediaStop),
            (self.settings, "settings", sp.SP_FileDialogDetailedView),
            (self.check, "check", sp.SP_BrowserReload),
            (self.watch_logs, "folder", sp.SP_DirOpenIcon),
        ):
            action.setIcon(bundled_icon(name) or window.style().standardIcon(fallback))

    def install(self, window: QMainWindow) -> QToolBar:
        bar = window.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.watch_logs)
        file_menu.addAction(self.settings)
        file_menu.addSeparator()
        file_menu.addAction(self.quit)
        services = bar.addMenu("&Services")
        for group in (
            (self.start_all, self.stop_all),
            (self.start_producer, self.stop_producer),
            (self.start_tracker, self.stop_tracker),
            (self.check,),
        ):
            if services.actions():
                services.addSeparator()
            for action in group:
                services.addAction(action)
        view = bar.addMenu("&View")
        for action in (*self.tabs, self.focus_log):
            view.addAction(action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about)

        toolbar = QToolBar("Services")
        toolbar.setObjectName("servicesToolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.setMovable(False)
        for group in (
            (self.start_all, self.stop_all),
            (self.start_producer, self.stop_producer),
            (self.start_tracker, self.stop_tracker),
            (self.settings,),
        ):
            if toolbar.actions():
                toolbar.addSeparator()
            for action in group:
                toolbar.addAction(action)
        window.addToolBar(toolbar)
        return toolbar
