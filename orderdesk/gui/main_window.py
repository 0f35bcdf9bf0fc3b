"""The main window: service controls, connection indicator, dashboard, log and tabs."""

from __future__ import annotations

import html
import importlib
import json
import logging
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QByteArray,
    QObject,
    QRunnable,
    QSettings,
    QSize,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from orderdesk import __version__
from orderdesk.config import KafkaSettings, Settings
from orderdesk.domain import LogEntry, LogLevel
from orderdesk.gui.dashboard.dashboard import Dashboard
from orderdesk.gui.log.view import LogView
from orderdesk.gui.services.runner import (
    RunState,
    ServiceFactory,
    ServiceRunner,
    producer_factory,
    tracker_factory,
)
from orderdesk.gui.settings.dialog import (
    BOOTSTRAP_KEY,
    EDITED_KEYS,
    SettingsDialog,
    get_dotted,
    leave_embedded,
)

log = logging.getLogger("orderdesk.gui")

#: Period of the one timer that drains the service feeds and samples the dashboard.
TICK_MS = 250
#: Period and timeout of the background broker check.
PROBE_INTERVAL_MS = 5_000
PROBE_TIMEOUT = 3.0
#: Period at which a closing window checks whether its threads are done.
CLOSE_POLL_MS = 50

TAB_DASHBOARD, TAB_AUDIT, TAB_DLQ = range(3)


class _ProbeSignals(QObject):
    """Signals:
    done(str, object, str): bootstrap servers, ClusterInfo or None, error text.
    """

    done = Signal(str, object, str)


class ConnectionProbe(QRunnable):
    """One `describe_cluster` call on a pool thread; never on the GUI thread."""

    def __init__(self, kafka: KafkaSettings, signals: _ProbeSignals) -> None:
        super().__init__()
        # librdkafka would print every refused connection to stderr; the indicator says it.
        quiet = {**kafka.properties, "log_level": 0}
        self._kafka = kafka.model_copy(update={"properties": quiet})
        self._signals = signals

    def run(self) -> None:
        from orderdesk.kafka.clients import describe_cluster

        try:
            info = describe_cluster(self._kafka, timeout=PROBE_TIMEOUT)
        except Exception as exc:  # any failure means "not connected", shown with its reason
            self._signals.done.emit(self._kafka.bootstrap_servers, None, str(exc))
        else:
            self._signals.done.emit(self._kafka.bootstrap_servers, info, "")


