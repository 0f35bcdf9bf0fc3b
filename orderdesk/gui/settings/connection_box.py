"""The settings dialog's Kafka connection: named connections, SASL/SSL, a test button."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from orderdesk.config import KafkaSettings, Settings
from orderdesk.gui.settings.connections import (
    EMBEDDED,
    EMBEDDED_NAME,
    Connection,
    Secrets,
    bootstrap_problem,
    load_connections,
)
from orderdesk.gui.widgets.connection import ConnectionChecker
from orderdesk.gui.widgets.forms import form as platform_form

#: Combo data of the entry for a cluster typed in by hand.
OTHER = ""
#: Seconds the Test connection button waits for an answer.
TEST_TIMEOUT = 5.0
PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")


class ConnectionBox(QGroupBox):
    """Which cluster: the embedded demo, a saved connection, or one typed in.

    Signals:
        changed(): a field or the choice of connection changed.
        tested(bool, str): a connection test ended; whether it answered, and the sentence.
    """

    changed = Signal()
    tested = Signal(bool, str)

    def __init__(self, settings: Settings, store: QSettings, parent: QWidget | None = None):
        super().__init__("Kafka", parent)
        self._settings = settings
        self._store = store
        self.secrets = Secrets()
        self.connections = {c.name: c for c in load_connections(store)}
        self.choice = QComboBox()
        self.choice.setObjectName("connectionChoice")
        self.choice.addItem(EMBEDDED_NAME, EMBEDDED)
        for name in self.connections:
            self.choice.addItem(name, name)
        self.choice.addItem("Other cluster…", OTHER)
        self.name = QLineEdit()
        self.name.setPlaceholderText("a name to keep this cluster under (optional)")
        self.bootstrap = QLineEdit()
        self.bootstrap.setPlaceholderText("host:port[,host:port…]")
        self.protocol = QComboBox()
        self.protocol.addItems(PROTOCOLS)
        self.mechanism = QComboBox()
        self.mechanism.addItems(MECHANISMS)
        self.mechanism.setItemText(0, "(none)")
        self.username = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.ca_location = QLineEdit()
        self.ca_location.setPlaceholderText("CA certificate file (PEM), if the cluster needs one")
        self.embedded_note = QLabel(
            "This is OrderDesk's embedded broker: it keeps orders in memory only. "
            "Choose or enter a real cluster to use it instead."
        )
        self.embedded_note.setObjectName("embeddedNote")
        self.embedded_note.setWordWrap(True)
        self.embedded_note.setStyleSheet("color: #0d3c6e;")
        ok, why = self.secrets.available()
        self.secret_note = QLabel(
            "" if ok else f"The password is not stored ({why}): it is used until OrderDesk quits."
        )
        self.secret_note.setWordWrap(True)
        self.secret_note.setStyleSheet("color: #666;")
        self.secret_note.setVisible(not ok)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test)
        self.forget_button = QPushButton("Forget")
        self.forget_button.setToolTip("Remove this saved connection")
        self.test_result = QLabel()
        self.test_result.setObjectName("testResult")
        self.test_result.setWordWrap(True)
        self.test_result.setTextFormat(Qt.TextFormat.RichText)
        self.checker = ConnectionChecker(self)
        self.checker.checked.connect(self._tested)

        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)
        test_row.addWidget(self.forget_button)
        form = platform_form(self)
        form.addRow("Connection:", self.choice)
        form.addRow("", self.embedded_note)
        form.addRow("Name:", self.name)
        form.addRow("Bootstrap servers:", self.bootstrap)
        form.addRow("Security protocol:", self.protocol)
        form.addRow("SASL mechanism:", self.mechanism)
        form.addRow("SASL user name:", self.username)
        form.addRow("SASL password:", self.password)
        form.addRow("", self.secret_note)
        form.addRow("SSL CA location:", self.ca_location)
        form.addRow(test_row)
        self._form = form

        self._loading = False
        self._load_settings(settings)
        self.choice.currentIndexChanged.connect(self._choice_changed)
        for edit in (self.bootstrap, self.name, self.username, self.password, self.ca_location):
            edit.textChanged.connect(self._edited)
        for combo in (self.protocol, self.mechanism):
            combo.currentIndexChanged.connect(self._edited)
        self.forget_button.clicked.connect(self._forget)
        self._show_state()
        #: What the box showed at first: a connection counts as chosen once it differs.
        self.initial = self.state()

    # -- loading --------------------------------------------------------------------------

    def _load_settings(self, settings: Settings) -> None:
        kafka = settings.kafka
        self._loading = True
        named = next(
            (
                c
                for c in self.connections.values()
                if c.bootstrap_servers == kafka.bootstrap_servers
            ),
            None,
        )
        if settings.embedded:
            self.choice.setCurrentIndex(0)
        elif named is not None:
            self.choice.setCurrentIndex(self.choice.findData(named.name))
        else:
            self.choice.setCurrentIndex(self.choice.findData(OTHER))
        self._fill(
            named.name if named is not None and not settings.embedded else "",
            kafka.bootstrap_servers,
            kafka.security_protocol,
            kafka.sasl_mechanism or "",
            kafka.sasl_username or "",
            kafka.sasl_password.get_secret_value() if kafka.sasl_password else "",
            str(kafka.ssl_ca_location or ""),
        )
        self._loading = False

    def _fill(self, *values: str) -> None:
        name, bootstrap, protocol, mechanism, user, password, ca = values
        self.name.setText(name)
        self.bootstrap.setText(bootstrap)
        self.protocol.setCurrentText(protocol)
        self.mechanism.setCurrentIndex(max(0, self.mechanism.findText(mechanism)))
        self.username.setText(user)
        self.password.setText(password)
        self.ca_location.setText(ca)

    def _choice_changed(self, _index: int) -> None:
        data = self.choice.currentData()
        self._loading = True
        if data == EMBEDDED:
            base = self._settings.kafka if self._settings.embedded else KafkaSettings()
            self._fill("", base.bootstrap_servers if self._settings.embedded else "", "PLAINTEXT",
                       "", "", "", "")  # fmt: skip
        elif data in self.connections:
            c = self.connections[data]
            self._fill(c.name, c.bootstrap_servers, c.security_protocol, c.sasl_mechanism or "",
                       c.sasl_username or "", self.secrets.get(c.name) or "",
                       c.ssl_ca_location or "")  # fmt: skip
        self._loading = False
        self.test_result.clear()
        self._show_state()
        self.changed.emit()

    def _edited(self, *_args: Any) -> None:
        if self._loading:
            return
        # Typing a cluster while the embedded broker is chosen means: not the embedded one.
        if self.choice.currentData() == EMBEDDED and self.sender() is self.bootstrap:
            self.choice.blockSignals(True)
            self.choice.setCurrentIndex(self.choice.findData(OTHER))
            self.choice.blockSignals(False)
            self._show_state()
        self.test_result.clear()
        self.changed.emit()

    def _show_state(self) -> None:
        embedded = self.embedded
        self.embedded_note.setVisible(embedded)
        for widget in (self.name, self.protocol, self.mechanism, self.username, self.password,
                       self.ca_location):  # fmt: skip
            widget.setEnabled(not embedded)
        self.forget_button.setVisible(self.choice.currentData() in self.connections)

    def _forget(self) -> None:
        from orderdesk.gui.settings.connections import forget_connection

        name = self.choice.currentData()
        if name in self.connections:
            forget_connection(self._store, name)
            del self.connections[name]
            self.choice.removeItem(self.choice.currentIndex())

    # -- what it says ---------------------------------------------------------------------

    @property
    def embedded(self) -> bool:
        return self.choice.currentData() == EMBEDDED

    def state(self) -> tuple[Any, ...]:
        return (self.choice.currentData(), self.name.text().strip(), *self.values().values(),
                self.password.text())  # fmt: skip

    def values(self) -> dict[str, Any]:
        """The connection fields as dotted settings keys."""
        ca = self.ca_location.text().strip()
        return {
            "kafka.bootstrap_servers": self.bootstrap.text().strip(),
            "kafka.security_protocol": self.protocol.currentText(),
            "kafka.sasl_mechanism": self.mechanism.currentText()
            if self.mechanism.currentIndex()
            else None,
            "kafka.sasl_username": self.username.text().strip() or None,
            "kafka.ssl_ca_location": ca or None,
        }

    def secret(self) -> str | None:
        return self.password.text() or None

    def problem(self) -> str:
        """Why the connection fields cannot be used, as typed; "" when they can."""
        if self.embedded:
            return ""
        problem = bootstrap_problem(self.bootstrap.text())
        if problem:
            return f"kafka.bootstrap_servers: {problem}"
        ca = self.ca_location.text().strip()
        if ca and not Path(ca).is_file():
            return f"kafka.ssl_ca_location: no file {ca}"
        return ""

    def connection(self) -> Connection | None:
        """The cluster to keep under its name (the name given, or its servers)."""
        if self.embedded or self.problem():
            return None
        values = self.values()
        name = self.name.text().strip() or values["kafka.bootstrap_servers"]
        return Connection.from_values(name, values)

    def chosen(self) -> bool:
        return self.state() != self.initial

    # -- testing --------------------------------------------------------------------------

    def test(self, kafka: KafkaSettings | None = None) -> bool:
        """Ask the cluster now, in the background; `tested` says how it went."""
        problem = self.problem()
        if problem:
            self._show_result(False, problem)
            return False
        if self.embedded and not self._settings.embedded:
            self._show_result(True, "The embedded broker starts when you press OK.")
            return False
        kafka = kafka or self.kafka_settings()
        if not self.checker.check(kafka, TEST_TIMEOUT):
            return False
        self.test_result.setText(
            f"<span style='color:#666'>Testing {html.escape(kafka.bootstrap_servers)}…</span>"
        )
        self.test_button.setEnabled(False)
        return True

    def kafka_settings(self) -> KafkaSettings:
        """The base settings' Kafka section with these fields."""
        base = self._settings.kafka
        if self.embedded:
            return base
        update: dict[str, Any] = {
            k.split(".", 1)[1]: v for k, v in self.values().items()
        }  # fmt: skip
        if update["ssl_ca_location"] is not None:
            update["ssl_ca_location"] = Path(update["ssl_ca_location"])
        secret = self.secret()
        data = base.model_dump() | update
        data["sasl_password"] = secret
        return KafkaSettings.model_validate(data)

    def _tested(self, servers: str, info: Any, error: str) -> None:
        self.test_button.setEnabled(True)
        if info is not None:
            brokers = f"{info.broker_count} broker{'s' if info.broker_count != 1 else ''}"
            self._show_result(True, f"Connected to {servers}: cluster {info.cluster_id}, {brokers}")
        else:
            # The client's sentence names the servers already, most of the time.
            text = error if servers in error else f"No answer from {servers}: {error}"
            self._show_result(False, text[:1].upper() + text[1:])

    def _show_result(self, ok: bool, text: str) -> None:
        color, mark = ("#2e7d32", "✓") if ok else ("#c62828", "✗")
        self.test_result.setText(
            f"<span style='color:{color}'><b>{mark}</b> {html.escape(text)}</span>"
        )
        self.tested.emit(ok, text)
