"""KPI cards: one number large, its unit, a sparkline of the last minute, a state colour.

Cards are updated at every dashboard refresh, so they touch Qt only when something they
show changed: a text, a tone, the sparkline's points.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QTransform
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from orderdesk.domain.health import Tone
from orderdesk.gui.widgets import theme


class Sparkline(QWidget):
    """A small line of the recent values, drawn from numpy in one path."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._y = np.zeros(0)
        self._color = QColor(theme.current().axis)
        self.floor_zero = True
        self.setMinimumSize(40, 24)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(90, 28)

    def set_values(self, y: np.ndarray) -> None:
        if len(y) == len(self._y) and np.array_equal(y, self._y):
            return
        self._y = np.array(y, dtype=np.float64)
        self.update()

    def set_color(self, color: str) -> None:
        if QColor(color) != self._color:
            self._color = QColor(color)
            self.update()

    def values(self) -> np.ndarray:
        return self._y

    def paintEvent(self, event: QPaintEvent) -> None:
        y = self._y
        if len(y) < 2:
            return
        low = 0.0 if self.floor_zero else float(y.min())
        high = float(y.max())
        if high - low <= 0:
            high = low + 1.0
        w, h = self.width() - 2, self.height() - 4
        path = pg.functions.arrayToQPath(np.arange(len(y), dtype=np.float64), y)
        # Values to pixels in one transform: x over the width, y upside down over the height.
        sx = w / (len(y) - 1)
        sy = h / (high - low)
        transform = QTransform(sx, 0, 0, -sy, 1, 2 + h + low * sy)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill = QColor(self._color)
        fill.setAlpha(40)
        area = transform.map(path)
        closed = area.translated(0, 0)  # a copy, closed along the bottom for the fill
        closed.lineTo(1 + w, 2 + h)
        closed.lineTo(1, 2 + h)
        closed.closeSubpath()
        painter.fillPath(closed, fill)
        painter.setPen(QPen(self._color, 1.6))
        painter.drawPath(area)
        painter.end()


class KpiCard(QFrame):
    """A title, a large value with its unit, a caption, a sparkline and a tone strip."""

    def __init__(self, title: str, unit: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("kpiCard")
        self.tone = Tone.IDLE
        self._styled_for: tuple[Tone, bool] | None = None
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
        # Every call into Qt may wait for the GIL while the services run flat out.
        if self.value.text() != text:
            self.value.setText(text)
        if unit is not None and self.unit.text() != unit:
            self.unit.setText(unit)

    def show_caption(self, text: str, tooltip: str = "") -> None:
        text = text or " "
        if self.caption.text() != text:
            self.caption.setText(text)
        tooltip = tooltip or text
        if self.toolTip() != tooltip:
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