class ConnectionIndicator(QLabel):
    """Which broker, whether it answers, and its cluster id."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.connected: bool | None = None
        self.cluster_id: str | None = None
        #: Whether the broker is OrderDesk's embedded, in-memory one.
        self.embedded = False
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setContentsMargins(8, 0, 8, 0)

    def set_checking(self, servers: str) -> None:
        self.connected = None
        self._show("#8a8a8a", servers, "checking…", "")

    def set_result(self, servers: str, info: Any, error: str) -> None:
        if info is not None:
            self.connected = True
            self.cluster_id = info.cluster_id
            brokers = f"{info.broker_count} broker{'s' if info.broker_count != 1 else ''}"
            self._show("#2e7d32", servers, "connected", f"cluster {info.cluster_id} · {brokers}")
        else:
            self.connected = False
            self.cluster_id = None
            self._show("#c62828", servers, "not connected", "", tooltip=error)

    def _show(self, color: str, servers: str, state: str, extra: str, tooltip: str = "") -> None:
        tail = f" · {extra}" if extra else ""
        kind = " (embedded, in memory only)" if self.embedded else ""
        self.setText(f"<span style='color:{color}'>●</span> <b>{servers}</b>{kind} — {state}{tail}")
        self.setToolTip(tooltip or f"Kafka at {servers}{kind}: {state}{tail}")


#: What the embedded-broker banner says; the window's settings action is its button.
EMBEDDED_TEXT = (
    "<b>Embedded broker: orders are kept in memory only</b> and are lost when OrderDesk "
    "quits. To use a real Kafka cluster, enter its bootstrap servers in Settings (Ctrl+,) "
    "or start OrderDesk with <code>--bootstrap-servers HOST:PORT</code>."
)


class EmbeddedBanner(QFrame):
    """A blue bar above the tabs while the embedded, in-memory broker is in use."""

    def __init__(self, connect: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("embeddedBanner")
        self.setStyleSheet(
            "#embeddedBanner { background: #e8f1fb; border: 1px solid #b6d0ee;"
            " border-radius: 4px; }"
            " QLabel { color: #0d3c6e; }"
        )
        self.label = QLabel(EMBEDDED_TEXT)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        self.connect_button = QPushButton("Connect to a cluster…")
        self.connect_button.clicked.connect(connect)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.connect_button)
        self.hide()

    def show_notice(self, notice: str) -> None:
        """The in-memory warning, and below it what this embedded broker cannot do."""
        text = EMBEDDED_TEXT + (f"<br>{html.escape(notice)}" if notice else "")
        self.label.setText(text)


class ErrorBanner(QFrame):
    """A dismissable red bar at the top of the window for a service failure."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setStyleSheet(
            "#errorBanner { background: #fdecea; border: 1px solid #f5c2c0; border-radius: 4px; }"
            " QLabel { color: #8e0000; }"
        )
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QPushButton("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str) -> None:
        self.label.setText(text)
        self.show()


#: Preferred size of a first window: room for the plots and about eight log rows.
DEFAULT_WINDOW_SIZE = (1100, 760)


def default_window_size(available: QSize) -> tuple[int, int]:
    """The preferred first window size, shrunk to fit a small screen's available area."""
    width, height = DEFAULT_WINDOW_SIZE
    return min(width, available.width()), min(height, available.height())


class MainWindow(QMainWindow):
    """The OrderDesk window. Runs the producer and tracker through `ServiceRunner`s.

    Closing it while services run asks them to stop, shows 'Stopping…', and closes only
    once every service thread and connection check has ended, without blocking the loop.
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
    ) -> None:
        super().__init__()
        self.settings = settings
        #: What the embedded broker cannot do that a cluster does (the mock cluster's
        #: limits), shown in its banner; "" for Tansu or a real cluster.
        self.broker_notice = broker_notice
        #: OrderDesk started the embedded broker because none was configured: the window
        #: starts both services by itself, so orders flow with no other setup.
        self.demo = demo
        self.config_path = config_path
        self.store = store if store is not None else QSettings()
        self.setWindowTitle("OrderDesk")
        icon = app_icon()
        if icon is not None:
            self.setWindowIcon(icon)

        self.producer = ServiceRunner("producer", producer, self)
        self.tracker = ServiceRunner("tracker", tracker, self)
        self.runners = (self.producer, self.tracker)
        self._closing = False
        self._close_ready = False

        self.dashboard = Dashboard()
        self.log_view = LogView()
        self.audit_browser = self._optional_tab(
            "orderdesk.gui.audit.browser", "AuditBrowser", "audit trail browser",
            self._audit_path(),
        )  # fmt: skip
        self.dlq_inbox = self._optional_tab(
            "orderdesk.gui.deadletters.inbox", "DeadLetterInbox", "dead-letter inbox", settings
        )
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.dashboard, "Dashboard")
        self.tabs.addTab(self.audit_browser, "Audit trail")
        self.tabs.addTab(self.dlq_inbox, "Dead letters")

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(self.log_view)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)

        self.banner = ErrorBanner()
        self.embedded_banner = EmbeddedBanner(self.edit_settings)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.setSpacing(4)
        layout.addWidget(self.embedded_banner)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        self.connection = ConnectionIndicator()
        self._create_actions()
        self._create_menus_and_toolbar()
        self._create_status_bar()

        for runner in self.runners:
            runner.state_changed.connect(self._update_states)
            runner.failed.connect(lambda reason, r=runner: self._service_failed(r.name, reason))
            runner.stopped.connect(lambda result, r=runner: self._service_stopped(r.name, result))

        self.tick_timer = QTimer(self)
        self.tick_timer.setInterval(TICK_MS)
        self.tick_timer.setTimerType(Qt.TimerType.CoarseTimer)
        self.tick_timer.timeout.connect(self.tick)
        self.tick_timer.start()

        self.probe_pool = QThreadPool(self)
        self.probe_pool.setMaxThreadCount(1)
        self._probe_signals = _ProbeSignals(self)
        self._probe_signals.done.connect(self._probe_done)
        self._probe_running = False
        self.probe_timer = QTimer(self)
        self.probe_timer.setInterval(probe_interval_ms)
        self.probe_timer.timeout.connect(self.check_connection)
        self.probe_timer.start()
        QTimer.singleShot(0, self.check_connection)

        self._close_timer = QTimer(self)
        self._close_timer.setInterval(CLOSE_POLL_MS)
        self._close_timer.timeout.connect(self._poll_close)

        self._restore_state()
        self._show_broker_kind()
        self._update_states()
        if demo:
            QTimer.singleShot(0, self._start_demo)

    # -- construction ------------------------------------------------------------------

    def _optional_tab(self, module: str, cls: str, what: str, *args: Any) -> QWidget:
        """Build a tab from a module that may not be there; a placeholder says why."""
        try:
            widget_class = getattr(importlib.import_module(module), cls)
            return widget_class(*args)
        except ImportError as exc:
            text = f"The {what} is not available in this build ({exc})."
        except Exception as exc:  # a broken tab must not take the window down
            log.exception("cannot build the %s", what)
            text = f"The {what} could not be opened: {exc}"
        label = QLabel(text)
        label.setObjectName("placeholder")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        label.setStyleSheet("color: #666;")
        return label

    def _action(
        self, text: str, shortcut: str | QKeySequence.StandardKey | None, slot: Any, tip: str = ""
    ) -> QAction:
        action = QAction(text, self)
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

    def _create_actions(self) -> None:
        icons = self.style()
        sp = icons.StandardPixmap
        self.start_producer_action = self._action(
            "Start &producer", "Ctrl+P", self.start_producer, "Start generating orders"
        )
        self.stop_producer_action = self._action(
            "Stop p&roducer", "Ctrl+Shift+P", self.producer.stop, "Stop the producer"
        )
        self.start_tracker_action = self._action(
            "Start &tracker", "Ctrl+T", self.start_tracker, "Start consuming and validating"
        )
        self.stop_tracker_action = self._action(
            "Stop tr&acker", "Ctrl+Shift+T", self.tracker.stop, "Stop the tracker"
        )
        self.start_all_action = self._action(
            "&Start all", "F5", self.start_all, "Start the producer and the tracker"
        )
        self.stop_all_action = self._action("St&op all", "Shift+F5", self.stop_all, "Stop both")
        self.start_all_action.setIcon(icons.standardIcon(sp.SP_MediaPlay))
        self.stop_all_action.setIcon(icons.standardIcon(sp.SP_MediaStop))
        self.settings_action = self._action(
            "&Settings…", "Ctrl+,", self.edit_settings, "Edit broker, topics and pace"
        )
        self.check_action = self._action(
            "&Check connection", "Ctrl+K", self.check_connection, "Ask the broker now"
        )
        self.quit_action = self._action("&Quit", "Ctrl+Q", self.close, "Stop services and quit")
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.about_action = self._action("&About OrderDesk", None, self.about)
        self.tab_actions = [
            self._action(f"&{i + 1} {name}", f"Ctrl+{i + 1}", lambda _=False, i=i: self._tab(i))
            for i, name in enumerate(("Dashboard", "Audit trail", "Dead letters"))
        ]
        self.log_action = self._action("Focus &log filter", "Ctrl+L", self._focus_log)

    def _create_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        services = bar.addMenu("&Services")
        services.addAction(self.start_all_action)
        services.addAction(self.stop_all_action)
        services.addSeparator()
        services.addAction(self.start_producer_action)
        services.addAction(self.stop_producer_action)
        services.addSeparator()
        services.addAction(self.start_tracker_action)
        services.addAction(self.stop_tracker_action)
        services.addSeparator()
        services.addAction(self.check_action)
        view = bar.addMenu("&View")
        for action in self.tab_actions:
            view.addAction(action)
        view.addAction(self.log_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)

        self.toolbar = QToolBar("Services")
        self.toolbar.setObjectName("servicesToolbar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toolbar.setMovable(False)
        for action in (
            self.start_all_action,
            self.stop_all_action,
            None,
            self.start_producer_action,
            self.stop_producer_action,
            None,
            self.start_tracker_action,
            self.stop_tracker_action,
            None,
            self.settings_action,
        ):
            if action is None:
                self.toolbar.addSeparator()
            else:
                self.toolbar.addAction(action)
        self.addToolBar(self.toolbar)

    def _create_status_bar(self) -> None:
        status = self.statusBar()
        # Permanent, so that transient status messages never hide the broker's state.
        status.addPermanentWidget(self.connection, 1)
        self.producer_state = QLabel()
        self.tracker_state = QLabel()
        for label in (self.producer_state, self.tracker_state):
            label.setContentsMargins(6, 0, 6, 0)
            status.addPermanentWidget(label)

    # -- services ----------------------------------------------------------------------

    def start_producer(self) -> None:
        self._start(self.producer)

    def start_tracker(self) -> None:
        self._start(self.tracker)

    def start_all(self) -> None:
        # The tracker first, so that it is in its group when the first orders arrive.
        self._start(self.tracker)
        self._start(self.producer)

    def stop_all(self) -> None:
        for runner in self.runners:
            runner.stop()

    def _start_demo(self) -> None:
        if self._closing:
            return
        self.start_all()
        text = (
            "Demo: producer and tracker started on the embedded in-memory broker, "
            f"{self.settings.producer.faulty_ratio:.0%} of orders deliberately bad"
        )
        self.statusBar().showMessage(text, 15_000)
        self.log_view.append([_gui_log(LogLevel.INFO, text)])

    def _show_broker_kind(self) -> None:
        embedded = self.settings.embedded
        self.embedded_banner.show_notice(self.broker_notice if embedded else "")
        self.embedded_banner.setVisible(embedded)
        self.connection.embedded = embedded
        self.connection.setStatusTip(
            "Embedded broker: data in memory only; Settings (Ctrl+,) connects to a cluster"
            if embedded
            else ""
        )

    def _start(self, runner: ServiceRunner) -> None:
        if self._closing or runner.is_active:
            return
        self.banner.hide()
        if runner.start(self.settings):
            self.statusBar().showMessage(f"{runner.name} started", 5000)
            self.log_view.append([_gui_log(LogLevel.INFO, f"{runner.name} started")])

    def _service_failed(self, name: str, reason: str) -> None:
        text = f"The {name} failed: {reason}"
        self.banner.show_message(text)
        self.statusBar().showMessage(text, 30_000)

    def _service_stopped(self, name: str, result: Any) -> None:
        runner = self.producer if name == "producer" else self.tracker
        if runner.state is not RunState.FAILED:
            self.statusBar().showMessage(f"{name} stopped", 5000)
            self.log_view.append([_gui_log(LogLevel.INFO, f"{name} stopped")])
        self.tick()  # show the final counters of the run at once

    def _update_states(self, *_args: Any) -> None:
        p, t = self.producer.state, self.tracker.state
        closing = self._closing
        self.start_producer_action.setEnabled(not closing and not self.producer.is_active)
        self.stop_producer_action.setEnabled(p is RunState.RUNNING)
        self.start_tracker_action.setEnabled(not closing and not self.tracker.is_active)
        self.stop_tracker_action.setEnabled(t is RunState.RUNNING)
        self.start_all_action.setEnabled(
            not closing and not (self.producer.is_active and self.tracker.is_active)
        )
        self.stop_all_action.setEnabled(RunState.RUNNING in (p, t))
        self.producer_state.setText(_state_html("Producer", p))
        self.tracker_state.setText(_state_html("Tracker", t))
        self.dashboard.set_tracker_running(t is RunState.RUNNING)

    def tick(self) -> None:
        """Drain every service feed and sample the dashboard: the one steady GUI timer."""
        for runner in self.runners:
            batch = runner.feed.drain()
            if batch.stats is not None:
                if runner is self.producer:
                    self.dashboard.set_producer_stats(batch.stats)
                else:
                    self.dashboard.set_tracker_stats(batch.stats)
            if batch.logs or batch.dropped:
                self.log_view.append(batch.logs, batch.dropped)
        self.dashboard.tick()

    # -- connection --------------------------------------------------------------------

    def check_connection(self) -> None:
        """Start a background broker check unless one is under way."""
        if self._probe_running or self._closing:
            return
        self._probe_running = True
        if not self.connection.text():
            self.connection.set_checking(self.settings.kafka.bootstrap_servers)
        self.probe_pool.start(ConnectionProbe(self.settings.kafka, self._probe_signals))

    def _probe_done(self, servers: str, info: Any, error: str) -> None:
        self._probe_running = False
        if servers != self.settings.kafka.bootstrap_servers:
            QTimer.singleShot(0, self.check_connection)  # the settings changed meanwhile
            return
        was = self.connection.connected
        self.connection.set_result(servers, info, error)
        if was is not self.connection.connected and info is None:
            self.statusBar().showMessage(f"Kafka at {servers} does not answer: {error}", 10_000)

    # -- settings ----------------------------------------------------------------------

    def edit_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self.config_path, self)
        if dialog.exec() and dialog.settings() is not None:
            self.apply_settings(dialog.settings())
        if dialog.config_path is not None:
            self.config_path = dialog.config_path

    def apply_settings(self, settings: Settings) -> None:
        """Use these settings from the next service start on."""
        old = self.settings
        if old.embedded and settings.kafka.bootstrap_servers != old.kafka.bootstrap_servers:
            settings = leave_embedded(settings)
        self.settings = settings
        self.save_last_settings()
        self._show_broker_kind()
        if settings.kafka.bootstrap_servers != old.kafka.bootstrap_servers:
            self.connection.set_checking(settings.kafka.bootstrap_servers)
            self.check_connection()
        moved = (settings.kafka, settings.topics.dlq, settings.log_dir) != (
            old.kafka,
            old.topics.dlq,
            old.log_dir,
        )
        if moved and hasattr(self.dlq_inbox, "apply_settings"):
            self.dlq_inbox.apply_settings(settings)  # reads the new cluster's dead letters
        if settings.log_dir != old.log_dir and hasattr(self.audit_browser, "open_file"):
            path = self._audit_path()
            if path.exists():
                self.audit_browser.open_file(path)
        if any(r.is_active for r in self.runners):
            self.statusBar().showMessage("Settings saved; they apply to the next start", 8000)

    def _audit_path(self) -> Path:
        return self.settings.log_dir / "tracker.events"

    def save_last_settings(self) -> None:
        """Keep the dialog's settings for the next run; never the embedded broker's address.

        The embedded broker gets a new port every run, so while it is in use the address
        stored before (if any) is kept instead.
        """
        values = {key: get_dotted(self.settings.to_yaml_dict(), key) for key in EDITED_KEYS}
        if self.settings.embedded:
            del values[BOOTSTRAP_KEY]
            previous = _stored_json(self.store.value("settings/last"))
            if BOOTSTRAP_KEY in previous:
                values[BOOTSTRAP_KEY] = previous[BOOTSTRAP_KEY]
        self.store.setValue("settings/last", json.dumps(values))

    # -- persistence -------------------------------------------------------------------

    def _restore_state(self) -> None:
        geometry = self.store.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(*default_window_size(self.screen().availableGeometry().size()))
        state = self.store.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        splitter = self.store.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        else:
            self.splitter.setSizes([490, 200])
        try:
            tab = int(self.store.value("window/tab", 0))
        except (TypeError, ValueError):
            tab = 0
        self.tabs.setCurrentIndex(tab if 0 <= tab < self.tabs.count() else 0)
        level = self.log_view.level_box.findText(str(self.store.value("log/level", "INFO")))
        if level >= 0:
            self.log_view.level_box.setCurrentIndex(level)

    def _save_state(self) -> None:
        self.store.setValue("window/geometry", self.saveGeometry())
        self.store.setValue("window/state", self.saveState())
        self.store.setValue("window/splitter", self.splitter.saveState())
        self.store.setValue("window/tab", self.tabs.currentIndex())
        self.store.setValue("log/level", self.log_view.level_box.currentText())
        self.save_last_settings()
        self.store.sync()

    # -- closing -----------------------------------------------------------------------

    @property
    def closing(self) -> bool:
        return self._closing

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._close_ready:
            event.accept()
            return
        event.ignore()
        if self._closing:
            return
        self._closing = True
        self.probe_timer.stop()
        self.probe_pool.clear()
        active = [r.name for r in self.runners if r.is_active]
        if active:
            text = f"Stopping… waiting for the {' and '.join(active)} to finish"
            self.statusBar().showMessage(text)
            self.log_view.append([_gui_log(LogLevel.INFO, text)])
        self.stop_all()
        for tab in self._tabs_with_threads():
            started = time.monotonic()
            try:
                tab.shutdown()
            except Exception:
                log.exception("shutting down a tab failed")
            took = time.monotonic() - started
            if took > 0.5:
                log.warning("%s.shutdown() blocked for %.1f s", type(tab).__name__, took)
        self._update_states()
        # Checked from the timer, never from here: Qt ignores close() inside closeEvent().
        self._close_timer.start()

    def _tabs_with_threads(self) -> list[Any]:
        return [
            tab
            for tab in (self.audit_browser, self.dlq_inbox)
            if callable(getattr(tab, "shutdown", None))
        ]

    def _poll_close(self) -> None:
        if any(r.is_active for r in self.runners) or self.probe_pool.activeThreadCount():
            return
        # Tabs stop their threads in the background too (`busy` until they have ended).
        if any(getattr(tab, "busy", False) for tab in self._tabs_with_threads()):
            return
        self._close_timer.stop()
        self.tick_timer.stop()
        self._save_state()
        self._close_ready = True
        QTimer.singleShot(0, self.close)

    def about(self) -> None:
        QMessageBox.about(
            self,
            "About OrderDesk",
            f"<b>OrderDesk {__version__}</b><p>Generate, track and repair order events "
            "on Apache Kafka.</p>",
        )

    def _tab(self, index: int) -> None:
        self.tabs.setCurrentIndex(index)

    def _focus_log(self) -> None:
        self.log_view.search.setFocus()


def _stored_json(stored: Any) -> dict[str, Any]:
    try:
        data = json.loads(stored) if stored else {}
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _gui_log(level: LogLevel, message: str) -> LogEntry:
    return LogEntry(level=level, message=message, service="gui")


def _state_html(name: str, state: RunState) -> str:
    color = {
        RunState.RUNNING: "#2e7d32",
        RunState.STOPPING: "#9a6700",
        RunState.FAILED: "#c62828",
    }.get(state, "#666")
    return f"{name}: <b style='color:{color}'>{state.value}</b>"


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
