"""One dead letter in full: payload, error and stack, headers, replays, and the fix tab."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from orderdesk.deadletters.entries import NOT_RECORDED, DeadLetterEntry
from orderdesk.domain.text import plural, pretty_json
from orderdesk.gui.deadletters.diff import PayloadDiff
from orderdesk.gui.deadletters.editor import PayloadEditor

TAB_PAYLOAD, TAB_ERROR, TAB_HEADERS, TAB_REPLAYS, TAB_EDIT, TAB_DIFF = range(6)


class DeadLetterDetails(QWidget):
    """The lower half of the inbox: a summary line over five tabs.

    Signals:
        republish_requested(): "Republish this entry…" was pressed.
    """

    republish_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._entry: DeadLetterEntry | None = None
        self.info = QLabel(self)
        self.info.setObjectName("dlqInfo")
        self.info.setTextFormat(Qt.TextFormat.RichText)
        # One line (what does not fit is cut; the whole line is its tooltip), so the list
        # above keeps the height.
        self.info.setWordWrap(False)
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.tabs = QTabWidget(self)
        self.payload_view = PayloadEditor(self, read_only=True)
        self.error_view = QPlainTextEdit(self)
        self.error_view.setReadOnly(True)
        self.error_view.setFont(self.payload_view.edit.font())
        self.headers_view = self._table(["Header", "Value"])
        self.headers_view.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.replays_view = self._table(["#", "Replayed at", "To", "Payload", "By"])
        # Every column as wide as its content, the target (the longest text) takes the rest.
        replays = self.replays_view.horizontalHeader()
        replays.setStretchLastSection(False)
        replays.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        replays.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.diff_view = PayloadDiff(self)

        self.tabs.addTab(self.payload_view, "Payload")
        self.tabs.addTab(self.error_view, "Error && stack")
        self.tabs.addTab(self.headers_view, "Headers")
        self.tabs.addTab(self.replays_view, "Replays")
        self.tabs.addTab(self._build_edit_tab(), "Fix && republish")
        self.tabs.addTab(self.diff_view, "Diff")
        self.editor.validated.connect(lambda _problems: self._update_diff())
        self.tabs.currentChanged.connect(
            lambda index: self.diff_view.scroll_to_change() if index == TAB_DIFF else None
        )

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.info)
        layout.addWidget(self.tabs, 1)

    def _table(self, labels: list[str]) -> QTableWidget:
        table = QTableWidget(0, len(labels), self)
        table.setHorizontalHeaderLabels(labels)
        table.horizontalHeader().setStretchLastSection(True)
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        return table

    def _build_edit_tab(self) -> QWidget:
        edit_tab = QWidget(self)
        self.editor = PayloadEditor(edit_tab)
        self.target_topic = QLineEdit(edit_tab)
        self.target_topic.setObjectName("dlqTargetTopic")
        self.again_box = QCheckBox("Again", edit_tab)
        self.again_box.setToolTip("Republish it although it was republished before")
        self.reset_button = QPushButton("Reset to original", edit_tab)
        self.reset_button.clicked.connect(self.reset_editor)
        self.republish_one_button = QPushButton("Republish this entry…", edit_tab)
        self.republish_one_button.setObjectName("dlqRepublishOne")
        self.republish_one_button.clicked.connect(self.republish_requested)
        # One row of controls under the editor, so the payload keeps the height.
        actions = QHBoxLayout()
        actions.addWidget(QLabel("Target topic:", edit_tab))
        actions.addWidget(self.target_topic, 1)
        actions.addWidget(self.again_box)
        actions.addWidget(self.reset_button)
        actions.addWidget(self.republish_one_button)
        edit_layout = QVBoxLayout(edit_tab)
        edit_layout.setContentsMargins(6, 6, 6, 6)
        edit_layout.addWidget(self.editor, 1)
        edit_layout.addLayout(actions)
        self.editor.edit.setMinimumHeight(self.editor.edit.fontMetrics().lineSpacing() * 3)
        return edit_tab

    def show_entry(
        self,
        entry: DeadLetterEntry | None,
        history: Sequence[Any] = (),
        copies: Sequence[DeadLetterEntry] = (),
    ) -> None:
        self._entry = entry
        if entry is None:
            self.info.setText("<i>Select a dead letter to see it in full.</i>")
            self.payload_view.set_payload("")
            self.error_view.setPlainText("")
            self.headers_view.setRowCount(0)
            self.replays_view.setRowCount(0)
            self.editor.set_payload("")
            self.target_topic.clear()
            self.target_topic.setPlaceholderText("")
            return
        esc = html.escape
        where = f"{esc(entry.dlq_topic)}[{entry.dlq_partition}]@{entry.dlq_offset}"
        key = "–" if entry.original_key is None else esc(entry.original_key)
        self.info.setText(
            f"<b>{esc(entry.failure_reason.value)}</b> · {esc(entry.id)} · "
            f"from <b>{esc(entry.original_coordinates)}</b> · key {key} · "
            f"retries {entry.retry_count} · dead letter {where} ({esc(entry.source)}) · "
            f"dead-lettered {_when(entry.timestamp)} · original {_when(entry.original_timestamp)}"
            + _copies_text(entry, copies)
        )
        self.info.setToolTip(self.info.text())
        self.payload_view.set_payload(entry.payload_display)
        error = entry.error_message
        if entry.error_class:
            error = f"{entry.error_class}: {error}"
        self.error_view.setPlainText(
            error + ("\n\n" + entry.error_stack if entry.error_stack else "")
        )
        shown_headers = entry.to_record()["headers"]
        self.headers_view.setRowCount(len(entry.headers))
        for row, (name, _raw) in enumerate(entry.headers):
            self.headers_view.setItem(row, 0, QTableWidgetItem(name))
            value = shown_headers.get(name)
            self.headers_view.setItem(
                row, 1, QTableWidgetItem("(null)" if value is None else value)
            )
        self.show_replays(history)
        self.editor.set_payload(entry.original_payload)
        self.target_topic.clear()
        self.target_topic.setPlaceholderText(entry.original_topic or "name a topic")

    def show_replays(self, history: Sequence[Any]) -> None:
        """The ledger's records of the shown entry, oldest first."""
        self.replays_view.setRowCount(len(history))
        for row, record in enumerate(history):
            cells = (
                str(record.replay_count),
                record.replayed_at_time.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                f"{record.target_topic}[{record.target_partition}]@{record.target_offset}",
                "edited" if record.payload_edited else "as it was",
                record.user,
            )
            for col, text in enumerate(cells):
                self.replays_view.setItem(row, col, QTableWidgetItem(text))
        self.tabs.setTabText(TAB_REPLAYS, f"Replays ({len(history)})" if history else "Replays")
        self.again_box.setChecked(False)
        self.again_box.setEnabled(bool(history))

    def _update_diff(self) -> None:
        original = pretty_json(self._entry.original_payload) if self._entry is not None else ""
        changes = self.diff_view.show_diff(original, self.editor.text())
        self.tabs.setTabText(TAB_DIFF, f"Diff ({plural(changes, 'line')})" if changes else "Diff")

    def reset_editor(self) -> None:
        if self._entry is not None:
            self.editor.set_payload(self._entry.original_payload)

    def set_actions_enabled(self, has_entry: bool, busy: bool) -> None:
        self.republish_one_button.setEnabled(has_entry and not busy)
        self.reset_button.setEnabled(has_entry)


def _copies_text(entry: DeadLetterEntry, copies: Sequence[DeadLetterEntry]) -> str:
    others = [c for c in copies if c.id != entry.id]
    if not others:
        return ""
    where = ", ".join(
        f"{html.escape(c.id)} at {html.escape(c.dlq_topic)}[{c.dlq_partition}]@{c.dlq_offset}"
        for c in others
    )
    count = len(others) + 1
    return f"<br><b>{count} copies</b> of this dead letter (sent again after a crash): {where}"


def _when(moment: datetime | None) -> str:
    if moment is None:
        return NOT_RECORDED
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
