"""The embedded broker while the window is open: started on demand, watched, restarted."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from orderdesk.config import Settings
from orderdesk.kafka.embedded import InMemoryBroker

#: How often the embedded broker's process is checked (which also reaps it once it ended).
WATCH_INTERVAL_MS = 1_000


def _start_embedded(settings: Settings) -> InMemoryBroker:
    from orderdesk.kafka.embedded import start_embedded

    return start_embedded(settings)


class BrokerKeeper(QObject):
    """Owns the embedded broker, if one runs, and says when it dies on its own.

    Signals:
        died(str): the embedded broker ended without being asked; a sentence saying how.
    """

    died = Signal(str)

    def __init__(
        self,
        broker: InMemoryBroker | None = None,
        start: Callable[[Settings], InMemoryBroker] = _start_embedded,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.broker = broker
        self._start = start
        self._reported = False
        self._timer = QTimer(self)
        self._timer.setInterval(WATCH_INTERVAL_MS)
        self._timer.timeout.connect(self.check)
        if broker is not None:
            self._timer.start()

    @property
    def alive(self) -> bool:
        return self.broker is not None and self.broker.running

    def check(self) -> bool:
        """Whether the broker still runs; reports its death once."""
        broker = self.broker
        if broker is None or broker.running:
            return True
        if not self._reported:
            self._reported = True
            code = broker.returncode
            how = (
                ""
                if code is None
                else (f" (killed by signal {-code})" if code < 0 else f" (exit status {code})")
            )
            self.died.emit(
                f"The embedded broker stopped{how}: the orders it held are gone, and the "
                "services cannot reach it."
            )
        return False

    def ensure(self, settings: Settings) -> Settings:
        """`settings` pointed at a running embedded broker, started now if need be."""
        if not self.alive:
            return self.restart(settings)
        assert self.broker is not None
        return self.broker.configure(settings)

    def restart(self, settings: Settings) -> Settings:
        """A fresh embedded broker (empty: the old one's data is gone); settings for it.

        Raises `EmbeddedBrokerError` when it does not start.
        """
        self.stop()
        self.broker = self._start(settings)
        self._reported = False
        self._timer.start()
        return self.broker.configure(settings)

    def stop(self) -> None:
        """Stop watching, and stop the broker (quick: it holds nothing worth saving)."""
        self._timer.stop()
        broker, self.broker = self.broker, None
        if broker is not None:
            broker.stop()

    def pause(self) -> None:
        """Stop watching but keep the broker (the window is closing; the app stops it)."""
        self._timer.stop()
