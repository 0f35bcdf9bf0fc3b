"""The live dashboard: throughput, success rate and lag plots, counters, health badges.

Stats snapshots arrive whenever the main window drains the service feeds; the dashboard
keeps only the latest one. `tick()`, called from one steady GUI timer, appends a sample
to fixed-size numpy ring buffers (memory stays flat for hours) and, only when the
dashboard is visible, repaints the curves with `setData`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsItem,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from orderdesk.domain import FailureReason, Health, error_health, success_health, throughput_health
from orderdesk.producer.stats import ProducerStats
from orderdesk.tracker.stats import TrackerStats

#: Seconds shown on the plots' time axis.
WINDOW_SECONDS = 120.0
#: Samples kept per curve: a little more than the window at four samples a second.
HISTORY = 520
#: Least upper end of the lag plot (counts are whole numbers) and of the throughput plot
#: (rates of a slow pace, such as the default 0.5 orders/s, stay readable).
MIN_Y_TOP = 5.0
MIN_RATE_TOP = 1.0
#: Seconds over which the plotted success rate is computed.
SUCCESS_WINDOW = 5.0
#: Lines of the last-error label, and the characters that fit in them.
ERROR_LINES = 4
ERROR_CHARS = 100

# Channels of the sample ring buffer.
T, PRODUCED, CONSUMED, DEAD, SUCCESS, LAG, VALID_TOTAL, DEAD_TOTAL = range(8)
CHANNELS = 8

BADGE_COLORS = {
    Health.EXCELLENT: "#2e7d32",
    Health.NORMAL: "#2e7d32",
    Health.OK: "#2e7d32",
    Health.GOOD: "#9a6700",
    Health.LOW: "#9a6700",
    Health.WARNING: "#9a6700",
    Health.POOR: "#c62828",
    Health.STALLED: "#c62828",
    Health.CRITICAL: "#c62828",
}
IDLE_COLOR = "#8a8a8a"

CURVE_COLORS = {
    "produced": "#1565c0",
    "consumed": "#2e7d32",
    "dead": "#c62828",
    "success": "#6a1b9a",
    "lag": "#ef6c00",
}


class RingBuffer:
    """Fixed-size multi-channel history; `view()` is always one contiguous slice.

    Every sample is written twice, at `i` and `i + capacity`, so the last `capacity`
    samples sit side by side in the doubled array and no copy is needed to plot them.
    """

    def __init__(self, capacity: int, channels: int) -> None:
        self.capacity = capacity
        self._data = np.zeros((channels, 2 * capacity), dtype=np.float64)
        self._next = 0
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, row: Any) -> None:
        i = self._next
        self._data[:, i] = row
        self._data[:, i + self.capacity] = row
        self._next = (i + 1) % self.capacity
        self._count = min(self._count + 1, self.capacity)

    def view(self) -> np.ndarray:
        """The samples held, oldest first, shape (channels, len(self))."""
        end = self._next + self.capacity
        return self._data[:, end - self._count : end]

    def last(self) -> np.ndarray | None:
        return self.view()[:, -1] if self._count else None


class Badge(QLabel):
    """A rounded coloured label naming one health level."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.health: Health | None = None
        self._styled = False
        self._tooltip = ""
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumWidth(150)
        self.set_health(None)

    def set_health(self, health: Health | None, detail: str = "") -> None:
        # Style sheets are costly to apply: only touch the widget when something changed.
        text = f"{self.title}: {'—' if health is None else health.value}"
        tooltip = detail or text
        if tooltip != self._tooltip:
            self._tooltip = tooltip
            self.setToolTip(tooltip)
        if health is self.health and self._styled:
            return
        self.health = health
        self._styled = True
        color = IDLE_COLOR if health is None else BADGE_COLORS[health]
        self.setText(text)
        self.setStyleSheet(
            f"QLabel {{ background: {color}; color: white; border-radius: 9px;"
            " padding: 3px 10px; font-weight: bold; }"
        )


