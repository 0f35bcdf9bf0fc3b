"""Bars above the tabs: the embedded broker's note and a service failure."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

#: What the embedded-broker banner says; the window's settings action is its button.
EMBEDDED_TEXT = (
    "<b>Embedded broker: orders are kept in memory only</b> and are lost when OrderDesk "
    "quits. To use a real Kafka cluster, enter its bootstrap servers in Settings (Ctrl+,) "
    "or start OrderDesk with <code>--bootstrap-servers HOST:PORT</code>."
)


class EmbeddedBanner(QFrame):
    """A blue bar above the tabs while the embedded, in-memory broker is in use."""

    def __init__(self, connect: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("embeddedBanner")
        self.setStyleSheet(
            "#embeddedBanner { background: #e8f1fb; border: 1px solid #b6d0ee;"
            " border-radius: 4px; }"
            " QLabel { color: #0d3c6e; }"
        )
        self.label = QLabel(EMBEDDED_TEXT)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        self.connect_button = QPushButton("Connect to a cluster…")
        self.connect_button.clicked.connect(connect)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.connect_button)
        self.hide()

    def show_notice(self, notice: str) -> None:
        """The in-memory warning, and below it what this embedded broker cannot do."""
        self.label.setText(EMBEDDED_TEXT + (f"<br>{html.escape(notice)}" if notice else ""))


#: Colours of a banner by kind: background, border, text.
BANNER_COLORS = {
    "error": ("#fdecea", "#f5c2c0", "#8e0000"),
    "info": ("#fff8e1", "#f0d890", "#5d4300"),
}


class ErrorBanner(QFrame):
    """A dismissable bar at the top of the window (red for a failure, amber for a notice),
    with an optional action button."""

    def __init__(self, parent: QWidget | None = None, kind: str = "error") -> None:
        super().__init__(parent)
        background, border, text = BANNER_COLORS[kind]
        self.setObjectName(f"{kind}Banner")
        self.setStyleSheet(
            f"#{kind}Banner {{ background: {background}; border: 1px solid {border};"
            f" border-radius: 4px; }} QLabel {{ color: {text}; }}"
        )
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action_button = QPushButton()
        self.action_button.hide()
        self._action: Callable[[], None] | None = None
        self.action_button.clicked.connect(self._run_action)
        close = QPushButton("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(close)
        self.hide()

    def show_message(
        self, text: str, action: str = "", on_action: Callable[[], None] | None = None
    ) -> None:
        """Show `text`; with `action`, a button of that name calls `on_action`."""
        self.label.setText(text)
        self._action = on_action
        self.action_button.setText(action)
        self.action_button.setVisible(bool(action and on_action))
        self.show()

    def _run_action(self) -> None:
        if self._action is not None:
            self._action()
