"""The producer and the tracker as the window runs them: start, stop, failures, the feed.

One steady timer drains both services' feeds into the dashboard and the live log; the
window's actions, status labels and banner follow the services' states.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QLabel, QStatusBar

from orderdesk.config import Settings
from orderdesk.domain import LogEntry, LogLevel
from orderdesk.gui.actions import WindowActions
from orderdesk.gui.dashboard.dashboard import Dashboard
from orderdesk.gui.log.view import LogView
from orderdesk.gui.services.runner import RunState, ServiceFactory, ServiceFeed, ServiceRunner
from orderdesk.gui.widgets.banners import ErrorBanner
from orderdesk.service.logs import ROOT_LOGGER, plain_handler

#: Period of the one timer that drains the service feeds and samples the dashboard.
TICK_MS = 250


def gui_log(level: LogLevel, message: str) -> LogEntry:
    return LogEntry(level=level, message=message, service="gui")


def state_html(name: str, state: RunState) -> str:
    color = {
        RunState.RUNNING: "#2e7d32",
        RunState.STOPPING: "#9a6700",
        RunState.FAILED: "#c62828",
    }.get(state, "#666")
    return f"{name}: <b style='color:{color}'>{state.value}</b>"


class ServiceDesk(QObject):
    """Runs the producer and the tracker for the window and shows what they do."""

    def __init__(
        self,
        producer: ServiceFactory,
        tracker: ServiceFactory,
        dashboard: Dashboard,
        log_view: LogView,
        banner: ErrorBanner,
        status: QStatusBar,
        settings: Callable[[], Settings],
        closing: Callable[[], bool],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.producer = ServiceRunner("producer", producer, self)
        self.tracker = ServiceRunner("tracker", tracker, self)
        self.runners = (self.producer, self.tracker)
        self.dashboard, self.log_view, self.banner, self.status = (
            dashboard, log_view, banner, status,
        )  # fmt: skip
        self._settings = settings
        self._closing = closing
        self.actions: WindowActions | None = None
        self.producer_state = QLabel()
        self.tracker_state = QLabel()
        for label in (self.producer_state, self.tracker_state):
            label.setContentsMargins(6, 0, 6, 0)
        #: Services to start again once they have stopped (the broker was restarted).
        self.restart_after_stop: set[str] = set()
        for runner in self.runners:
            runner.state_changed.connect(self.update_states)
            runner.failed.connect(lambda reason, r=runner: self._failed(r.name, reason))
            runner.stopped.connect(lambda _result, r=runner: self._stopped(r))
        #: What OrderDesk logs besides the services' own entries, from any thread:
        #: librdkafka's lines (`orderdesk.kafka.librdkafka`), topic set-up, ... Into the
        #: live log with the rest, not to a terminal nobody reads (`close()` ends it).
        self.other_logs = ServiceFeed()
        self._log_handler: logging.Handler | None = plain_handler(self.other_logs.put_log)
        logging.getLogger(ROOT_LOGGER).addHandler(self._log_handler)
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.setTimerType(Qt.TimerType.CoarseTimer)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def close(self) -> None:
        """The window is closing: stop the timer and the log hand-over."""
        self.timer.stop()
        if self._log_handler is not None:
            logging.getLogger(ROOT_LOGGER).removeHandler(self._log_handler)
            self._log_handler = None

    def log(self, level: LogLevel, text: str, status_ms: int | None = None) -> None:
        """A line in the live log; with `status_ms`, in the status bar too (0: until
        another message replaces it)."""
        self.log_view.append([gui_log(level, text)])
        if status_ms is not None:
            self.status.showMessage(text, status_ms)

    def start(self, runner: ServiceRunner) -> None:
        if self._closing() or runner.is_active:
            return
        self.banner.hide()
        if runner.start(self._settings()):
            self.log(LogLevel.INFO, f"{runner.name} started", 5000)

    def start_all(self) -> None:
        # The tracker first, so that it is in its group when the first orders arrive.
        self.start(self.tracker)
        self.start(self.producer)

    def stop_all(self) -> None:
        for runner in self.runners:
            runner.stop()

    def start_demo(self) -> None:
        if self._closing():
            return
        self.start_all()
        text = (
            "Demo: producer and tracker started on the embedded in-memory broker, "
            f"{self._settings().producer.faulty_ratio:.0%} of orders deliberately bad"
        )
        self.log(LogLevel.INFO, text, 15_000)

    def restart_active(self) -> None:
        """Stop the services that run; each starts again (new settings) once stopped."""
        self.restart_after_stop = {r.name for r in self.runners if r.is_active}
        for runner in self.runners:
            if runner.name in self.restart_after_stop:
                runner.stop()

    def _failed(self, name: str, reason: str) -> None:
        text = f"The {name} failed: {reason}"
        self.banner.show_message(text)
        # Until another message replaces it; the state label keeps the reason after that.
        self.status.showMessage(text)

    def _stopped(self, runner: ServiceRunner) -> None:
        if runner.state is not RunState.FAILED:
            self.log(LogLevel.INFO, f"{runner.name} stopped", 5000)
        self.tick()  # show the final counters of the run at once
        if runner.name in self.restart_after_stop:
            self.restart_after_stop.discard(runner.name)
            self.start(runner)

    def update_states(self, *_args: Any) -> None:
        p, t = self.producer.state, self.tracker.state
        a, closing = self.actions, self._closing()
        if a is not None:
            a.start_producer.setEnabled(not closing and not self.producer.is_active)
            a.stop_producer.setEnabled(p is RunState.RUNNING)
            a.start_tracker.setEnabled(not closing and not self.tracker.is_active)
            a.stop_tracker.setEnabled(t is RunState.RUNNING)
            a.start_all.setEnabled(
                not closing and not (self.producer.is_active and self.tracker.is_active)
            )
            a.stop_all.setEnabled(RunState.RUNNING in (p, t))
        for runner, label in (
            (self.producer, self.producer_state),
            (self.tracker, self.tracker_state),
        ):
            label.setText(state_html(runner.name.capitalize(), runner.state))
            failed = runner.state is RunState.FAILED
            label.setToolTip(f"The {runner.name} failed: {runner.last_error}" if failed else "")
        self.dashboard.set_producer_running(p is RunState.RUNNING)
        self.dashboard.set_tracker_running(t is RunState.RUNNING)
        if p is RunState.FAILED:
            self.dashboard.set_producer_failed(self.producer.last_error or "")
        if t is RunState.FAILED:
            self.dashboard.set_tracker_failed(self.tracker.last_error or "")

    def tick(self) -> None:
        """Drain every service feed and sample the dashboard: the one steady GUI timer."""
        logs: list[LogEntry] = []
        dropped = 0
        for runner in self.runners:
            batch = runner.feed.drain()
            if batch.stats is not None:
                if runner is self.producer:
                    self.dashboard.set_producer_stats(batch.stats)
                else:
                    self.dashboard.set_tracker_stats(batch.stats)
            logs += batch.logs
            dropped += batch.dropped
        other = self.other_logs.drain()
        logs += other.logs
        dropped += other.dropped
        if logs or dropped:
            self.log_view.append(logs, dropped)  # one insert a tick for every source
        self.dashboard.tick()
