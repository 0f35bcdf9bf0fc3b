"""The settings dialog: edits the common settings, validated by the same pydantic model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from orderdesk.config import ConfigError, Settings, validate_settings, write_yaml, write_yaml_data
from orderdesk.gui.settings.connection_box import ConnectionBox
from orderdesk.gui.settings.connections import (
    CONNECTION_FIELDS,
    CONNECTION_KEY,
    EMBEDDED,
    save_connection,
)
from orderdesk.gui.widgets.forms import align_labels, form

BOOTSTRAP_KEY = "kafka.bootstrap_servers"

#: The settings this dialog edits, as dotted keys; the rest pass through unchanged.
EDITED_KEYS = (
    *CONNECTION_FIELDS,
    "topics.orders",
    "topics.dlq",
    "tracker.group",
    "producer.rate",
    "producer.faulty_ratio",
    "tracker.max_retries",
    "tracker.transient_failure_rate",
    "log_dir",
)


def leave_embedded(settings: Settings) -> Settings:
    """`settings` for a real cluster: not embedded, without the embedded broker's client tweaks."""
    from orderdesk.kafka.embedded import (
        CONSUMER_PROPERTIES,
        MOCK_CONSUMER_PROPERTIES,
        PRODUCER_PROPERTIES,
    )

    kafka = settings.kafka
    tweaks = (CONSUMER_PROPERTIES, MOCK_CONSUMER_PROPERTIES)
    consumer = {
        k: v for k, v in kafka.consumer_properties.items() if all(t.get(k) != v for t in tweaks)
    }
    producer = {
        k: v for k, v in kafka.producer_properties.items() if PRODUCER_PROPERTIES.get(k) != v
    }
    kafka = kafka.model_copy(
        update={"consumer_properties": consumer, "producer_properties": producer}
    )
    return settings.model_copy(update={"kafka": kafka, "embedded": False})


def get_dotted(data: dict[str, Any], dotted: str) -> Any:
    for key in dotted.split("."):
        data = data[key]
    return data


def set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        data = data.setdefault(key, {})
    data[last] = value


