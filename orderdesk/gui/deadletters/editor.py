"""JSON payload editor: syntax highlighting and a live, debounced check against the order model."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QRegularExpression, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QPalette,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
)
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from orderdesk.domain.text import compact_json, order_problems, plural, pretty_json

#: Milliseconds of quiet typing before the payload is checked again.
VALIDATION_DELAY_MS = 250


def _format(color: str, bold: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(color))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    return fmt


class JsonHighlighter(QSyntaxHighlighter):
    """Colours JSON keys, strings, numbers, literals and punctuation.

    A line at a time is enough for JSON: no token spans lines (strings cannot hold a raw
    newline), so no block state is kept.
    """

    def __init__(self, document: QTextDocument, dark: bool = False) -> None:
        super().__init__(document)
        palette = (
            {"key": "#7fb4ff", "string": "#a5d68a", "number": "#f0a35e", "literal": "#d88ce6"}
            if dark
            else {"key": "#1f4e9c", "string": "#2e7d32", "number": "#b35300", "literal": "#8e24aa"}
        )
        self._rules = [
            (QRegularExpression(r"-?\b\d+(\.\d+)?([eE][+-]?\d+)?\b"), _format(palette["number"])),
            (QRegularExpression(r"\b(true|false|null)\b"), _format(palette["literal"], True)),
            (QRegularExpression(r'"(?:[^"\\]|\\.)*"'), _format(palette["string"])),
            # A string followed by a colon is a key; applied last so it wins over "string".
            (QRegularExpression(r'"(?:[^"\\]|\\.)*"(?=\s*:)'), _format(palette["key"], True)),
        ]

    def highlightBlock(self, text: str) -> None:
        for pattern, fmt in self._rules:
            matches = pattern.globalMatch(text)
            while matches.hasNext():
                match = matches.next()
                self.setFormat(match.capturedStart(), match.capturedLength(), fmt)


class PayloadEditor(QWidget):
    """Edits a payload; checks it as an order `VALIDATION_DELAY_MS` after the last keystroke.

    Signals:
        validated(list): the problems found by the latest check (empty: a valid order).
    """

    validated = Signal(list)

    def __init__(self, parent: QWidget | None = None, read_only: bool = False) -> None:
        super().__init__(parent)
        self.edit = QPlainTextEdit(self)
        self.edit.setObjectName("payloadEdit")
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.edit.setFont(font)
        self.edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.edit.setTabChangesFocus(True)
        self.edit.setReadOnly(read_only)
        self.highlighter = JsonHighlighter(self.edit.document(), dark=_is_dark(self))
        self.status = QLabel(self)
        self.status.setObjectName("payloadStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._problems: list[str] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(VALIDATION_DELAY_MS)
        self._timer.timeout.connect(self.validate_now)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.status)
        self.status.setVisible(not read_only)
        if not read_only:
            self.edit.textChanged.connect(self._timer.start)

    def set_payload(self, text: str) -> None:
        """Show `text` (pretty-printed when JSON) and check it at once."""
        self.edit.setPlainText(pretty_json(text))
        self._timer.stop()
        if not self.edit.isReadOnly():
            self.validate_now()

    def text(self) -> str:
        return self.edit.toPlainText()

    def payload_bytes(self) -> bytes:
        """What a republish sends: compact JSON when it parses, the raw text otherwise."""
        return compact_json(self.text()).encode("utf-8")

    @property
    def problems(self) -> list[str]:
        return list(self._problems)

    @property
    def pending(self) -> bool:
        """True while a check is scheduled but has not run yet."""
        return self._timer.isActive()

    def validate_now(self) -> list[str]:
        self._timer.stop()
        self._problems = order_problems(self.text())
        if self._problems:
            # One short paragraph (the full list is in the tooltip), so the editor keeps
            # its height in a small window.
            shown = self._problems[:3]
            more = len(self._problems) - len(shown)
            listed = "; ".join(html.escape(p) for p in shown) + (
                f"; and {more} more" if more else ""
            )
            count = len(self._problems)
            self.status.setText(
                f"<span style='color:#c0392b'><b>✗ Not a valid order yet "
                f"({plural(count, 'problem')}):</b></span> {listed}"
            )
            self.status.setToolTip("\n".join(self._problems))
        else:
            self.status.setText("<span style='color:#2e7d32'><b>✓ Valid order</b></span>")
            self.status.setToolTip("")
        self.validated.emit(self.problems)
        return self.problems


def _is_dark(widget: Any) -> bool:
    return widget.palette().color(QPalette.ColorRole.Base).lightness() < 128
