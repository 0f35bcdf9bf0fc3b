"""The broker as the status bar shows it: which one, whether it answers, whether it died."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from orderdesk.config import Settings
from orderdesk.gui.services.broker import BrokerKeeper
from orderdesk.gui.widgets.connection import ConnectionChecker, ConnectionIndicator


class BrokerStatus(QObject):
    """Checks the broker every few seconds and on demand (Ctrl+K); watches the embedded one.

    Signals:
        message(str, int): a sentence for the status bar, and for how many milliseconds.
        died(str): the embedded broker ended on its own.
    """

    message = Signal(str, int)
    died = Signal(str)

    def __init__(
        self,
        keeper: BrokerKeeper,
        interval_ms: int,
        timeout: Any,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings: Settings | None = None
        self.keeper = keeper
        self._timeout = timeout
        self.indicator = ConnectionIndicator()
        self.checker = ConnectionChecker(self)
        self.checker.checked.connect(self._checked)
        self._asked = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(lambda: self.check())
        keeper.died.connect(self._died)

    def start(self, settings: Settings) -> None:
        self.follow(settings)
        self.timer.start()
        QTimer.singleShot(0, self.check)

    def stop(self) -> None:
        self.timer.stop()
        self.keeper.pause()

    @property
    def busy(self) -> bool:
        return self.checker.busy

    def follow(self, settings: Settings) -> None:
        """The window's settings changed: show that broker (checked afresh if it moved)."""
        old = self.settings
        self.settings = settings
        self.indicator.embedded = settings.embedded
        self.indicator.setStatusTip(
            "Embedded broker: data in memory only; Settings (Ctrl+,) connects to a cluster"
            if settings.embedded
            else ""
        )
        if old is not None and old.kafka.bootstrap_servers != settings.kafka.bootstrap_servers:
            self.indicator.set_checking(settings.kafka.bootstrap_servers)
            self.check()

    def check(self, asked: bool = False) -> None:
        """Ask the broker now, in the background. `asked`: the user did (Ctrl+K), so the
        answer goes to the status bar whatever it is."""
        if self.settings is None or (not self.timer.isActive() and not asked):
            return
        self._asked |= asked
        servers = self.settings.kafka.bootstrap_servers
        if asked:
            self.message.emit(f"Checking Kafka at {servers}…", 0)
        if self.settings.embedded and not self.keeper.check():
            self._asked = False
            if asked:  # its death is reported already; asking it would only time out
                self.message.emit(
                    "The embedded broker has stopped: Restart broker (in the banner) starts "
                    "a new, empty one",
                    10_000,
                )
            return
        if not self.indicator.text():
            self.indicator.set_checking(servers)
        # When one is under way, its answer comes; if it was for other settings, `_checked`
        # asks again.
        self.checker.check(self.settings.kafka, float(self._timeout()))

    def _checked(self, servers: str, info: Any, error: str) -> None:
        assert self.settings is not None
        asked, self._asked = self._asked, False
        if servers != self.settings.kafka.bootstrap_servers:
            QTimer.singleShot(0, lambda: self.check(asked))  # the settings changed meanwhile
            return
        was = self.indicator.connected
        self.indicator.set_result(servers, info, error)
        if info is not None and asked:
            brokers = f"{info.broker_count} broker{'s' if info.broker_count != 1 else ''}"
            self.message.emit(
                f"Kafka at {servers} answers: cluster {info.cluster_id}, {brokers}", 10_000
            )
        elif info is None and (asked or was is not False):
            text = error if servers in error else f"Kafka at {servers} does not answer: {error}"
            self.message.emit(text[:1].upper() + text[1:], 10_000)

    def _died(self, text: str) -> None:
        if self.settings is not None:
            self.indicator.set_down(
                self.settings.kafka.bootstrap_servers, "embedded broker stopped"
            )
        self.died.emit(text)
