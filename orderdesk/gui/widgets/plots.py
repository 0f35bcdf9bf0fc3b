"""Live time plots that read well and cost little to repaint.

A `TimePlot` is a header (title, unit, legend entries that toggle curves, the hover
read-out) over a pyqtgraph plot whose x axis is "seconds before now" (ticks "−2 min …
now"), whose y axis starts at 0 and is labelled in SI units (1.5k, 150k) on a fixed
width, so tick labels never meet the title. Curves are created once and fed with
`set_data` from numpy slices; the plot keeps no copy. Under load every Python call of a
repaint waits for the GIL, hence: ranges set by the caller on a 1-2-5 ladder (no
auto-range), peak downsampling and clipping to the view, no finite checks, axes cached as
pixmaps, no mouse zoom. `PlotGroup` keeps several plots on one window with one
cross-hair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from orderdesk.gui.widgets import theme
from orderdesk.gui.widgets.scale import nice_ceiling, si_format, time_text

#: Width of the left axis in pixels: room for "999k" and never more.
AXIS_WIDTH = 44


#: Spacings of the time axis, seconds.
_TIME_STEPS = (5, 10, 15, 30, 60, 120, 300, 600)


class _EdgeLabels(pg.AxisItem):
    """An axis that keeps the labels at its ends (0 and the top; 'now').

    With a grid, pyqtgraph's axis bounds are its own rectangle and the view's, without the
    margin it otherwise leaves for labels, and a label centred on the end of the range
    sticks out of them by half its size, so it is dropped. The margin is put back here.
    """

    MARGIN = 16

    def boundingRect(self) -> QRectF:
        rect = super().boundingRect()
        m = self.MARGIN
        own = self.mapRectFromParent(self.geometry())
        if self.orientation in ("left", "right"):
            return rect | own.adjusted(0, -m, 0, m)
        return rect | own.adjusted(-2 * m, 0, 2 * m, 0)


class TimeAxis(_EdgeLabels):
    """Seconds before now, on round steps (10 s, 30 s, 1 min, 5 min); only the major
    ticks labelled, the minor ones are grid lines."""

    _major = 60.0

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:
        span = max(1e-9, maxVal - minVal)
        most = max(2, int(size / 90))  # a label every 90 px at most
        for step in _TIME_STEPS:
            if span / step <= most:
                minor = step / 5 if step in (5, 10, 300) else step / 3 if step == 15 else step / 2
                self._major = float(step)
                return [(float(step), 0.0), (float(minor), 0.0)]
        self._major = float(_TIME_STEPS[-1] * 3)
        return [(self._major, 0.0)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if spacing < self._major:
            return ["" for _ in values]
        return [time_text(v) for v in values]


class SIAxis(_EdgeLabels):
    """Counts and rates as 0, 500, 1.5k, 150k, 2M."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [si_format(v * scale) for v in values]


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
    ) -> None:
        super().__init__(parent)
        self.specs = {spec.key: spec for spec in curves}
        self.y_floor = y_floor
        self.fixed_y = y_range
        self.value_format = value_format
        self.span = 0.0
        self._y_top = 0.0
        self._data: dict[str, tuple[np.ndarray, np.ndarray]] = {}

        self.title = QLabel(f"<b>{title}</b>")
        self.unit = QLabel(unit)
        self.readout = QLabel()
        self.readout.setTextFormat(Qt.TextFormat.PlainText)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.legend: dict[str, LegendEntry] = {}
        header = QHBoxLayout()
        header.setContentsMargins(AXIS_WIDTH + 4, 0, 4, 0)
        header.setSpacing(6)
        header.addWidget(self.title)
        header.addWidget(self.unit)
        if len(curves) > 1:
            for spec in curves:
                entry = LegendEntry(spec)
                entry.toggled.connect(lambda on, k=spec.key: self.set_curve_visible(k, on))
                self.legend[spec.key] = entry
                header.addWidget(entry)
        header.addWidget(self.readout, 1)

        self.widget = pg.PlotWidget(
            axisItems={"left": SIAxis("left"), "bottom": TimeAxis("bottom")}
        )
        self.widget.setMinimumHeight(72)
        plot = self.plot = self.widget.getPlotItem()
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.disableAutoRange()
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
        plot.showGrid(x=True, y=True, alpha=0.35)
        left = plot.getAxis("left")
        left.setWidth(AXIS_WIDTH)
        left.enableAutoSIPrefix(False)
        plot.getAxis("bottom").enableAutoSIPrefix(False)
        for name in ("left", "bottom"):
            plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot.layout.setContentsMargins(0, 8, 18, 0)

        self.curves: dict[str, pg.PlotDataItem] = {}
        for spec in curves:
            curve = pg.PlotDataItem(skipFiniteCheck=True, name=spec.label)
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            plot.addItem(curve)
            self.curves[spec.key] = curve
        self.crosshair = pg.InfiniteLine(angle=90, movable=False)
        self.crosshair.setZValue(10)
        self.crosshair.hide()
        plot.addItem(self.crosshair, ignoreBounds=True)
        self._mouse = pg.SignalProxy(
            self.widget.scene().sigMouseMoved, rateLimit=30, slot=self._mouse_moved
        )
        self.widget.viewport().installEventFilter(self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.widget, 1)
        if y_range is not None:
            plot.setYRange(*y_range, padding=0)
        else:
            self._set_y_top(y_floor)
        self.set_span(60.0)
        self.restyle()

    # -- look --------------------------------------------------------------------------

    def restyle(self) -> None:
        t = theme.current()
        self.widget.setBackground(t.background)
        self.title.setStyleSheet(f"color: {t.text};")
        self.unit.setStyleSheet(f"color: {t.muted};")
        self.readout.setStyleSheet(f"color: {t.text};")
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(pg.mkPen(t.axis))
            axis.setTextPen(pg.mkPen(t.muted))
        for key, spec in self.specs.items():
            pen = pg.mkPen(_color(spec, t), width=spec.width, style=spec.style)
            self.curves[key].setPen(pen)
        self.crosshair.setPen(pg.mkPen(t.muted, width=1, style=Qt.PenStyle.DashLine))
        for entry in self.legend.values():
            entry.restyle(t)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.restyle()

    def show_time_axis(self, shown: bool) -> None:
        """Tick labels of the time axis, or only its grid lines (plots above another)."""
        axis = self.plot.getAxis("bottom")
        axis.setStyle(showValues=shown)
        if not shown:
            axis.setHeight(6)

    # -- data --------------------------------------------------------------------------

    def set_span(self, seconds: float) -> None:
        """Show the last `seconds` (the x range; changed only when it changes)."""
        if seconds != self.span:
            self.span = seconds
            self.plot.setXRange(-seconds, 0, padding=0)

    def set_data(self, key: str, x: np.ndarray, y: np.ndarray) -> None:
        """New points for a curve: x in seconds before now (<= 0), all finite."""
        self._data[key] = (x, y)
        self.curves[key].setData(x, y)

    def clear_data(self, key: str) -> None:
        self._data.pop(key, None)
        self.curves[key].setData([], [])

    def fit_y(self) -> None:
        """Grow the y range to the next 1-2-5 step above the visible peak; shrink it when
        far below. Only visible curves count."""
        if self.fixed_y is not None:
            return
        peak = 0.0
        for key, (x, y) in self._data.items():
            if len(y) and self.curves[key].isVisible():
                start = int(np.searchsorted(x, -self.span))
                if start < len(y):
                    peak = max(peak, float(np.max(y[start:])))
        top = self._y_top
        if peak > top or peak < top / 5:
            self._set_y_top(nice_ceiling(max(peak * 1.1, self.y_floor)))

    def _set_y_top(self, top: float) -> None:
        if top != self._y_top:
            self._y_top = top
            self.plot.setYRange(0, top, padding=0)

    @property
    def y_top(self) -> float:
        return self._y_top

    def set_curve_visible(self, key: str, visible: bool) -> None:
        self.curves[key].setVisible(visible)
        entry = self.legend.get(key)
        if entry is not None and entry.isChecked() != visible:
            entry.setChecked(visible)
        self.fit_y()

    # -- cross-hair --------------------------------------------------------------------

    def _mouse_moved(self, event: tuple[QPointF]) -> None:
        pos = event[0]
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(pos):
            self.hovered.emit(None)
            return
        x = vb.mapSceneToView(pos).x()
        self.hovered.emit(min(0.0, max(-self.span, x)))

    def eventFilter(self, watched: object, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Leave:
            self.hovered.emit(None)
        return False

    def show_cursor(self, x: float | None) -> None:
        """Draw the cross-hair at `x` seconds before now and read the values there."""
        if x is None:
            self.crosshair.hide()
            self.readout.clear()
            return
        self.crosshair.setPos(x)
        self.crosshair.show()
        parts = [time_text(x)]
        for key, (xs, ys) in self._data.items():
            if not len(xs) or not self.curves[key].isVisible():
                continue
            i = int(np.clip(np.searchsorted(xs, x), 0, len(xs) - 1))
            if i > 0 and abs(xs[i - 1] - x) < abs(xs[i] - x):
                i -= 1
            if abs(xs[i] - x) > 2.0:  # no sample near the cursor (before the data starts)
                continue
            value = float(ys[i])
            if math.isfinite(value):
                parts.append(
                    f"{self.specs[key].label} {self.value_format.format(si_format(value))}"
                )
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
