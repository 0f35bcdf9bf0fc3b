"""The live dashboard: KPI cards over three plots, the counters one click away.

Stats snapshots arrive whenever the main window drains the service feeds; the dashboard
keeps only the latest ones (in `DashboardSeries`, Qt-free). `tick()`, called from one
steady GUI timer, records a sample and, only while the dashboard is visible, repaints:
the cards' texts and sparklines where they changed, and the curves with `setData` from
slices of the ring buffer (no copies, no curve created after start-up).
"""

from __future__ import annotations

import time
import weakref

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from orderdesk.domain import FailureReason
from orderdesk.domain.health import PipelineHealth, Tone
from orderdesk.gui.dashboard.cards import KpiCard
from orderdesk.gui.dashboard.series import (
    CONSUMED,
    DEAD,
    HISTORY,
    LAG,
    PRODUCED,
    SPANS,
    SUCCESS,
    DashboardSeries,
    count_text,
    first_finite,
    rate_text,
)
from orderdesk.gui.widgets import theme
from orderdesk.gui.widgets.plots import CurveSpec, PlotGroup, TimePlot
from orderdesk.gui.widgets.scale import si_format
from orderdesk.producer.stats import ProducerStats
from orderdesk.tracker.stats import TrackerStats

__all__ = ["Dashboard"]

#: Lines of the last-error label, and the characters that fit in them.
ERROR_LINES = 4
ERROR_CHARS = 160
#: The span the plots open with.
DEFAULT_SPAN = SPANS[0]

PRODUCER_ROWS = (
    ("generated", "Generated"),
    ("acknowledged", "Acknowledged by the broker"),
    ("failed", "Delivery failed"),
    ("unknown", "Outcome unknown (may be on the topic)"),
    ("p_in_flight", "In flight"),
    ("faulty", "Made bad on purpose"),
    ("p_rate", "Acknowledged per second"),
)
TRACKER_ROWS = (
    ("received", "Received"),
    ("valid", "Valid"),
    ("retries", "Retries"),
    ("dead_lettered", "Dead-lettered"),
    ("t_in_flight", "In flight"),
    ("lag", "Consumer lag"),
    ("t_rate", "Received per second"),
)


def _tone_of(verdict_tone: Tone, judged: bool) -> Tone:
    return verdict_tone if judged else Tone.IDLE


