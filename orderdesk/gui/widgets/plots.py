"""Live time plots that read well and cost few Python calls to repaint.

A `TimePlot` is a header (title, unit, legend entries that toggle curves, the hover
read-out) over a canvas whose x axis is "time before now" (ticks "−2 min … now"), whose y
axis starts at 0 and is labelled in SI units (1.5k, 150k) on a fixed width, so that tick
labels never meet the title. Curves are created once and fed with `set_data` from numpy
slices of a ring buffer.

Why not pyqtgraph's items: with the producer and the tracker flat out in the same
process, every Python call of a repaint waits for the GIL, and a pyqtgraph frame is some
thousands of them (every item paints, bounds and maps itself in Python). Here a frame is
one `paintEvent` that draws a cached picture of the axes and grid (redrawn only when the
size, range or theme change) and one path per curve, built from numpy in one call
(`arrayToQPath`, no finite check), peak-downsampled to the pixels there are and clipped
to the view. `PlotGroup` keeps several plots on one window with one cross-hair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QIcon,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPixmap,
    QTransform,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from orderdesk.gui.widgets import theme
from orderdesk.gui.widgets.scale import (
    nice_ceiling,
    peak_downsample,
    si_format,
    time_text,
    time_ticks,
    value_ticks,
)

#: Width of the left axis in pixels: room for "999k" and never more.
AXIS_WIDTH = 44
#: Height of the time axis's labels, and the margins around the plot area.
TIME_AXIS_HEIGHT = 18
TOP, RIGHT = 8, 18


@dataclass
class CurveSpec:
    key: str
    label: str
    color: str  # an OKABE_ITO name, or "#rrggbb"
    style: Qt.PenStyle = Qt.PenStyle.SolidLine
    width: float = 2.0


def _color(spec: CurveSpec, t: theme.Theme) -> str:
    return spec.color if spec.color.startswith("#") else t.series(spec.color)


def pen_icon(color: str, style: Qt.PenStyle, width: float = 2.0) -> QIcon:
    """A short line in the curve's colour and style: what a legend entry shows."""
    ratio = 2.0  # drawn at twice the size, so it stays sharp on high-DPI screens
    pixmap = QPixmap(int(24 * ratio), int(12 * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(QColor(color), width)
    pen.setStyle(style)
    painter.setPen(pen)
    painter.drawLine(QPointF(1, 6), QPointF(23, 6))
    painter.end()
    return QIcon(pixmap)


class LegendEntry(QToolButton):
    """A legend entry: checked shows its curve, unchecked hides it."""

    def __init__(self, spec: CurveSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.setText(spec.label)
        self.setCheckable(True)
        self.setChecked(True)
        self.setAutoRaise(True)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setIconSize(QSize(24, 12))
        self.setToolTip(f"Show or hide {spec.label}")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.toggled.connect(self._mark)
        self.restyle(theme.current())

    def restyle(self, t: theme.Theme) -> None:
        self.setIcon(pen_icon(_color(self.spec, t), self.spec.style, self.spec.width))
        # Unchecked entries read greyed out (the curve is hidden); no style sheet, which
        # would take over the button's layout of icon and text.
        palette = self.palette()
        palette.setColor(palette.ColorRole.ButtonText, QColor(t.text))
        self.setPalette(palette)

    def _mark(self, checked: bool) -> None:
        font = self.font()
        font.setStrikeOut(not checked)
        self.setFont(font)


class Curve:
    """One curve of a plot: its points (seconds before now, values), shown or hidden."""

    def __init__(self, spec: CurveSpec) -> None:
        self.spec = spec
        self.x = np.zeros(0)
        self.y = np.zeros(0)
        self.path = QPainterPath()
        self.visible = True
        self.pen = QPen()

    def getData(self) -> tuple[np.ndarray, np.ndarray]:  # pyqtgraph's name
        return self.x, self.y

    def isVisible(self) -> bool:  # Qt's name
        return self.visible


class _Canvas(QWidget):
    """Paints its plot: the only Python call of a frame."""

    def __init__(self, plot: TimePlot) -> None:
        super().__init__(plot)
        self.plot = plot
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def paintEvent(self, event: QPaintEvent) -> None:
        self.plot.paint(self)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self.plot.mouse_at(event.position().x())

    def leaveEvent(self, event: QEvent) -> None:
        self.plot.hovered.emit(None)


class TimePlot(QWidget):
    """One live plot over time, its header and legend. See the module docstring.

    Signals:
        hovered(object): seconds before now under the mouse (a float), or None on leaving.
    """

    hovered = Signal(object)

    def __init__(
        self,
        title: str,
        unit: str,
        curves: Sequence[CurveSpec],
        parent: QWidget | None = None,
        y_floor: float = 1.0,
        y_range: tuple[float, float] | None = None,
        value_format: str = "{}",
        y_ticks: Sequence[float] | None = None,
        gaps: bool = False,
    ) -> None:
        super().__init__(parent)
        #: The data may hold NaN (no value at that time), drawn as gaps.
        self.gaps = gaps
        self.y_floor = y_floor
        self.fixed_y = y_range
        self.fixed_ticks = list(y_ticks) if y_ticks is not None else None
        self.value_format = value_format
        self.span = 60.0
        self._y_top = 0.0
        self._time_axis = True
        self._cursor: float | None = None
        self._static: QPixmap | None = None
        self._static_key: tuple[object, ...] = ()
        self.theme = theme.current()

        self.title = QLabel(f"<b>{title}</b>")
        self.unit = QLabel(unit)
        self.readout = QLabel()
        self.readout.setTextFormat(Qt.TextFormat.PlainText)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.legend: dict[str, LegendEntry] = {}
        self._header = QHBoxLayout()
        self._header.setContentsMargins(AXIS_WIDTH + 4, 0, 4, 0)
        self._header.setSpacing(6)
        self._header.addWidget(self.title)
        self._header.addWidget(self.unit)
        self._legend_at = self._header.count()
        self._header.addWidget(self.readout, 1)

        self.canvas = _Canvas(self)
        self.canvas.setMinimumHeight(72)
        self.curves: dict[str, Curve] = {}
        for spec in curves:
            self.add_curve(spec, legend=len(curves) > 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(self._header)
        layout.addWidget(self.canvas, 1)
        if y_range is None:
            self._y_top = nice_ceiling(y_floor)
        self.restyle()
        theme.notifier().changed.connect(self.restyle)

    # -- curves ------------------------------------------------------------------------

    def add_curve(self, spec: CurveSpec, legend: bool = True) -> Curve:
        """A new curve (and its legend entry); created once, fed with `set_data`."""
        curve = Curve(spec)
        curve.pen = self._pen(spec)
        self.curves[spec.key] = curve
        if legend:
            entry = LegendEntry(spec)
            entry.toggled.connect(lambda on, k=spec.key: self.set_curve_visible(k, on))
            self.legend[spec.key] = entry
            self._header.insertWidget(self._legend_at + len(self.legend) - 1, entry)
        return curve

    def remove_curves(self) -> None:
        for entry in self.legend.values():
            entry.deleteLater()
        self.legend.clear()
        self.curves.clear()
        self.canvas.update()

    def _pen(self, spec: CurveSpec) -> QPen:
        pen = QPen(QColor(_color(spec, self.theme)), spec.width)
        pen.setStyle(spec.style)
        pen.setCosmetic(True)  # drawn through the data-to-pixel transform
        return pen

    # -- look --------------------------------------------------------------------------

    def restyle(self) -> None:
        t = self.theme = theme.current()
        self.title.setStyleSheet(f"color: {t.text};")
        self.unit.setStyleSheet(f"color: {t.muted};")
        self.readout.setStyleSheet(f"color: {t.text};")
        for curve in self.curves.values():
            curve.pen = self._pen(curve.spec)
        for entry in self.legend.values():
            entry.restyle(t)
        self._static = None
        self.canvas.update()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in theme.CHANGE_EVENTS:
            self.restyle()

    def show_time_axis(self, shown: bool) -> None:
        self._time_axis = shown
        self._static = None
        self.canvas.update()

    # -- data --------------------------------------------------------------------------

    def set_span(self, seconds: float) -> None:
        """Show the last `seconds`."""
        if seconds != self.span:
            self.span = seconds
            self._static = None
            self.canvas.update()

    @property
    def x_range(self) -> tuple[float, float]:
        return (-self.span, 0.0)

    @property
    def y_range(self) -> tuple[float, float]:
        return self.fixed_y if self.fixed_y is not None else (0.0, self._y_top)

    @property
    def y_top(self) -> float:
        return self.y_range[1]

    def set_data(self, key: str, x: np.ndarray, y: np.ndarray) -> None:
        """New points for a curve: x in seconds before now (<= 0), all finite."""
        curve = self.curves[key]
        curve.x, curve.y = x, y
        # More samples than pixels: the peaks of each pixel's samples are what shows.
        px, py = peak_downsample(x, y, max(64, 2 * self.canvas.width()))
        if self.gaps and not np.isfinite(py).all():  # NaN: no value then, a gap
            curve.path = pg.functions.arrayToQPath(px, py, connect="finite")
        else:
            curve.path = pg.functions.arrayToQPath(px, py, connect="all", finiteCheck=False)
        if curve.visible:
            self.canvas.update()

    def clear_data(self, key: str) -> None:
        curve = self.curves[key]
        if len(curve.x):
            curve.x, curve.y = np.zeros(0), np.zeros(0)
            curve.path = QPainterPath()
            self.canvas.update()

    def fit_y(self) -> None:
        """Grow the y range to the next 1-2-5 step above the visible peak; shrink it when
        far below. Only visible curves count."""
        if self.fixed_y is not None:
            return
        peak = 0.0
        for curve in self.curves.values():
            x, y = curve.x, curve.y
            if len(y) and curve.visible:
                start = int(np.searchsorted(x, -self.span))
                if start < len(y):
                    top_value = float(np.nanmax(y[start:]) if self.gaps else np.max(y[start:]))
                    if math.isfinite(top_value):
                        peak = max(peak, top_value)
        top = self._y_top
        if peak > top or peak < top / 5:
            new = nice_ceiling(max(peak * 1.1, self.y_floor))
            if new != top:
                self._y_top = new
                self._static = None
                self.canvas.update()

    def set_curve_visible(self, key: str, visible: bool) -> None:
        self.curves[key].visible = visible
        entry = self.legend.get(key)
        if entry is not None and entry.isChecked() != visible:
            entry.setChecked(visible)
        self.fit_y()
        self.canvas.update()

    # -- painting ----------------------------------------------------------------------

    def _area(self, size: QSize) -> QRectF:
        bottom = TIME_AXIS_HEIGHT if self._time_axis else 4
        return QRectF(AXIS_WIDTH, TOP, size.width() - AXIS_WIDTH - RIGHT,
                      size.height() - TOP - bottom)  # fmt: skip

    def ticks(self) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
        """The labelled ticks: (value axis, time axis), as (value, text)."""
        area = self._area(self.canvas.size())
        low, high = self.y_range
        values = self.fixed_ticks or value_ticks(high, area.height())
        # Fixed ticks too close for their labels: every other one (0, 50, 100 of five).
        while len(values) > 2 and area.height() * (values[1] - values[0]) / (high - low) < 26:
            values = values[::2]
        y = [(v, si_format(v)) for v in values if low <= v <= high]
        step, positions = time_ticks(self.span, area.width())
        t = [(p, time_text(p)) for p in positions if abs(p / step - round(p / step)) < 1e-9]
        return y, (t if self._time_axis else [])

    def _render_static(self, size: QSize, ratio: float) -> QPixmap:
        """Background, grid, axes and their labels: the part of a frame that changes only
        with the size, the range or the theme."""
        t = self.theme
        pixmap = QPixmap(int(size.width() * ratio), int(size.height() * ratio))
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(QColor(t.background))
        area = self._area(size)
        low, high = self.y_range
        painter = QPainter(pixmap)
        grid = QPen(QColor(t.grid), 1)
        grid.setCosmetic(True)
        faint = QColor(t.grid)
        faint.setAlpha(110)
        y_ticks, t_ticks = self.ticks()
        _step, minors = time_ticks(self.span, area.width())

        def px_x(value: float) -> float:
            return area.right() + value / self.span * area.width()

        def px_y(value: float) -> float:
            return area.bottom() - (value - low) / (high - low) * area.height()

        painter.setPen(QPen(faint, 1))
        painter.drawLines(
            [p for m in minors for p in (QPointF(px_x(m), area.top()),
                                         QPointF(px_x(m), area.bottom()))]
        )  # fmt: skip
        painter.setPen(grid)
        painter.drawLines(
            [p for v, _ in y_ticks for p in (QPointF(area.left(), px_y(v)),
                                             QPointF(area.right(), px_y(v)))]
            + [p for v, _ in t_ticks for p in (QPointF(px_x(v), area.top()),
                                               QPointF(px_x(v), area.bottom()))]
        )  # fmt: skip
        painter.setPen(QPen(QColor(t.axis), 1))
        painter.drawLine(QPointF(area.left(), area.top()), QPointF(area.left(), area.bottom()))
        painter.drawLine(area.bottomLeft(), area.bottomRight())
        painter.setPen(QColor(t.muted))
        metrics = painter.fontMetrics()
        half = metrics.height() / 2
        for value, text in y_ticks:
            # The baseline's label sits just above it, clear of the time axis's first one.
            middle = min(px_y(value), area.bottom() - half + 2) if t_ticks else px_y(value)
            rect = QRectF(0, middle - half, AXIS_WIDTH - 6, 2 * half)
            painter.drawText(rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             text)  # fmt: skip
        for value, text in t_ticks:
            width = metrics.horizontalAdvance(text) + 4
            left = max(0.0, min(px_x(value) - width / 2, size.width() - width))
            rect = QRectF(left, area.bottom() + 2, width, TIME_AXIS_HEIGHT - 2)
            painter.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, text)
        painter.end()
        return pixmap

    def paint(self, canvas: QWidget) -> None:
        size = canvas.size()
        ratio = canvas.devicePixelRatioF()
        key = (size.width(), size.height(), ratio)
        if self._static is None or key != self._static_key:
            self._static = self._render_static(size, ratio)
            self._static_key = key
        painter = QPainter(canvas)
        painter.drawPixmap(0, 0, self._static)
        area = self._area(size)
        low, high = self.y_range
        painter.setClipRect(area.adjusted(0, -2, 2, 2))
        # Data to pixels: x from -span..0 onto the area's width, y upside down.
        sx = area.width() / self.span
        sy = -area.height() / (high - low)
        painter.setTransform(QTransform(sx, 0, 0, sy, area.right(), area.bottom() - low * sy))
        for curve in self.curves.values():
            if curve.visible and len(curve.x):
                painter.setPen(curve.pen)
                painter.drawPath(curve.path)
        if self._cursor is not None:
            painter.resetTransform()
            painter.setPen(QPen(QColor(self.theme.muted), 1, Qt.PenStyle.DashLine))
            x = area.right() + self._cursor * sx
            painter.drawLine(QPointF(x, area.top()), QPointF(x, area.bottom()))
        painter.end()

    # -- cross-hair --------------------------------------------------------------------

    def mouse_at(self, pixel_x: float) -> None:
        area = self._area(self.canvas.size())
        if pixel_x < area.left() or area.width() <= 0:
            self.hovered.emit(None)
            return
        x = (pixel_x - area.right()) / area.width() * self.span
        self.hovered.emit(min(0.0, max(-self.span, x)))

    @property
    def crosshair_shown(self) -> bool:
        return self._cursor is not None

    def show_cursor(self, x: float | None) -> None:
        """Draw the cross-hair at `x` seconds before now and read the values there."""
        self._cursor = x
        self.canvas.update()
        if x is None:
            self.readout.clear()
            return
        parts = [time_text(x)]
        for curve in self.curves.values():
            xs, ys = curve.x, curve.y
            if not len(xs) or not curve.visible:
                continue
            i = int(np.clip(np.searchsorted(xs, x), 0, len(xs) - 1))
            if i > 0 and abs(xs[i - 1] - x) < abs(xs[i] - x):
                i -= 1
            if abs(xs[i] - x) > 2.0:  # no sample near the cursor (before the data starts)
                continue
            value = float(ys[i])
            if math.isfinite(value):
                shown = self.value_format.format(si_format(value))
                parts.append(f"{curve.spec.label} {shown}")
        self.readout.setText("  ·  ".join(parts))


class PlotGroup:
    """Plots that show the same time window, with one cross-hair across all of them."""

    def __init__(self, plots: Sequence[TimePlot]) -> None:
        self.plots = list(plots)
        for plot in self.plots:
            plot.hovered.connect(self.show_cursor)

    def show_cursor(self, x: float | None) -> None:
        for plot in self.plots:
            plot.show_cursor(x)

    def set_span(self, seconds: float) -> None:
        for plot in self.plots:
            plot.set_span(seconds)
