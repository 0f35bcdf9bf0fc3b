"""The main window: composes the tabs, the service controls, the banners and the status bar."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import (
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from orderdesk import __version__
from orderdesk.config import Settings
from orderdesk.domain import LogLevel
from orderdesk.gui.actions import WindowActions, WindowSlots
from orderdesk.gui.broker_status import BrokerStatus
from orderdesk.gui.dashboard.dashboard import Dashboard
from orderdesk.gui.folder_link import LogFolderLink
from orderdesk.gui.log.view import LogView
from orderdesk.gui.quit import QUIT_MARGIN, QuitSequence
from orderdesk.gui.services.broker import BrokerKeeper
from orderdesk.gui.services.desk import ServiceDesk
from orderdesk.gui.services.runner import ServiceFactory, producer_factory, tracker_factory
from orderdesk.gui.settings.apply import changed_choices, settings_to_use
from orderdesk.gui.settings.connections import remember
from orderdesk.gui.settings.dialog import SettingsDialog
from orderdesk.gui.settings.store import (
    DEFAULT_WINDOW_SIZE,
    WindowStore,
    default_window_size,
)
from orderdesk.gui.tab import Tab, TabFactory, WidgetTab, build_tab
from orderdesk.gui.widgets.banners import EmbeddedBanner, ErrorBanner
from orderdesk.kafka.embedded import EmbeddedBrokerError, InMemoryBroker

__all__ = ["DEFAULT_WINDOW_SIZE", "MainWindow", "app_icon", "default_window_size"]

log = logging.getLogger("orderdesk.gui")

#: Period and timeout of the background broker check.
PROBE_INTERVAL_MS = 5_000
PROBE_TIMEOUT = 3.0


def audit_tab(settings: Settings) -> Tab:
    from orderdesk.gui.audit.browser import AuditTab

    return AuditTab(settings)


def dead_letters_tab(settings: Settings) -> Tab:
    from orderdesk.gui.deadletters.inbox import DeadLettersTab

    return DeadLettersTab(settings)


def pipeline_tab(settings: Settings) -> Tab:
    from orderdesk.gui.monitor.tab import PipelineTab

    return PipelineTab(settings)


#: The tabs after the dashboard: title, shortcut, what the placeholder names, factory.
FEATURE_TABS: tuple[tuple[str, str, str, TabFactory], ...] = (
    ("Audit trail", "Ctrl+2", "audit trail browser", audit_tab),
    ("Dead letters", "Ctrl+3", "dead-letter inbox", dead_letters_tab),
    ("Pipeline", "Ctrl+4", "pipeline monitor", pipeline_tab),
)


class MainWindow(QMainWindow):
    """The OrderDesk window: composes the tabs, the services (`ServiceDesk`), the broker's
    status (`BrokerStatus`), the followed log folder (`LogFolderLink`) and the bounded quit
    (`QuitSequence`).

    Closing it while services run asks them to stop, shows 'Stopping…', and closes once
    every thread has ended, without blocking the loop; at the announced limit, or on a
    second Ctrl+Q, the process exits without waiting any longer.
    """

    def __init__(
        self,
        settings: Settings,
        config_path: Path | None = None,
        store: QSettings | None = None,
        producer: ServiceFactory = producer_factory,
        tracker: ServiceFactory = tracker_factory,
        probe_interval_ms: int = PROBE_INTERVAL_MS,
        demo: bool = False,
        broker_notice: str = "",
        broker: InMemoryBroker | BrokerKeeper | None = None,
        exit_now: Callable[[int], object] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        #: What the embedded broker cannot do that a cluster does (the mock cluster's
        #: limits), shown in its banner; "" for Tansu or a real cluster.
        self.broker_notice = broker_notice
        #: OrderDesk started the embedded broker because none was configured: the window
        #: starts both services by itself, so orders flow with no other setup.
        self.demo = demo
        #: The share of bad orders the demo chose because none was configured (set by the
        #: app); it stays with the embedded broker and is not used against a cluster.
        self.demo_faulty_ratio = 0.0
        self.config_path = config_path
        #: Ends the process when a quit cannot wait any longer for a stuck thread.
        self.exit_now = exit_now if exit_now is not None else hard_exit
        self.store = store if store is not None else QSettings()
        self.window_store = WindowStore(self.store)
        self.setWindowTitle("OrderDesk")
        icon = app_icon()
        if icon is not None:
            self.setWindowIcon(icon)
        self._close_ready = False

        self.dashboard = Dashboard()
        self.log_view = LogView()
        self.feature_tabs: list[Tab] = [
            build_tab(title, shortcut, what, factory, settings)
            for title, shortcut, what, factory in FEATURE_TABS
        ]
        self.audit_browser, self.dlq_inbox, self.pipeline_tab = (
            t.widget for t in self.feature_tabs
        )
        self.all_tabs: Sequence[Tab] = (
            WidgetTab("Dashboard", "Ctrl+1", self.dashboard),
            *self.feature_tabs,
        )
        self.banner = ErrorBanner()
        self.stopping_banner = ErrorBanner(kind="info")
        self.embedded_banner = EmbeddedBanner(self.edit_settings)
        self.tabs, self.splitter = _compose(self, self.all_tabs, self.log_view,
                                            (self.embedded_banner, self.banner,
                                             self.stopping_banner))  # fmt: skip

        self.services = ServiceDesk(
            producer, tracker, self.dashboard, self.log_view, self.banner, self.statusBar(),
            lambda: self.settings, lambda: self.closing, self,
        )  # fmt: skip
        self.producer, self.tracker = self.services.producer, self.services.tracker
        self.runners = self.services.runners
        self.tick_timer = self.services.timer
        keeper = broker if isinstance(broker, BrokerKeeper) else BrokerKeeper(broker)
        keeper.setParent(self)
        self.broker_keeper = keeper
        self.broker_status = BrokerStatus(keeper, probe_interval_ms, lambda: PROBE_TIMEOUT, self)
        self.broker_status.message.connect(self.statusBar().showMessage)
        self.broker_status.died.connect(self._broker_died)
        self.connection = self.broker_status.indicator
        self.window_actions = WindowActions(
            self, self._slots(), [(t.title, t.shortcut) for t in self.all_tabs]
        )
        self.services.actions = self.window_actions
        self.toolbar = self.window_actions.install(self)
        self._alias_actions()
        self.log_folder = LogFolderLink(
            self.feature_tabs, self.log_view.append, self.services.log, lambda: self.settings
        )
        status = self.statusBar()
        # Permanent, so that transient status messages never hide the broker's state.
        status.addPermanentWidget(self.connection, 1)
        self.producer_state, self.tracker_state = (
            self.services.producer_state, self.services.tracker_state,
        )  # fmt: skip
        status.addPermanentWidget(self.producer_state)
        status.addPermanentWidget(self.tracker_state)
        self.quitting = QuitSequence(
            self.runners, self.feature_tabs, lambda: self.broker_status.busy, self
        )
        self.quitting.ready.connect(self._close_now)
        self.quitting.overdue.connect(self._quit_overdue)

        self.broker_status.start(settings)
        self.window_store.restore(self, self.splitter, self.tabs, self.log_view.level_box)
        self._show_broker_kind()
        self.services.update_states()
        if demo:
            QTimer.singleShot(0, self.services.start_demo)

    def _slots(self) -> WindowSlots:
        return WindowSlots(
            start_all=self.start_all,
            stop_all=self.stop_all,
            start_producer=self.start_producer,
            stop_producer=self.producer.stop,
            start_tracker=self.start_tracker,
            stop_tracker=self.tracker.stop,
            settings=self.edit_settings,
            check=self.check_connection,
            quit=self.close,
            about=self.about,
            show_tab=self.tabs.setCurrentIndex,
            focus_log=self.log_view.search.setFocus,
            watch_logs=self.watch_log_folder,
        )

    def _alias_actions(self) -> None:
        a = self.window_actions
        self.start_producer_action, self.stop_producer_action = a.start_producer, a.stop_producer
        self.start_tracker_action, self.stop_tracker_action = a.start_tracker, a.stop_tracker
        self.start_all_action, self.stop_all_action = a.start_all, a.stop_all
        self.settings_action, self.check_action = a.settings, a.check
        self.quit_action, self.about_action = a.quit, a.about
        self.tab_actions, self.log_action = a.tabs, a.focus_log

    # -- services ----------------------------------------------------------------------

    def start_producer(self) -> None:
        self.services.start(self.producer)

    def start_tracker(self) -> None:
        self.services.start(self.tracker)

    def start_all(self) -> None:
        self.services.start_all()

    def stop_all(self) -> None:
        self.services.stop_all()

    def tick(self) -> None:
        """Drain every service feed and sample the dashboard (the one steady timer)."""
        self.services.tick()

    # -- broker ------------------------------------------------------------------------

    def check_connection(self) -> None:
        """Ask the broker now (Ctrl+K); the answer shows in the status bar."""
        self.broker_status.check(asked=True)

    def _show_broker_kind(self) -> None:
        embedded = self.settings.embedded
        self.embedded_banner.show_notice(self.broker_notice if embedded else "")
        self.embedded_banner.setVisible(embedded)
        self.broker_status.follow(self.settings)

    def _broker_died(self, text: str) -> None:
        self.banner.show_message(text, "Restart broker", self.restart_broker)
        self.services.log(LogLevel.ERROR, text, 30_000)

    def restart_broker(self) -> None:
        """A new, empty embedded broker; the services that ran start again on it."""
        try:
            settings = self.broker_keeper.restart(self.settings)
        except EmbeddedBrokerError as exc:
            self.banner.show_message(f"The embedded broker did not start again: {exc}")
            return
        self.banner.hide()
        self.apply_settings(settings, chosen={})
        self.services.log(
            LogLevel.INFO, f"embedded broker restarted at {settings.kafka.bootstrap_servers}"
        )
        self.services.restart_active()

    # -- settings ----------------------------------------------------------------------

    def edit_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self.config_path, self, store=self.store)
        result = dialog.settings() if dialog.exec() else None
        if result is not None:
            if result.embedded and not self.broker_keeper.alive:
                try:
                    result = self.broker_keeper.ensure(result)
                except EmbeddedBrokerError as exc:
                    self.banner.show_message(f"The embedded broker did not start: {exc}")
                    return
            self.apply_settings(result, dialog.chosen())
            if dialog.secret_problem:
                self.statusBar().showMessage(
                    f"The password was not stored ({dialog.secret_problem}): it is used "
                    "until OrderDesk quits",
                    15_000,
                )
        if dialog.config_path is not None:
            self.config_path = dialog.config_path

    def apply_settings(self, settings: Settings, chosen: dict[str, Any] | None = None) -> None:
        """Use these settings from the next service start on.

        `chosen` is what the user set (the dialog's `chosen()`): only that is remembered
        for the next start. Left out, the edited values that changed count as chosen.
        """
        old = self.settings
        settings, dropped = settings_to_use(
            old, settings, self.broker_keeper.alive, self.demo_faulty_ratio, chosen
        )
        if dropped:
            self.demo_faulty_ratio = 0.0
        self.settings = settings
        remember(self.store, changed_choices(old, settings) if chosen is None else chosen)
        self._show_broker_kind()
        for tab in self.feature_tabs:
            tab.apply_settings(old, settings)
        if any(r.is_active for r in self.runners):
            self.statusBar().showMessage("Settings saved; they apply to the next start", 8000)

    def save_last_settings(self) -> None:
        """Nothing to do: only the user's own choices are stored, when they are made."""

    # -- closing -----------------------------------------------------------------------

    @property
    def closing(self) -> bool:
        return self.quitting.started

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._close_ready:
            event.accept()
            return
        event.ignore()
        if self.closing:
            self.quitting.now()  # a second Ctrl+Q: no more waiting
            return
        self.broker_status.stop()
        limit = self.settings.producer.flush_timeout + QUIT_MARGIN
        active = [r.name for r in self.runners if r.is_active]
        if active:
            self.services.log(
                LogLevel.INFO,
                f"Stopping… waiting for the {' and '.join(active)} to finish (up to "
                f"{limit:g} s; Ctrl+Q again quits at once)",
                0,
            )
            self.stopping_banner.show_message(
                f"<b>Stopping…</b> flushing and committing, up to {limit:g} s. Quitting now "
                "leaves orders that are not committed yet for the next run.",
                "Quit now",
                self.quitting.now,
            )
        self.quitting.begin(limit)
        self.services.update_states()

    def _close_now(self) -> None:
        self._save_state()
        self._close_ready = True
        QTimer.singleShot(0, self.close)

    def _save_state(self) -> None:
        self.services.close()
        self.broker_keeper.pause()
        self.window_store.save(self, self.splitter, self.tabs, self.log_view.level_box)

    def _quit_overdue(self, left: list[str]) -> None:
        """Exit with threads still stuck (a frozen broker); say what is left for next time."""
        text = (
            f"Quit without waiting for the {' and '.join(left)}: orders not yet committed "
            "are read again on the next run"
        )
        log.warning("%s", text)
        print(f"orderdesk: {text}", file=sys.stderr, flush=True)
        self._save_state()
        self.broker_keeper.stop()  # a child process must not outlive us
        self.exit_now(0)

    def watch_log_folder(self, folder: Path | None = None) -> None:
        """Follow a tracker's log folder (ask for one when None): live log, audit, counts."""
        self.log_folder.watch(folder)

    def about(self) -> None:
        QMessageBox.about(
            self,
            "About OrderDesk",
            f"<b>OrderDesk {__version__}</b><p>Generate, track and repair order events "
            "on Apache Kafka.</p>",
        )


def hard_exit(status: int) -> None:
    """End the process now, whatever its threads are doing (no cleanup handlers run)."""
    os._exit(status)


def resources_dir() -> Path:
    """Where the icons are: the installed package, or the source tree."""
    try:
        import orderdesk.resources as resources

        return Path(resources.__file__).resolve().parent
    except ImportError:
        return Path(__file__).resolve().parents[2] / "resources"


def app_icon() -> QIcon | None:
    folder = resources_dir()
    icon = QIcon()
    for name in ("orderdesk.svg", "orderdesk.png"):
        if (folder / name).exists():
            icon.addFile(str(folder / name))
    return None if icon.isNull() else icon


def _compose(
    window: QMainWindow, tabs: Sequence[Tab], log_view: QWidget, banners: Sequence[QWidget]
) -> tuple[QTabWidget, QSplitter]:
    """The window's centre: banners over the tabs over the live log."""
    tab_widget = QTabWidget()
    tab_widget.setDocumentMode(True)
    for tab in tabs:
        tab_widget.addTab(tab.widget, tab.title)
    splitter = QSplitter(Qt.Orientation.Vertical)
    splitter.addWidget(tab_widget)
    splitter.addWidget(log_view)
    splitter.setStretchFactor(0, 3)
    splitter.setStretchFactor(1, 1)
    splitter.setChildrenCollapsible(False)
    central = QWidget()
    layout = QVBoxLayout(central)
    layout.setContentsMargins(4, 4, 4, 0)
    layout.setSpacing(4)
    for banner in banners:
        layout.addWidget(banner)
    layout.addWidget(splitter, 1)
    window.setCentralWidget(central)
    return tab_widget, splitter