class Dashboard(QWidget):
    """KPI cards and plots of this window's producer and tracker; details on demand."""

    def __init__(self, parent: QWidget | None = None, history: int = HISTORY) -> None:
        super().__init__(parent)
        self.series = DashboardSeries(history)
        self.samples = self.series.samples
        self.refreshes = 0
        self.span = DEFAULT_SPAN
        self._last_error_text = ""
        self.health: PipelineHealth | None = None
        #: A service started or stopped since the last tick: repaint everything.
        self._changed = True

        self.cards = {
            "in": KpiCard("Orders in", "orders/s"),
            "out": KpiCard("Orders out", "orders/s"),
            "success": KpiCard("Success", "%"),
            "lag": KpiCard("Lag", "messages"),
            "dead": KpiCard("Dead letters", "this session"),
        }
        #: The cards by what the health model judges (kept under the badges' old names).
        self.badges = {
            "success": self.cards["success"],
            "throughput": self.cards["out"],
            "lag": self.cards["lag"],
            "errors": self.cards["dead"],
        }
        card_row = QHBoxLayout()
        card_row.setSpacing(8)
        for card in self.cards.values():
            card_row.addWidget(card)

        self.span_buttons = QButtonGroup(self)
        controls = QHBoxLayout()
        controls.setSpacing(2)
        shown = QLabel("Show the last")
        controls.addWidget(shown)
        for seconds in SPANS:
            button = QPushButton(f"{seconds / 60:g} min")
            button.setCheckable(True)
            button.setFlat(True)
            button.setChecked(seconds == self.span)
            button.setToolTip(
                f"Plot the last {seconds / 60:g} minutes (the plots grow to it from the start)"
            )
            self.span_buttons.addButton(button, int(seconds))
            controls.addWidget(button)
        self.span_buttons.idClicked.connect(lambda s: self.set_span(float(s)))
        controls.addStretch(1)
        self.details_button = QToolButton()
        self.details_button.setText("Details")
        self.details_button.setCheckable(True)
        self.details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_button.setArrowType(Qt.ArrowType.RightArrow)
        self.details_button.setToolTip(
            "Counters of the producer and the tracker, dead letters by reason, the last error"
        )
        self.details_button.toggled.connect(self.show_details)
        controls.addWidget(self.details_button)

        self.throughput_plot = TimePlot(
            "Throughput",
            "orders/s",
            [
                CurveSpec("produced", "produced", "blue"),
                CurveSpec("consumed", "consumed", "green", Qt.PenStyle.DashLine),
                CurveSpec("dead", "dead-lettered", "vermillion", Qt.PenStyle.DotLine, 2.4),
            ],
            value_format="{}/s",
        )
        self.success_plot = TimePlot(
            "Success",
            "% valid over 10 s",
            [CurveSpec("success", "success", "purple")],
            y_range=(0.0, 105.0),
            value_format="{} %",
            y_ticks=(0, 25, 50, 75, 100),
        )
        self.lag_plot = TimePlot(
            "Consumer lag", "messages", [CurveSpec("lag", "lag", "orange")], y_floor=5.0
        )
        self.plot_group = PlotGroup([self.throughput_plot, self.success_plot, self.lag_plot])
        self.plot_group.set_span(self.series.span(self.span, time.monotonic()))
        # Throughput over the full width; success and lag side by side under it.
        plots = QGridLayout()
        plots.setSpacing(8)
        plots.addWidget(self.throughput_plot, 0, 0, 1, 2)
        plots.addWidget(self.success_plot, 1, 0)
        plots.addWidget(self.lag_plot, 1, 1)
        plots.setRowStretch(0, 3)
        plots.setRowStretch(1, 2)
        self.curves = {
            **self.throughput_plot.curves,
            **self.success_plot.curves,
            **self.lag_plot.curves,
        }

        self.details = self._details_panel()
        self.details.hide()
        body = QHBoxLayout()
        body.setSpacing(8)
        body.addLayout(plots, 1)
        body.addWidget(self.details)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 6)
        outer.setSpacing(6)
        outer.addLayout(card_row)
        outer.addLayout(controls)
        outer.addLayout(body, 1)
        self._restyle()

    # -- construction ------------------------------------------------------------------

    def _details_panel(self) -> QScrollArea:
        self.counters: dict[str, QLabel] = {}
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.addWidget(self._counter_box("Producer", PRODUCER_ROWS))
        layout.addWidget(self._counter_box("Tracker", TRACKER_ROWS))
        layout.addWidget(
            self._counter_box(
                "Dead-lettered by reason",
                [(f"dlq:{r.value}", r.value.replace("_", " ").capitalize()) for r in FailureReason],
            )
        )
        self.last_error = QLabel()
        self.last_error.setWordWrap(True)
        self.last_error.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.last_error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.last_error.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.last_error.setFixedHeight(
            self.last_error.fontMetrics().lineSpacing() * ERROR_LINES + 2
        )
        layout.addWidget(self.last_error)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # A fixed width: counters whose text grows must not resize the plots.
        scroll.setFixedWidth(panel.sizeHint().width() + 16)
        return scroll

    def _counter_box(self, title: str, rows: object) -> QGroupBox:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setVerticalSpacing(2)
        form.setContentsMargins(8, 4, 8, 6)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for key, label in rows:  # type: ignore[attr-defined]
            counter = QLabel("—")
            counter.setObjectName(key)
            counter.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            counter.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            counter.setMinimumWidth(90)
            font = counter.font()
            font.setStyleHint(font.StyleHint.Monospace)
            font.setFamily("monospace")
            counter.setFont(font)
            self.counters[key] = counter
            form.addRow(label, counter)
        return box

    def _restyle(self) -> None:
        t = theme.current()
        self.last_error.setStyleSheet(f"color: {t.tone(Tone.BAD)};")

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in theme.CHANGE_EVENTS:
            self._restyle()

    # -- user --------------------------------------------------------------------------

    def set_span(self, seconds: float) -> None:
        """Plot the last `seconds` (1, 5 or 15 minutes), growing to it from the start."""
        self.span = seconds
        button = self.span_buttons.button(int(seconds))
        if button is not None and not button.isChecked():
            button.setChecked(True)
        if self.isVisible():
            self.refresh()

    def show_details(self, shown: bool) -> None:
        self.details.setVisible(shown)
        self.details_button.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )
        if self.details_button.isChecked() != shown:
            self.details_button.setChecked(shown)

    # -- data in -----------------------------------------------------------------------

    def set_producer_stats(self, stats: ProducerStats) -> None:
        self.series.set_producer_stats(stats)

    def set_tracker_stats(self, stats: TrackerStats) -> None:
        self.series.set_tracker_stats(stats)

    def set_producer_running(self, running: bool) -> None:
        self._changed |= running != self.series.producer_running
        self.series.set_producer_running(running)

    def set_tracker_running(self, running: bool) -> None:
        self._changed |= running != self.series.tracker_running
        self.series.set_tracker_running(running)

    def set_producer_failed(self, reason: str) -> None:
        """The producer's run ended with an error: its card says so, and why."""
        self._changed |= reason != self.series.producer_failure
        self.series.set_producer_failed(reason)

    def set_tracker_failed(self, reason: str) -> None:
        """The tracker's run ended with an error: no badge judges, its card says why."""
        self._changed |= reason != self.series.tracker_failure
        self.series.set_tracker_failed(reason)

    @property
    def producer_stats(self) -> ProducerStats | None:
        return self.series.producer

    @property
    def tracker_stats(self) -> TrackerStats | None:
        return self.series.tracker

    # -- steady timer ------------------------------------------------------------------

    def tick(self, now: float | None = None) -> None:
        """Record one sample; repaint only when visible, a part of it at a time.

        With the services flat out, the GUI's Python runs several times slower (it waits
        for the GIL), and one frame that repaints everything is one long stall of the
        event loop. So a tick repaints the cards' numbers, then either the throughput plot
        or the other two, and one card's sparkline in turn: each plot at 2 Hz, each
        sparkline about once a second. A service starting or stopping repaints all.
        """
        now = time.monotonic() if now is None else now
        self.series.record(now)
        if self.isVisible():
            self.refresh(now, part=None if self._changed else self.refreshes)
            self._changed = False

    def refresh(self, now: float | None = None, part: int | None = None) -> None:
        """Push the ring buffer into the curves and the latest numbers into the cards:
        all of it, or (`part`) the share of the tick numbered so."""
        now = time.monotonic() if now is None else now
        self.refreshes += 1
        series = self.series
        span = series.span(self.span, now)
        self.plot_group.set_span(span)
        data = series.window(span, now)
        if data.shape[1]:
            x = data[0] - (now - series.t0)
            channels = (
                ((self.throughput_plot, "produced", PRODUCED),
                 (self.throughput_plot, "consumed", CONSUMED),
                 (self.throughput_plot, "dead", DEAD)),
                ((self.success_plot, "success", SUCCESS),
                 (self.lag_plot, "lag", LAG)),
            )  # fmt: skip
            chosen = channels if part is None else (channels[part % 2],)
            # Nothing drawn before there is a number: a curve starts at its first value.
            for group in chosen:
                for plot, key, channel in group:
                    start = first_finite(data[channel])
                    if start < len(x):
                        plot.set_data(key, x[start:], data[channel, start:])
                    else:
                        plot.clear_data(key)
            self.throughput_plot.fit_y()
            self.lag_plot.fit_y()
        self._refresh_cards(None if part is None else part % len(self.cards))
        self._refresh_counters()

    def _refresh_cards(self, spark: int | None = None) -> None:
        """The cards' numbers; their sparklines all, or only the `spark`-th card's."""
        s = self.series
        health = self.health = s.health()
        c = self.cards

        produced = s.produced_rate
        c["in"].show_value(rate_text(produced))
        failed = bool(s.producer_failure)
        c["in"].set_tone(Tone.BAD if failed else Tone.GOOD if produced is not None else Tone.IDLE)
        p = s.producer
        if failed:
            c["in"].show_caption(f"failed: {s.producer_failure}")
        elif p is None:
            c["in"].show_caption("producer not started")
        elif produced is None:
            c["in"].show_caption(f"stopped · {p.acknowledged:,} acknowledged")
        else:
            c["in"].show_caption(
                f"{si_format(p.acknowledged)} acknowledged · {p.failed:,} failed"
                + (f" · {p.unknown:,} unknown" if p.unknown else ""),
                f"{p.acknowledged:,} acknowledged, {p.failed:,} failed, {p.unknown:,} with an "
                f"unknown outcome, {p.in_flight:,} in flight",
            )

        consumed = s.consumed_rate
        v = health.throughput
        c["out"].show_value(rate_text(consumed))
        failed = bool(s.tracker_failure)
        c["out"].set_tone(Tone.BAD if failed else _tone_of(v.tone, v.judged))
        t = s.tracker
        if failed:
            c["out"].show_caption(f"failed: {s.tracker_failure}", v.detail)
        elif t is None:
            c["out"].show_caption("tracker not started")
        elif consumed is None:
            c["out"].show_caption(f"stopped · {t.received:,} received", v.detail)
        else:
            c["out"].show_caption(v.level.value if v.judged else "measuring…", v.detail)

        v = health.success
        success = health.window_success if health.window_success is not None else s.success
        c["success"].show_value("—" if success is None else f"{success:.1f}")
        c["success"].set_tone(_tone_of(v.tone, v.judged))
        window = f"over {s.health_monitor.thresholds.window:.0f} s"
        c["success"].show_caption(f"{v.level.value} · {window}" if v.judged else window, v.detail)

        v = health.lag
        lag = s.lag
        c["lag"].show_value("—" if lag is None else si_format(lag))
        c["lag"].set_tone(_tone_of(v.tone, v.judged))
        trend = s.lag_trend()
        c["lag"].show_caption(
            trend.text() if lag is not None else "not measured yet",
            v.detail if v.judged else f"{count_text(lag)} messages not yet consumed",
        )

        v = health.errors
        dead = s.dead_total
        c["dead"].show_value(si_format(dead) if t is not None else "—")
        c["dead"].set_tone(_tone_of(v.tone, v.judged))
        c["dead"].show_caption(
            "waiting in the Dead letters tab" if dead else "none so far", v.detail
        )

        for i, (card, channel) in enumerate(
            zip(c.values(), (PRODUCED, CONSUMED, SUCCESS, LAG, DEAD), strict=True)
        ):
            if spark is None or spark == i:
                card.spark.set_values(s.spark(channel))

    def _refresh_counters(self) -> None:
        c = self.counters
        s = self.series
        p = s.producer
        if p is not None:
            _show(c["generated"], count_text(p.generated))
            _show(c["acknowledged"], count_text(p.acknowledged))
            _show(c["failed"], count_text(p.failed))
            _show(c["unknown"], count_text(p.unknown))
            _show(c["faulty"], count_text(p.faulty))
            _show(c["p_in_flight"], count_text(p.in_flight))
            _show(c["p_rate"], rate_text(s.produced_rate))
        t = s.tracker
        if t is not None:
            _show(c["received"], count_text(t.received))
            _show(c["valid"], count_text(t.valid))
            _show(c["retries"], count_text(t.retries))
            _show(c["dead_lettered"], count_text(t.dead_lettered_total))
            _show(c["t_in_flight"], count_text(t.in_flight))
            _show(c["lag"], count_text(t.lag))
            _show(c["t_rate"], rate_text(s.consumed_rate))
            for reason in FailureReason:
                _show(c[f"dlq:{reason.value}"], count_text(t.dead_lettered.get(reason.value, 0)))
            error = f"Last error: {t.last_error}" if t.last_error else ""
            if error != self._last_error_text:
                self._last_error_text = error
                # What fits in the label's few lines; the whole text is in the tooltip.
                short = error if len(error) <= ERROR_CHARS else error[: ERROR_CHARS - 1] + "…"
                self.last_error.setText(short)
                self.last_error.setToolTip(error)


def _show(label: QLabel, text: str) -> None:
    # Every call into Qt may wait for the GIL while the services run flat out: compare
    # with the text last set, kept on the Python side.
    if _shown.get(label) != text:
        _shown[label] = text
        label.setText(text)


_shown: weakref.WeakKeyDictionary[QLabel, str] = weakref.WeakKeyDictionary()
