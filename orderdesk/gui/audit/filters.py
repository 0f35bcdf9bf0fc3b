"""The audit browser's filter bar: text, order id, event type and a UTC time range."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QDateTime, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from orderdesk.audit.index import EVENT_CODES, MALFORMED, AuditFilter

FAILURES = frozenset({"order.retried", "order.rejected", "order.dead_lettered", MALFORMED})
TIME_FORMAT = "yyyy-MM-dd HH:mm:ss"


class AuditFilterBar(QWidget):
    """Two rows of filter fields; `current_filter()` reads them as an `AuditFilter`.

    Signals:
        edited(): a field changed (the browser applies the filter after a pause).
        apply_now(): Return in a text field.
        cleared(): every field was reset at once (apply without waiting).
    """

    edited = Signal()
    apply_now = Signal()
    cleared = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text_edit = QLineEdit()
        self.text_edit.setPlaceholderText("Text (case-sensitive)")
        self.text_edit.setClearButtonEnabled(True)
        self.order_edit = QLineEdit()
        self.order_edit.setPlaceholderText("Order ID")
        self.order_edit.setClearButtonEnabled(True)
        self.event_combo = QComboBox()
        self.event_combo.setToolTip("Event type")
        self.event_combo.addItem("All events", None)
        self.event_combo.addItem("Failures only", FAILURES)
        for name in EVENT_CODES:
            self.event_combo.addItem(name, frozenset({name}))
        self.event_combo.addItem("Malformed lines", frozenset({MALFORMED}))
        self.since_box = QCheckBox("From")
        self.until_box = QCheckBox("To")
        self.since_edit = QDateTimeEdit()
        self.until_edit = QDateTimeEdit()
        for edit in (self.since_edit, self.until_edit):
            edit.setDisplayFormat(TIME_FORMAT)
            edit.setCalendarPopup(True)
            edit.setEnabled(False)
            edit.dateTimeChanged.connect(self.edited)
        self.since_box.toggled.connect(self.since_edit.setEnabled)
        self.until_box.toggled.connect(self.until_edit.setEnabled)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Clear every filter")
        self.clear_button.clicked.connect(self.clear)

        for line in (self.text_edit, self.order_edit):
            line.textChanged.connect(self.edited)
            line.returnPressed.connect(self.apply_now)
        for box in (self.since_box, self.until_box):
            box.toggled.connect(self.edited)
        self.event_combo.currentIndexChanged.connect(self.edited)

        # Two rows: an order id must fit whole, and the window may be as narrow as 1000 px.
        self.order_edit.setMinimumWidth(self.fontMetrics().horizontalAdvance("0" * 38) + 24)
        first = QHBoxLayout()
        first.addWidget(self.text_edit, 1)
        first.addWidget(self.order_edit, 1)
        second = QHBoxLayout()
        second.addWidget(self.event_combo)
        second.addSpacing(12)
        second.addWidget(self.since_box)
        second.addWidget(self.since_edit)
        second.addWidget(self.until_box)
        second.addWidget(self.until_edit)
        second.addWidget(QLabel("UTC"))
        second.addStretch(1)
        second.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(first)
        layout.addLayout(second)

    def current_filter(self) -> AuditFilter:
        def when(edit: QDateTimeEdit) -> datetime:
            d = edit.dateTime()
            return datetime(
                d.date().year(), d.date().month(), d.date().day(),
                d.time().hour(), d.time().minute(), d.time().second(),
                tzinfo=UTC,
            )  # fmt: skip

        return AuditFilter(
            text=self.text_edit.text(),
            order_id=self.order_edit.text().strip(),
            event_types=self.event_combo.currentData(),
            since=when(self.since_edit) if self.since_box.isChecked() else None,
            until=when(self.until_edit) if self.until_box.isChecked() else None,
        )

    def clear(self) -> None:
        """Reset every field; `cleared` follows once (not one `edited` per field)."""
        fields = (self.text_edit, self.order_edit, self.event_combo, self.since_box, self.until_box)
        for w in fields:
            w.blockSignals(True)
        self.text_edit.clear()
        self.order_edit.clear()
        self.event_combo.setCurrentIndex(0)
        self.since_box.setChecked(False)
        self.until_box.setChecked(False)
        for w in fields:
            w.blockSignals(False)
        self.since_edit.setEnabled(False)
        self.until_edit.setEnabled(False)
        self.cleared.emit()

    def offer_times(self, first: bytes, last: bytes) -> None:
        """Show the file's own time span in the time fields while they are not in use."""
        for box, edit, value in (
            (self.since_box, self.since_edit, first),
            (self.until_box, self.until_edit, last),
        ):
            if box.isChecked() or not value:
                continue
            stamp = QDateTime.fromString(value.decode(), "yyyy-MM-ddTHH:mm:ss")
            edit.blockSignals(True)
            edit.setDateTime(stamp)
            edit.blockSignals(False)
