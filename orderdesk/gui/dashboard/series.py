"""What the dashboard shows, worked out from the services' stats snapshots. Qt-free.

`DashboardSeries` takes the latest producer and tracker snapshots, records one sample per
tick into a fixed-size ring buffer (`orderdesk.monitor.series.RingBuffer`: memory stays
flat for hours) and answers the questions the cards and plots ask: the rates (0 once a
service stopped, not its last reading), the success rate over the last seconds, the lag
and its trend, the plotted window (growing from the start up to the chosen span) and the
pipeline's health (`orderdesk.domain.health`). Plain Python and numpy, tested as such.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from orderdesk.domain.health import (
    HealthMonitor,
    HealthSample,
    PipelineHealth,
    PipelineState,
)
from orderdesk.gui.widgets.scale import si_format
from orderdesk.monitor.series import RingBuffer, window_delta
from orderdesk.producer.stats import ProducerStats
from orderdesk.tracker.stats import TrackerStats

#: Seconds between samples (the main window's tick).
SAMPLE_SECONDS = 0.25
#: Spans the plots offer, in seconds (1, 5 and 15 minutes).
SPANS = (60.0, 300.0, 900.0)
#: Samples kept: the longest span and a little more.
HISTORY = int(SPANS[-1] / SAMPLE_SECONDS) + 100
#: Seconds over which the plotted success rate is computed.
SUCCESS_WINDOW = 10.0
#: Seconds over which the lag trend is measured.
TREND_WINDOW = 30.0
#: Seconds of history a card's sparkline shows, and the points it draws at most.
SPARK_SECONDS = 60.0
SPARK_POINTS = 60
#: While the window grows, the plotted span is the first of these that holds the elapsed
#: time (a step at a time, so the axis does not re-tick at every sample).
GROWTH_STEPS = (15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0)

# Channels of the sample ring buffer.
T, PRODUCED, CONSUMED, DEAD, SUCCESS, LAG, VALID_TOTAL, DEAD_TOTAL = range(8)
CHANNELS = 8
#: Channels are NaN until their first value is known (a plot starts there): the rates
#: until their service first runs (0 once it stopped), success until an order was
#: handled, lag until the tracker measured it.


def growing_span(elapsed: float, span: float) -> float:
    """The span to plot `elapsed` seconds after the start, at most `span`."""
    for step in GROWTH_STEPS:
        if step >= elapsed:
            return min(step, span)
    return span


def count_text(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def rate_text(value: float | None) -> str:
    """A rate for a card: '—' when unknown (the service does not run)."""
    if value is None:
        return "—"
    return si_format(value) if value >= 100 else f"{value:.1f}"


@dataclass(frozen=True)
class LagTrend:
    """Where the lag goes: messages per second (negative: falling) over `seconds`."""

    per_second: float
    seconds: float

    @property
    def arrow(self) -> str:
        if self.seconds <= 0 or abs(self.per_second) < 0.5:
            return "→"
        return "↑" if self.per_second > 0 else "↓"

    def text(self) -> str:
        if self.seconds <= 0:
            return "trend after a few seconds"
        if abs(self.per_second) < 0.5:
            return "→ steady"
        word = "rising" if self.per_second > 0 else "falling"
        return f"{self.arrow} {word} {si_format(abs(self.per_second))}/s"


class DashboardSeries:
    """The dashboard's numbers over time; feed it snapshots, `record()` once a tick."""

    def __init__(self, history: int = HISTORY, t0: float | None = None) -> None:
        self.samples = RingBuffer(history, CHANNELS)
        self.t0 = time.monotonic() if t0 is None else t0
        self.producer: ProducerStats | None = None
        self.tracker: TrackerStats | None = None
        self.producer_running = False
        self.tracker_running = False
        self.tracker_state = PipelineState.IDLE
        #: Why the last run of each service failed, one line; "" when it did not.
        self.producer_failure = ""
        self.tracker_failure = ""
        self.health_monitor = HealthMonitor()
        # Cumulative counts of earlier tracker runs, so totals and rates survive a restart.
        self._base_valid = 0
        self._base_dead = 0
        self._base_faulty = 0
        self._success = math.nan
        self._lag = math.nan
        self._first: float | None = None
        self._producer_ran = False
        self._tracker_ran = False

    # -- data in -----------------------------------------------------------------------

    def set_producer_stats(self, stats: ProducerStats) -> None:
        prev = self.producer
        if prev is not None and stats.faulty < prev.faulty:
            self._base_faulty += prev.faulty
        self.producer = stats

    def set_tracker_stats(self, stats: TrackerStats) -> None:
        prev = self.tracker
        if prev is not None and (
            stats.valid < prev.valid or stats.dead_lettered_total < prev.dead_lettered_total
        ):
            # A new run counts from zero again.
            self._base_valid += prev.valid
            self._base_dead += prev.dead_lettered_total
        self.tracker = stats

    def set_producer_running(self, running: bool) -> None:
        if running:
            self.producer_failure = ""
        self.producer_running = running
        self._producer_ran |= running

    def set_producer_failed(self, reason: str) -> None:
        """The producer's run ended with an error (`reason`, one line)."""
        self.set_producer_running(False)
        self.producer_failure = reason or "unknown error"

    def set_tracker_running(self, running: bool) -> None:
        if running:
            if not self.tracker_running:
                self.health_monitor.clear()  # judge the new run on its own samples
            self.tracker_state = PipelineState.RUNNING
            self.tracker_failure = ""
        elif self.tracker_state is PipelineState.RUNNING:
            self.tracker_state = PipelineState.STOPPED
        self.tracker_running = running
        self._tracker_ran |= running

    def set_tracker_failed(self, reason: str) -> None:
        """The tracker's run ended with an error (`reason`, one line): nothing is judged."""
        self.set_tracker_running(False)
        self.tracker_state = PipelineState.FAILED
        self.tracker_failure = reason or "unknown error"

    # -- totals ------------------------------------------------------------------------

    @property
    def valid_total(self) -> int:
        return self._base_valid + (self.tracker.valid if self.tracker else 0)

    @property
    def dead_total(self) -> int:
        return self._base_dead + (self.tracker.dead_lettered_total if self.tracker else 0)

    @property
    def produced_rate(self) -> float | None:
        p = self.producer
        return p.rate if p is not None and self.producer_running else None

    @property
    def consumed_rate(self) -> float | None:
        t = self.tracker
        return t.rate if t is not None and self.tracker_running else None

    @property
    def dead_rate(self) -> float | None:
        t = self.tracker
        return t.dead_letter_rate if t is not None and self.tracker_running else None

    @property
    def lag(self) -> int | None:
        return None if math.isnan(self._lag) else int(self._lag)

    @property
    def success(self) -> float | None:
        """Percent valid over the last `SUCCESS_WINDOW` seconds that had orders (None: none yet)."""
        return None if math.isnan(self._success) else self._success

    # -- steady timer ------------------------------------------------------------------

    def record(self, now: float | None = None) -> None:
        """Append one sample for monotonic time `now`, and feed the health monitor."""
        now = time.monotonic() if now is None else now
        if self._first is None and (self._producer_ran or self._tracker_ran):
            self._first = now  # the plotted window grows from the first service start
        valid, dead = self.valid_total, self.dead_total
        self._success = self._windowed_success(now, valid, dead)
        t = self.tracker
        if t is not None and t.lag is not None:
            self._lag = float(t.lag)
        self.samples.append(
            (
                now - self.t0,
                _plotted(self.produced_rate, self._producer_ran),
                _plotted(self.consumed_rate, self._tracker_ran),
                _plotted(self.dead_rate, self._tracker_ran),
                self._success,
                self._lag,
                valid,
                dead,
            )
        )
        if t is not None and self.tracker_running:
            faulty = self._base_faulty + (self.producer.faulty if self.producer else 0)
            self.health_monitor.observe(
                HealthSample(
                    time=now,
                    valid=valid,
                    dead_lettered=dead,
                    rate=t.rate,
                    lag=t.lag,
                    last_error=t.last_error,
                    last_error_at=_error_time(t.last_error_at),
                    deliberately_bad=faulty,
                )
            )

    def _windowed_success(self, now: float, valid: int, dead: int) -> float:
        data = self.samples.view()
        if data.shape[1]:
            i = int(np.searchsorted(data[T], now - self.t0 - SUCCESS_WINDOW))
            i = min(i, data.shape[1] - 1)
            d_valid = valid - data[VALID_TOTAL, i]
            d_dead = dead - data[DEAD_TOTAL, i]
        else:
            d_valid, d_dead = valid, dead
        if d_valid + d_dead > 0:
            return float(100.0 * d_valid / (d_valid + d_dead))
        return self._success  # nothing handled lately: the last rate holds

    # -- questions ---------------------------------------------------------------------

    def elapsed(self, now: float) -> float:
        return 0.0 if self._first is None else max(0.0, now - self._first)

    def span(self, chosen: float, now: float) -> float:
        """The plotted span: grows from the start up to `chosen` seconds."""
        return growing_span(self.elapsed(now), chosen)

    def window(self, seconds: float, now: float) -> np.ndarray:
        """The samples of the last `seconds`, shape (channels, n), T made relative to `now`
        (negative seconds; 0 is now). A copy of T only: the rest are views."""
        data = self.samples.view()
        if not data.shape[1]:
            return data
        start = int(np.searchsorted(data[T], now - self.t0 - seconds - SAMPLE_SECONDS))
        return data[:, start:]

    def lag_trend(self, seconds: float = TREND_WINDOW) -> LagTrend:
        data = self.samples.view()
        if not data.shape[1]:
            return LagTrend(0.0, 0.0)
        lag = data[LAG]
        known = _first_finite(lag)
        t, lag = data[T, known:], lag[known:]
        delta, span = window_delta(t, lag, seconds)
        return LagTrend(delta / span if span > 0 else 0.0, span)

    def spark(self, channel: int, seconds: float = SPARK_SECONDS) -> np.ndarray:
        """The channel's last `seconds`, finite values only, at most `SPARK_POINTS` long."""
        data = self.samples.view()
        if not data.shape[1]:
            return data[channel]
        start = int(np.searchsorted(data[T], data[T, -1] - seconds))
        values = data[channel, start:]
        values = values[_first_finite(values) :]
        step = max(1, math.ceil(len(values) / SPARK_POINTS))
        # Ending on the newest sample, whatever the step.
        return values[::-1][::step][::-1]

    def health(self, now_wall: datetime | None = None) -> PipelineHealth:
        p = self.producer
        ratio = p.faulty / p.generated if p is not None and p.generated else 0.0
        state = self.tracker_state
        if self.tracker is None and state is not PipelineState.FAILED:
            state = PipelineState.IDLE
        return self.health_monitor.assess(
            state, now_wall or datetime.now(UTC), faulty_ratio=ratio, reason=self.tracker_failure
        )


def _plotted(rate: float | None, ran: bool) -> float:
    """A rate as plotted: the reading while running, 0 once stopped, NaN before."""
    if rate is not None:
        return rate
    return 0.0 if ran else math.nan


def first_finite(values: np.ndarray) -> int:
    """Index of the first finite value (len(values) when there is none)."""
    return _first_finite(values)


def _first_finite(values: np.ndarray) -> int:
    finite = np.isfinite(values)
    if not len(values) or finite[0]:
        return 0
    i = int(np.argmax(finite))
    return i if finite[i] else len(values)


def _error_time(stamp: float | datetime | None) -> datetime | None:
    """The time of the last error as an aware datetime (epoch or monotonic seconds)."""
    if stamp is None or isinstance(stamp, datetime):
        return stamp
    # A value far below any plausible epoch time is a monotonic clock reading.
    if stamp < 1e9:
        stamp = time.time() - (time.monotonic() - stamp)
    return datetime.fromtimestamp(stamp, UTC)