class SettingsDialog(QDialog):
    """Edit the settings; `settings()` returns the validated result once accepted.

    Every edit is validated as typed (`validate_settings`, and the connection box's own
    checks of what the model takes as plain text); an error is shown under the form and
    disables OK, so no invalid settings leave the dialog. `chosen()` says which values the
    user set here: only those are remembered for the next start.
    """

    def __init__(
        self,
        settings: Settings,
        config_path: Path | None = None,
        parent: QWidget | None = None,
        store: QSettings | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("OrderDesk settings")
        self._base = settings
        self._result: Settings | None = settings
        self.config_path = config_path
        self.store = store if store is not None else QSettings()

        self.connection = ConnectionBox(settings, self.store, self)
        self.bootstrap = self.connection.bootstrap
        self.embedded_note = self.connection.embedded_note
        self.orders_topic = QLineEdit()
        self.dlq_topic = QLineEdit()
        self.group = QLineEdit()
        self.rate = QDoubleSpinBox()
        self.rate.setRange(0, 1_000_000)
        self.rate.setDecimals(2)
        self.rate.setSuffix(" orders/s")
        self.rate.setSpecialValueText("as fast as possible")
        self.faulty_ratio = _ratio_box()
        self.max_retries = QSpinBox()
        self.max_retries.setRange(0, 1000)
        self.max_retries.setSuffix(" attempts")
        self.transient_rate = _ratio_box()
        self.log_dir = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_log_dir)
        log_row = QHBoxLayout()
        log_row.setContentsMargins(0, 0, 0, 0)
        log_row.addWidget(self.log_dir, 1)
        log_row.addWidget(browse)
        log_widget = QWidget()
        log_widget.setLayout(log_row)

        topics_box = QGroupBox("Topics")
        topics_form = _form(topics_box)
        topics_form.addRow("Orders topic:", self.orders_topic)
        topics_form.addRow("Dead-letter topic:", self.dlq_topic)
        topics_form.addRow("Consumer group:", self.group)
        producer_box = QGroupBox("Producer")
        producer_form = _form(producer_box)
        producer_form.addRow("Pace:", self.rate)
        producer_form.addRow("Faulty ratio:", self.faulty_ratio)
        tracker_box = QGroupBox("Tracker")
        tracker_form = _form(tracker_box)
        tracker_form.addRow("Max processing attempts:", self.max_retries)
        tracker_form.addRow("Transient failure rate:", self.transient_rate)
        files_box = QGroupBox("Files")
        files_form = _form(files_box)
        files_form.addRow("Log directory:", log_widget)
        # One label column down the right-hand boxes, one line where their fields start.
        align_labels(topics_form, producer_form, tracker_form, files_form)

        self.error_label = QLabel()
        self.error_label.setObjectName("settingsError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #c62828; font-weight: bold;")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note = QLabel("Changes apply to the next start of a service.")
        self.note.setStyleSheet("color: #666;")

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = self.buttons.addButton(
            "Save to YAML…", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.save_button.clicked.connect(self._save_clicked)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        columns = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(self.connection)
        left.addStretch(1)
        right = QVBoxLayout()
        for box in (topics_box, producer_box, tracker_box, files_box):
            right.addWidget(box)
        right.addStretch(1)
        columns.addLayout(left, 1)
        columns.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(columns)
        layout.addWidget(self.error_label)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)

        self._load(settings)
        self._initial = self.edited_values()
        self.connection.changed.connect(self.validate)
        for edit in (self.orders_topic, self.dlq_topic, self.group, self.log_dir):
            edit.textChanged.connect(self.validate)
        for spin in (self.rate, self.faulty_ratio, self.max_retries, self.transient_rate):
            spin.valueChanged.connect(self.validate)
        self.validate()
        self.resize(900, self.sizeHint().height())

    def _load(self, settings: Settings) -> None:
        self.orders_topic.setText(settings.topics.orders)
        self.dlq_topic.setText(settings.topics.dlq)
        self.group.setText(settings.tracker.group)
        self.rate.setValue(settings.producer.rate)
        self.faulty_ratio.setValue(settings.producer.faulty_ratio)
        self.max_retries.setValue(settings.tracker.max_retries)
        self.transient_rate.setValue(settings.tracker.transient_failure_rate)
        self.log_dir.setText(str(settings.log_dir))
        self.log_dir.setCursorPosition(0)  # a long path shows its start, not its tail
        self.log_dir.setToolTip(str(settings.log_dir))

    def edited_values(self) -> dict[str, Any]:
        """The dialog's fields but the connection's, as dotted keys."""
        return {
            "topics.orders": self.orders_topic.text().strip(),
            "topics.dlq": self.dlq_topic.text().strip(),
            "tracker.group": self.group.text().strip(),
            "producer.rate": self.rate.value(),
            "producer.faulty_ratio": self.faulty_ratio.value(),
            "tracker.max_retries": self.max_retries.value(),
            "tracker.transient_failure_rate": self.transient_rate.value(),
            "log_dir": self.log_dir.text().strip(),
        }

    def chosen(self) -> dict[str, Any]:
        """What the user set in this dialog, as dotted keys: the values to remember.

        The connection appears as `connection` (a saved name, or `embedded`) with its fields;
        choosing the embedded broker forgets the fields of a cluster chosen before.
        """
        initial = self._initial
        chosen = {k: v for k, v in self.edited_values().items() if initial.get(k) != v}
        if self.connection.chosen():
            connection = self.connection.connection()
            if self.connection.embedded:
                chosen[CONNECTION_KEY] = EMBEDDED
                chosen.update(dict.fromkeys(CONNECTION_FIELDS))
            elif connection is not None:
                chosen[CONNECTION_KEY] = connection.name
                chosen.update(connection.values())
        return chosen

    def validate(self) -> Settings | None:
        """Validate the fields; shows the error inline and returns None when invalid."""
        problem = self.connection.problem()
        data = self._base.to_yaml_dict()
        for dotted, value in self.edited_values().items():
            set_dotted(data, dotted, value)
        if not self.connection.embedded:
            for dotted, value in self.connection.values().items():
                set_dotted(data, dotted, value)
            secret = self.connection.secret()
            set_dotted(data, "kafka.sasl_password", secret)
        result: Settings | None = None
        if not problem:
            try:
                result = validate_settings(data)
            except ConfigError as exc:
                problem = str(exc)
        if result is not None:
            if self.connection.embedded:
                result = result.model_copy(update={"embedded": True})
            elif self._base.embedded:
                result = leave_embedded(result)
        self._result = result
        self.error_label.setText(problem)
        self.error_label.setVisible(bool(problem))
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(result is not None)
        self.save_button.setEnabled(result is not None)
        return result

    def settings(self) -> Settings | None:
        return self._result

    def accept(self) -> None:
        """Keep a cluster typed or changed here as a named connection, its secret in the
        keyring (where there is one); then close."""
        if self.validate() is None:
            return
        connection = self.connection.connection()
        if connection is not None and self.connection.chosen():
            save_connection(self.store, connection)
            secret = self.connection.secret()
            if secret:
                self.secret_problem = self.connection.secrets.set(connection.name, secret)
        super().accept()

    #: Why a password typed here was not stored ("" when it was, or none was typed).
    secret_problem = ""

    def save_to(self, path: Path) -> bool:
        """Write the edited settings to `path`; False (error shown) when invalid or unwritable."""
        settings = self.validate()
        if settings is None:
            return False
        try:
            if settings.embedded:
                # The embedded broker's address changes every run: leave the cluster out,
                # so that loading the file decides on the broker afresh.
                data = leave_embedded(settings).to_yaml_dict()
                data["kafka"].pop("bootstrap_servers", None)
                data.pop("embedded", None)
                write_yaml_data(data, path)
            else:
                write_yaml(settings, path)
        except OSError as exc:
            self.error_label.setText(f"cannot write {path}: {exc.strerror or exc}")
            self.error_label.show()
            return False
        self.config_path = path
        self.note.setText(f"Saved to {path}")
        return True

    def _save_clicked(self) -> None:
        start = str(self.config_path or Path.home() / "orderdesk.yaml")
        name, _ = QFileDialog.getSaveFileName(
            self, "Save settings", start, "YAML files (*.yaml *.yml);;All files (*)"
        )
        if name:
            self.save_to(Path(name))

    def _browse_log_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Log directory", self.log_dir.text())
        if path:
            self.log_dir.setText(path)


def _ratio_box() -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0, 1)
    box.setDecimals(3)
    box.setSingleStep(0.05)
    return box


def _form(parent: QWidget) -> QFormLayout:
    return form(parent)
