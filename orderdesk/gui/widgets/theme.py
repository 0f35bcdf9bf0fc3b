"""The look: a colour-blind-safe palette, state colours, and light or dark after the system.

Dark or light follows the system's colour scheme (Qt 6.5+ `QStyleHints.colorScheme()`),
live: when the scheme changes, `follow_system_scheme` applies the matching palette and
every widget gets a `PaletteChange` event, on which the plots and cards restyle
(`current()` returns the theme of the palette in use). `ORDERDESK_COLOR_SCHEME=dark` or
`light` overrides the system (screenshots, a desktop that reports nothing).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QLabel

from orderdesk.domain.health import Tone

#: Okabe-Ito: told apart with the common colour-vision deficiencies.
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
}
#: Curves in the order they are handed out, with a line style each, so that curves differ
#: in more than colour.
SERIES_COLORS = ("blue", "green", "vermillion", "orange", "purple", "sky")
SERIES_STYLES = (
    Qt.PenStyle.SolidLine,
    Qt.PenStyle.DashLine,
    Qt.PenStyle.DotLine,
    Qt.PenStyle.DashDotLine,
    Qt.PenStyle.SolidLine,
    Qt.PenStyle.DashLine,
)
ENV = "ORDERDESK_COLOR_SCHEME"
#: Events on which a widget that colours itself restyles: its own palette changed, or the
#: application's (a widget with a style sheet gets only the latter).
CHANGE_EVENTS = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)


@dataclass(frozen=True)
class Theme:
    dark: bool
    background: str
    surface: str
    text: str
    muted: str
    grid: str
    axis: str
    border: str
    tones: dict[Tone, str]

    def tone(self, tone: Tone) -> str:
        return self.tones[tone]

    def series(self, name: str) -> str:
        color = OKABE_ITO[name]
        # Okabe-Ito's blue is dark on a dark background: its sky blue reads better there.
        if self.dark and name == "blue":
            return "#3d9be0"
        return color


LIGHT = Theme(
    dark=False,
    background="#ffffff",
    surface="#f6f7f9",
    text="#1f2328",
    muted="#5f6670",
    grid="#d0d4da",
    axis="#8a9099",
    border="#d5d9df",
    tones={
        Tone.IDLE: "#8a9099",
        Tone.GOOD: "#1a7f37",
        Tone.INFO: "#0072B2",
        Tone.WARN: "#b35c00",
        Tone.BAD: "#c62828",
    },
)
DARK = Theme(
    dark=True,
    background="#1c1f24",
    surface="#24282e",
    text="#e6e8eb",
    muted="#9aa1ab",
    grid="#3a3f46",
    axis="#7d848e",
    border="#3a3f46",
    tones={
        Tone.IDLE: "#7d848e",
        Tone.GOOD: "#3fb950",
        Tone.INFO: "#56B4E9",
        Tone.WARN: "#E69F00",
        Tone.BAD: "#ff7b72",
    },
)


def palette_is_dark(palette: QPalette | None = None) -> bool:
    palette = palette if palette is not None else QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def current() -> Theme:
    """The theme of the palette in use."""
    return DARK if palette_is_dark() else LIGHT


def wanted_dark() -> bool:
    """Whether the user wants dark: the override, else the system's colour scheme, else
    the palette the platform gave."""
    forced = os.environ.get(ENV, "").strip().lower()
    if forced in ("dark", "light"):
        return forced == "dark"
    scheme = QGuiApplication.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    return palette_is_dark()


def dark_palette() -> QPalette:
    t = DARK
    p = QPalette()
    role = QPalette.ColorRole
    for r, color in (
        (role.Window, t.background),
        (role.WindowText, t.text),
        (role.Base, "#15171b"),
        (role.AlternateBase, t.surface),
        (role.ToolTipBase, t.surface),
        (role.ToolTipText, t.text),
        (role.PlaceholderText, t.muted),
        (role.Text, t.text),
        (role.Button, "#2b3036"),
        (role.ButtonText, t.text),
        (role.BrightText, "#ffffff"),
        (role.Light, "#3a3f46"),
        (role.Midlight, "#32373d"),
        (role.Mid, "#2b3036"),
        (role.Dark, "#101214"),
        (role.Shadow, "#000000"),
        (role.Highlight, "#2f6fb3"),
        (role.HighlightedText, "#ffffff"),
        (role.Link, "#58a6ff"),
        (role.LinkVisited, "#bc8cff"),
    ):
        p.setColor(r, QColor(color))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, r, QColor("#6b727c"))
    return p


class ThemeNotifier(QObject):
    """Signals:
    changed(): the light or dark palette was applied; widgets styled by a style sheet
        (which Qt's palette change events do not reach) restyle on it.
    """

    changed = Signal()


_notifier: ThemeNotifier | None = None


def notifier() -> ThemeNotifier:
    global _notifier
    if _notifier is None:
        _notifier = ThemeNotifier()
    return _notifier


class SchemeFollower(QObject):
    """Applies the palette of the system's colour scheme now and whenever it changes."""

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self.app = app
        self._platform_palette = QPalette(app.palette())
        self._platform_style = app.style().name()
        app.styleHints().colorSchemeChanged.connect(self.apply)
        self.apply()

    def apply(self, *_args: object) -> None:
        was_dark = palette_is_dark(self.app.palette())
        self._apply()
        if palette_is_dark(self.app.palette()) != was_dark:
            # A widget with a style sheet, and what is inside it, keeps the palette it was
            # polished with; rich text keeps the colours it was laid out with.
            for widget in self.app.allWidgets():
                sheet = widget.styleSheet()
                if sheet:
                    widget.setStyleSheet(sheet + " ")
                    widget.setStyleSheet(sheet)
                if isinstance(widget, QLabel) and widget.textFormat() != Qt.TextFormat.PlainText:
                    widget.setText(widget.text())
        notifier().changed.emit()

    def _apply(self) -> None:
        dark = wanted_dark()
        if dark == palette_is_dark(self._platform_palette):
            # The platform's own palette already matches (a desktop with a dark theme).
            if palette_is_dark(self.app.palette()) != dark:
                self.app.setStyle(self._platform_style)
                self.app.setPalette(self._platform_palette)
            return
        if dark:
            # Fusion draws every control from the palette, so a dark palette reads right.
            self.app.setStyle("Fusion")
            self.app.setPalette(dark_palette())
        else:
            self.app.setStyle("Fusion")
            self.app.setPalette(self.app.style().standardPalette())


def follow_system_scheme(app: QApplication) -> SchemeFollower:
    return SchemeFollower(app)