class Counter(QLabel):
    """A right-aligned number that only calls into Qt when its text changes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("0", parent)
        self._shown = "0"
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setMinimumWidth(80)
        font = self.font()
        font.setFamily("monospace")
        font.setStyleHint(font.StyleHint.Monospace)
        self.setFont(font)

    def show_text(self, text: str) -> None:
        # Every call into Qt may wait for the GIL while the services run flat out.
        if text != self._shown:
            self._shown = text
            self.setText(text)


def nice_ceiling(value: float) -> float:
    """The least of 1, 2, 5, 10, 20, 50, … that is >= `value` (> 0)."""
    exponent = np.floor(np.log10(value))
    for step in (1.0, 2.0, 5.0, 10.0):
        top = float(step * 10.0**exponent)
        if top >= value:
            return top
    return float(10.0 ** (exponent + 1))


def _fmt_int(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _fmt_rate(value: float) -> str:
    return f"{value:,.1f}/s"


class Dashboard(QWidget):
    """Plots, counters and health badges for the producer and the tracker."""

    def __init__(self, parent: QWidget | None = None, history: int = HISTORY) -> None:
        super().__init__(parent)
        self.samples = RingBuffer(history, CHANNELS)
        self.producer_stats: ProducerStats | None = None
        self.tracker_stats: TrackerStats | None = None
        self.tracker_running = False
        self.refreshes = 0
        self._t0 = time.monotonic()
        # Cumulative counts of earlier tracker runs, so rates survive a restart.
        self._base_valid = 0
        self._base_dead = 0
        self._last_success = 100.0
        self._last_lag = 0.0
        self._last_error_text = ""

        self.badges = {
            "success": Badge("Success"),
            "throughput": Badge("Throughput"),
            "errors": Badge("Errors"),
        }
        badge_row = QHBoxLayout()
        for badge in self.badges.values():
            badge_row.addWidget(badge)
        badge_row.addStretch(1)

        self.counters: dict[str, Counter] = {}
        producer_box = self._counter_box(
            "Producer",
            [
                ("generated", "Generated"),
                ("acknowledged", "Acknowledged"),
                ("failed", "Failed deliveries"),
                ("faulty", "Faulty on purpose"),
                ("p_in_flight", "In flight"),
                ("p_rate", "Acknowledged rate"),
            ],
        )
        tracker_box = self._counter_box(
            "Tracker",
            [
                ("received", "Received"),
                ("valid", "Valid"),
                ("retries", "Retries"),
                ("dead_lettered", "Dead-lettered"),
                ("t_in_flight", "In flight"),
                ("lag", "Consumer lag"),
                ("t_rate", "Received rate"),
            ],
        )
        dlq_box = self._counter_box(
            "Dead-lettered by reason",
            [(f"dlq:{r.value}", r.value.replace("_", " ").title()) for r in FailureReason],
        )
        self.last_error = QLabel()
        self.last_error.setWordWrap(True)
        self.last_error.setStyleSheet("color: #c62828;")
        self.last_error.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # A fixed height: errors of different lengths must not resize the plots (a relayout
        # of the plots costs a full repaint and makes them jump).
        self.last_error.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.last_error.setFixedHeight(
            self.last_error.fontMetrics().lineSpacing() * ERROR_LINES + 2
        )

        # Two columns of counters keep the dashboard short, so that the log panel under it
        # shows a useful number of rows at the default window size.
        first = QVBoxLayout()
        first.addWidget(producer_box)
        first.addWidget(dlq_box)
        first.addStretch(1)
        second = QVBoxLayout()
        second.addWidget(tracker_box)
        second.addWidget(self.last_error)
        second.addStretch(1)
        left = QHBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.addLayout(first)
        left.addLayout(second)
        left_widget = QWidget()
        left_widget.setLayout(left)
        # A fixed width: counters whose text grows must not resize the plots.
        left_widget.setFixedWidth(left_widget.sizeHint().width())

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        self.plots.setFrameShape(QFrame.Shape.StyledPanel)
        self.throughput_plot = self._plot("Throughput", "msg/s", row=0)
        self.success_plot = self._plot("Success rate", "%", row=1)
        self.lag_plot = self._plot("Consumer lag", "messages", row=2)
        # 0..100 plus a margin of a few pixels, see `_fit_success_range`.
        self.success_plot.getViewBox().sigResized.connect(self._fit_success_range)
        self._fit_success_range()
        # Fixed ticks: 0, 50 and 100 always labelled (with grid lines), 25 and 75 when the
        # plot is tall enough.
        self.success_plot.getAxis("left").setTicks(
            [[(v, str(v)) for v in (0, 50, 100)], [(v, str(v)) for v in (25, 75)]]
        )
        #: Upper end of each plot's y range, set by `refresh` from the data on a 1-2-5
        #: ladder, so the range (and the axis picture) changes only when the data outgrows it.
        self._y_top = {self.throughput_plot: 0.0, self.lag_plot: 0.0}
        self._y_floor = {self.throughput_plot: MIN_RATE_TOP, self.lag_plot: MIN_Y_TOP}
        for plot, floor in self._y_floor.items():
            self._set_y_top(plot, floor)
        # One time axis, under the last plot: they all show the same fixed window.
        self.lag_plot.setLabel("bottom", "seconds ago")
        for plot in (self.throughput_plot, self.success_plot):
            plot.hideAxis("bottom")
        # The legend lives in the title: a legend item would repaint with every curve update.
        self.throughput_plot.setTitle(
            "Throughput: "
            + " · ".join(
                f"<span style='color:{CURVE_COLORS[key]}'>■ {label}</span>"
                for key, label in (
                    ("produced", "produced/s"),
                    ("consumed", "consumed/s"),
                    ("dead", "dead-lettered/s"),
                )
            ),
            color="#222",
            size="10pt",
        )
        self.curves = {
            "produced": self._curve(self.throughput_plot, "produced/s", "produced"),
            "consumed": self._curve(self.throughput_plot, "consumed/s", "consumed"),
            "dead": self._curve(self.throughput_plot, "dead-lettered/s", "dead"),
            "success": self._curve(self.success_plot, "success %", "success"),
            "lag": self._curve(self.lag_plot, "lag", "lag"),
        }

        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addLayout(badge_row)
        body = QHBoxLayout()
        body.addWidget(left_widget)
        body.addWidget(self.plots, 1)
        outer.addLayout(body, 1)

    def _counter_box(self, title: str, rows: list[tuple[str, str]]) -> QGroupBox:
        box = QGroupBox(title)
        grid = QGridLayout(box)
        grid.setVerticalSpacing(2)
        grid.setContentsMargins(8, 4, 8, 6)
        for i, (key, label) in enumerate(rows):
            grid.addWidget(QLabel(label), i, 0)
            counter = Counter()
            counter.setObjectName(key)
            self.counters[key] = counter
            grid.addWidget(counter, i, 1)
        grid.setColumnStretch(0, 1)
        return box

    def _plot(self, title: str, units: str, row: int) -> pg.PlotItem:
        """A plot that costs little to repaint while the services keep the GIL busy.

        Every Python call of a repaint waits for the GIL, so: fixed ranges set from
        `refresh` instead of auto-range (no bounds queries per paint), no mouse
        interaction, and axes cached as pixmaps (grid included), so that an unchanged
        axis is not painted again in Python at every frame.
        """
        plot = self.plots.addPlot(row=row, col=0)
        plot.setTitle(title, color="#222", size="10pt")
        plot.setLabel("left", units)
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.disableAutoRange()
        plot.setXRange(-WINDOW_SECONDS, 0, padding=0)
        plot.getAxis("left").setWidth(60)
        plot.getAxis("left").enableAutoSIPrefix(False)
        for axis in ("left", "bottom"):
            item = plot.getAxis(axis)
            item.setTextPen("#333")
            item.setPen("#888")
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        return plot

    def _curve(self, plot: pg.PlotItem, name: str, key: str) -> pg.PlotCurveItem:
        # A bare curve item: PlotDataItem's extra layer (display dataset, bounds, clipping)
        # costs Python time at every update and is of no use for 500 points.
        curve = pg.PlotCurveItem(
            name=name, pen=pg.mkPen(CURVE_COLORS[key], width=2), skipFiniteCheck=True
        )
        plot.addItem(curve)
        return curve

    def _fit_success_range(self) -> None:
        """Show 0..100 with just enough room above and below for the 0 and 100 labels.

        pyqtgraph drops a tick label that would stick out of its axis, and a label is
        centred on its tick: without this margin 100 % (the usual value) has no label and
        its grid line sits on the plot's edge.
        """
        height = self.success_plot.getViewBox().height()
        # Half a label (pyqtgraph counts 0.8 of the font height) and a pixel or two.
        room = 0.4 * self.fontMetrics().height() + 2
        # Below four label heights the plot is too small to matter; keep the range sane.
        margin = 100.0 * room / (height - 2 * room) if height > 4 * room else 50.0
        self.success_plot.setYRange(-margin, 100.0 + margin, padding=0)

    def _set_y_top(self, plot: pg.PlotItem, top: float) -> None:
        if top != self._y_top[plot]:
            self._y_top[plot] = top
            plot.setYRange(0, top, padding=0)

    def _fit_y(self, plot: pg.PlotItem, peak: float) -> None:
        """Grow the y range to the next 1-2-5 step above `peak`; shrink it when far below."""
        top = self._y_top[plot]
        if peak > top or peak < top / 5:
            self._set_y_top(plot, nice_ceiling(max(peak * 1.1, self._y_floor[plot])))

    # -- data in -----------------------------------------------------------------------

    def set_producer_stats(self, stats: ProducerStats) -> None:
        self.producer_stats = stats

    def set_tracker_stats(self, stats: TrackerStats) -> None:
        prev = self.tracker_stats
        if prev is not None and (
            stats.valid < prev.valid or stats.dead_lettered_total < prev.dead_lettered_total
        ):
            # A new run counts from zero again.
            self._base_valid += prev.valid
            self._base_dead += prev.dead_lettered_total
        self.tracker_stats = stats

    def set_tracker_running(self, running: bool) -> None:
        self.tracker_running = running

    # -- steady timer ------------------------------------------------------------------

    def tick(self, now: float | None = None) -> None:
        """Record one sample; repaint only when visible."""
        now = time.monotonic() if now is None else now
        self._record(now)
        if self.isVisible():
            self.refresh(now)

    def _record(self, now: float) -> None:
        p, t = self.producer_stats, self.tracker_stats
        produced = p.rate if p is not None else 0.0
        consumed = t.rate if t is not None else 0.0
        dead = t.dead_letter_rate if t is not None else 0.0
        valid_total = self._base_valid + (t.valid if t else 0)
        dead_total = self._base_dead + (t.dead_lettered_total if t else 0)
        success = self._windowed_success(now, valid_total, dead_total)
        if t is not None and t.lag is not None:
            self._last_lag = float(t.lag)
        self.samples.append(
            (now - self._t0, produced, consumed, dead, success, self._last_lag,
             valid_total, dead_total)
        )  # fmt: skip

    def _windowed_success(self, now: float, valid_total: int, dead_total: int) -> float:
        data = self.samples.view()
        if data.shape[1]:
            t = data[T]
            # The oldest sample still inside the window (or the oldest at all).
            i = int(np.searchsorted(t, now - self._t0 - SUCCESS_WINDOW))
            i = min(i, data.shape[1] - 1)
            d_valid = valid_total - data[VALID_TOTAL, i]
            d_dead = dead_total - data[DEAD_TOTAL, i]
        else:
            d_valid, d_dead = valid_total, dead_total
        if d_valid + d_dead > 0:
            self._last_success = 100.0 * d_valid / (d_valid + d_dead)
        return self._last_success

    def refresh(self, now: float | None = None) -> None:
        """Push the ring buffers into the curves and the latest stats into the labels."""
        now = time.monotonic() if now is None else now
        self.refreshes += 1
        data = self.samples.view()
        if data.shape[1]:
            x = data[T] - (now - self._t0)
            self.curves["produced"].setData(x, data[PRODUCED])
            self.curves["consumed"].setData(x, data[CONSUMED])
            self.curves["dead"].setData(x, data[DEAD])
            self.curves["success"].setData(x, data[SUCCESS])
            self.curves["lag"].setData(x, data[LAG])
            self._fit_y(self.throughput_plot, float(data[PRODUCED : DEAD + 1].max()))
            self._fit_y(self.lag_plot, float(data[LAG].max()))
        self._refresh_counters()
        self._refresh_badges(now)

    def _refresh_counters(self) -> None:
        c = self.counters
        p = self.producer_stats
        if p is not None:
            c["generated"].show_text(_fmt_int(p.generated))
            c["acknowledged"].show_text(_fmt_int(p.acknowledged))
            c["failed"].show_text(_fmt_int(p.failed))
            c["faulty"].show_text(_fmt_int(p.faulty))
            c["p_in_flight"].show_text(_fmt_int(p.in_flight))
            c["p_rate"].show_text(_fmt_rate(p.rate))
        t = self.tracker_stats
        if t is not None:
            c["received"].show_text(_fmt_int(t.received))
            c["valid"].show_text(_fmt_int(t.valid))
            c["retries"].show_text(_fmt_int(t.retries))
            c["dead_lettered"].show_text(_fmt_int(t.dead_lettered_total))
            c["t_in_flight"].show_text(_fmt_int(t.in_flight))
            c["lag"].show_text(_fmt_int(t.lag))
            c["t_rate"].show_text(_fmt_rate(t.rate))
            for reason in FailureReason:
                c[f"dlq:{reason.value}"].show_text(_fmt_int(t.dead_lettered.get(reason.value, 0)))
            error = f"Last error: {t.last_error}" if t.last_error else ""
            if error != self._last_error_text:
                self._last_error_text = error
                # What fits in the label's few lines; the whole text is in the tooltip.
                short = error if len(error) <= ERROR_CHARS else error[: ERROR_CHARS - 1] + "…"
                self.last_error.setText(short)
                self.last_error.setToolTip(error)

    def _refresh_badges(self, now: float) -> None:
        t = self.tracker_stats
        if t is None:
            for badge in self.badges.values():
                badge.set_health(None)
            return
        last = self.samples.last()
        success = float(last[SUCCESS]) if last is not None else t.success_rate
        self.badges["success"].set_health(
            success_health(success), f"{success:.1f} % valid over the last few seconds"
        )
        if self.tracker_running:
            self.badges["throughput"].set_health(
                throughput_health(t.rate), f"{t.rate:.2f} messages/s received"
            )
        else:
            self.badges["throughput"].set_health(None, "the tracker is not running")
        when = _error_time(t.last_error_at)
        self.badges["errors"].set_health(
            error_health(when, datetime.now(UTC)), t.last_error or "no error so far"
        )


def _error_time(stamp: float | datetime | None) -> datetime | None:
    """The time of the last error as an aware datetime (epoch or monotonic seconds)."""
    if stamp is None or isinstance(stamp, datetime):
        return stamp
    # A value far below any plausible epoch time is a monotonic clock reading.
    if stamp < 1e9:
        stamp = time.time() - (time.monotonic() - stamp)
    return datetime.fromtimestamp(stamp, UTC)
