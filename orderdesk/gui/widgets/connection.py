"""Whether the broker answers: a background check and the status bar's indicator."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QLabel, QWidget

from orderdesk.config import KafkaSettings
from orderdesk.gui.widgets.threads import WorkerThread


class ProbeWorker(QObject):
    """One `describe_cluster` call, on a thread of its own; never on the GUI thread.

    Signals:
        finished(str, object, str): bootstrap servers, ClusterInfo or None, error text.
    """

    finished = Signal(str, object, str)

    def __init__(self, kafka: KafkaSettings, timeout: float) -> None:
        super().__init__()
        # librdkafka would print every refused connection to stderr; the indicator says it.
        quiet = {**kafka.properties, "log_level": 0}
        self._kafka = kafka.model_copy(update={"properties": quiet})
        self._timeout = timeout

    @Slot()
    def run(self) -> None:
        from orderdesk.kafka.clients import describe_cluster
        from orderdesk.kafka.errors import error_text

        servers = self._kafka.bootstrap_servers
        try:
            info = describe_cluster(self._kafka, timeout=self._timeout)
        except Exception as exc:  # any failure means "not connected", shown with its reason
            self.finished.emit(servers, None, error_text(exc))
        else:
            self.finished.emit(servers, info, "")


#: Checks still running whose owner may be gone (a closed dialog): kept until they end,
#: since a QThread destroyed while it runs takes the process down.
_running: set[WorkerThread] = set()


class ConnectionChecker(QObject):
    """Runs one broker check at a time in the background.

    Signals:
        checked(str, object, str): bootstrap servers, ClusterInfo or None, error text.
    """

    checked = Signal(str, object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: WorkerThread | None = None
        self._result: tuple[str, Any, str] | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def check(self, kafka: KafkaSettings, timeout: float) -> bool:
        """Start a check; False (nothing started) while one is under way."""
        if self._thread is not None:
            return False
        worker = ProbeWorker(kafka, timeout)
        worker.finished.connect(self._keep_result, Qt.ConnectionType.DirectConnection)
        thread = WorkerThread(worker, "orderdesk-probe")
        thread.finished.connect(self._thread_finished)
        thread.finished.connect(lambda: _running.discard(thread))
        self._thread = thread
        _running.add(thread)
        thread.start()
        return True

    def _keep_result(self, servers: str, info: Any, error: str) -> None:
        self._result = (servers, info, error)  # on the probe's thread, read once it ended

    def _thread_finished(self) -> None:
        self._thread = None
        result, self._result = self._result, None
        if result is not None:
            self.checked.emit(*result)  # not busy any more: a handler may check again


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

    def set_down(self, servers: str, text: str) -> None:
        """The embedded broker is gone: say so until it is restarted."""
        self.connected = False
        self.cluster_id = None
        self._show("#c62828", servers, text, "")

    def _show(self, color: str, servers: str, state: str, extra: str, tooltip: str = "") -> None:
        tail = f" · {extra}" if extra else ""
        kind = " (embedded, in memory only)" if self.embedded else ""
        self.setText(f"<span style='color:{color}'>●</span> <b>{servers}</b>{kind} — {state}{tail}")
        self.setToolTip(tooltip or f"Kafka at {servers}{kind}: {state}{tail}")
