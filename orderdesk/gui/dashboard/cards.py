"""KPI cards: one number large, its unit, a sparkline of the last minute, a state colour.

Cards are updated at every dashboard refresh, so they touch Qt only when something they
show changed: a text, a tone, the sparkline's points.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from orderdesk.domain.health import Tone
from orderdesk.gui.widgets import theme


class Sparkline(QLabel):
    """A small line of the recent values, drawn from numpy in one path.

    The line is drawn into a pixmap when the values, the colour or the size change, and
    the label shows that pixmap: a repaint of the card (its number or caption changed,
    several times a second) is Qt's own painting and runs no Python, which would wait for
    the GIL while the services run flat out.
    """

    HINT = QSize(90, 28)
    MINIMUM = QSize(40, 24)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._y = np.zeros(0)
        self._color = QColor(theme.current().axis)
        self._drawn_for: tuple[int, int, float] | None = None
        self.floor_zero = True
        self.setMinimumSize(self.MINIMUM)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return self.HINT  # not the pixmap's: the layout must not follow what was drawn

    def minimumSizeHint(self) -> QSize:
        return self.MINIMUM

    def set_values(self, y: np.ndarray) -> None:
        if len(y) == len(self._y) and np.array_equal(y, self._y):
            return
        self._y = np.array(y, dtype=np.float64)
        self._redraw()

    def set_color(self, color: str) -> None:
        if QColor(color) != self._color:
            self._color = QColor(color)
            self._redraw()

    def values(self) -> np.ndarray:
        return self._y

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._redraw()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._drawn_for is None:
            self._redraw()

    def _redraw(self) -> None:
        if not self.isVisible():
            self._drawn_for = None  # drawn when shown
            return
        size = self.size()
        ratio = self.devicePixelRatioF()
        self._drawn_for = (size.width(), size.height(), ratio)
        self.setPixmap(self._render(size, ratio))

    def _render(self, size: QSize, ratio: float) -> QPixmap:
        pixmap = QPixmap(max(1, round(size.width() * ratio)), max(1, round(size.height() * ratio)))
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        y = self._y
        if len(y) < 2:
            return pixmap
        low = 0.0 if self.floor_zero else float(y.min())
        high = float(y.max())
        if high - low <= 0:
            high = low + 1.0
        w, h = size.width() - 2, size.height() - 4
        # Values to pixels in numpy: x over the width, y upside down over the height; the
        # fill is the same points closed along the bottom.
        px = 1 + np.arange(len(y), dtype=np.float64) * (w / (len(y) - 1))
        py = 2 + h - (y - low) * (h / (high - low))
        bottom = 2.0 + h
        line = pg.functions.arrayToQPath(px, py)
        area = pg.functions.arrayToQPath(
            np.concatenate((px, (px[-1], px[0]))), np.concatenate((py, (bottom, bottom)))
        )
        fill = QColor(self._color)
        fill.setAlpha(40)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillPath(area, fill)
        painter.setPen(QPen(self._color, 1.6))
        painter.drawPath(line)
        painter.end()
        return pixmap


class KpiCard(QFrame):
    """A title, a large value with its unit, a caption, a sparkline and a tone strip."""

    def __init__(self, title: str, unit: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("kpiCard")
        self.tone = Tone.IDLE
        self._styled_for: tuple[Tone, bool] | None = None
        #: The texts last set (value, unit, caption, tooltip).
        self._shown: dict[str, str] = {}
        self.title = QLabel(title.upper())
        self.title.setObjectName("kpiTitle")
        self.value = QLabel("—")
        self.value.setObjectName("kpiValue")
        font = self.value.font()
        font.setPointSizeF(font.pointSizeF() * 2.0)
        font.setBold(True)
        self.value.setFont(font)
        self.unit = QLabel(unit)
        self.unit.setObjectName("kpiUnit")
        self.caption = QLabel(" ")
        self.caption.setObjectName("kpiCaption")
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.spark = Sparkline()
        small = self.title.font()
        small.setPointSizeF(small.pointSizeF() * 0.85)
        small.setBold(True)
        self.title.setFont(small)

        number = QHBoxLayout()
        number.setSpacing(6)
        number.addWidget(self.value, 0, Qt.AlignmentFlag.AlignBaseline)
        number.addWidget(self.unit, 0, Qt.AlignmentFlag.AlignBaseline)
        number.addWidget(self.spark, 1, Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 6, 10, 6)
        layout.setSpacing(0)
        layout.addWidget(self.title)
        layout.addLayout(number)
        layout.addWidget(self.caption)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(150)
        self._restyle()
        theme.notifier().changed.connect(self._restyle)

    @property
    def health(self) -> Tone:
        return self.tone

    def show_value(self, text: str, unit: str | None = None) -> None:
        # Every call into Qt may wait for the GIL while the services run flat out: the
        # texts shown are compared on the Python side.
        shown = self._shown
        if shown.get("value") != text:
            shown["value"] = text
            self.value.setText(text)
        if unit is not None and shown.get("unit") != unit:
            shown["unit"] = unit
            self.unit.setText(unit)

    def show_caption(self, text: str, tooltip: str = "") -> None:
        text = text or " "
        shown = self._shown
        if shown.get("caption") != text:
            shown["caption"] = text
            self.caption.setText(text)
        tooltip = tooltip or text
        if shown.get("tooltip") != tooltip:
            shown["tooltip"] = tooltip
            self.setToolTip(tooltip)

    def set_tone(self, tone: Tone) -> None:
        if tone is not self.tone:
            self.tone = tone
            self._restyle()

    def _restyle(self) -> None:
        t = theme.current()
        key = (self.tone, t.dark)
        if key == self._styled_for:
            return
        self._styled_for = key
        color = t.tone(self.tone)
        self.setStyleSheet(
            f"QFrame#kpiCard {{ background: {t.surface}; border: 1px solid {t.border};"
            f" border-left: 5px solid {color}; border-radius: 6px; }}"
            f"QLabel#kpiTitle {{ color: {t.muted}; }}"
            f"QLabel#kpiValue {{ color: {t.text}; }}"
            f"QLabel#kpiUnit {{ color: {t.muted}; }}"
            f"QLabel#kpiCaption {{ color: {color}; }}"
        )
        self.spark.set_color(color if self.tone is not Tone.IDLE else t.axis)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in theme.CHANGE_EVENTS:
            self._restyle()
