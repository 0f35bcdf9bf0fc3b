"""The audit browser's detail pane: one row's summary, parsed order and raw message."""

from __future__ import annotations

import html
import json

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QSplitter, QVBoxLayout, QWidget

from orderdesk.audit.index import AuditRow
from orderdesk.domain.text import pretty_json

EMPTY_TEXT = "Select a row to see its order and raw message."


class AuditDetail(QWidget):
    """A summary line over two panes: the order as parsed, and the message as it came."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.summary = QLabel(EMPTY_TEXT)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.order_text = QPlainTextEdit()
        self.raw_text = QPlainTextEdit()
        for text in (self.order_text, self.raw_text):
            text.setReadOnly(True)
            text.setFont(mono)
            text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.order_text.setPlaceholderText("Parsed order")
        self.raw_text.setPlaceholderText("Raw message")

        panes = QSplitter(Qt.Orientation.Horizontal)
        panes.addWidget(_titled("Order (parsed)", self.order_text))
        panes.addWidget(_titled("Raw message", self.raw_text))
        panes.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(panes, 1)

    def clear(self) -> None:
        self.summary.setText(EMPTY_TEXT)
        self.order_text.clear()
        self.raw_text.clear()

    def show_row(self, row: AuditRow) -> None:
        """Fill the pane with one row."""
        esc = html.escape
        if row.malformed:
            self.summary.setText(f"<b>Line {row.line + 1:,}: malformed</b> — {esc(row.error)}")
            self.order_text.setPlainText("")
            self.raw_text.setPlainText(row.text)
            return
        where = f"{row.record.get('kafka_topic', '?')} [{row.partition}] @ {row.offset}"
        parts = [
            f"<b>{esc(row.event_type)}</b>",
            esc(row.timestamp),
            f"order <b>{esc(row.order_id or '—')}</b>",
            esc(where),
            f"{row.record.get('message_size', '?')} bytes",
            "deserialized" if row.record.get("deserialized") else "not deserialized",
        ]
        text = " · ".join(parts)
        if row.error:
            text += f"<br><span style='color:#c62828'>{esc(row.error)}</span>"
        self.summary.setText(text)
        if row.order_full is not None:
            self.order_text.setPlainText(json.dumps(row.order_full, indent=2, ensure_ascii=False))
        else:
            self.order_text.setPlainText("(no parsed order)")
        self.raw_text.setPlainText(pretty_json(row.raw_message))


def _titled(title: str, body: QWidget) -> QWidget:
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(2)
    label = QLabel(title)
    font = QFont(label.font())
    font.setBold(True)
    label.setFont(font)
    lay.addWidget(label)
    lay.addWidget(body)
    return box
