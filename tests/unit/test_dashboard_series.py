"""The dashboard's arithmetic, as plain Python: rates, success, lag trend, window growth."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from orderdesk.domain.health import Health, PipelineState
from orderdesk.gui.dashboard.series import (
    CONSUMED,
    LAG,
    PRODUCED,
    SUCCESS,
    DashboardSeries,
    first_finite,
    growing_span,
    rate_text,
)
from orderdesk.gui.widgets.scale import nice_ceiling, si_format, time_text
from orderdesk.producer.stats import ProducerStats
from orderdesk.tracker.stats import TrackerStats


def test_the_arithmetic_imports_without_qt():
    code = (
        "import sys; sys.modules['PySide6'] = None; sys.modules['pyqtgraph'] = None; "
        "import orderdesk.gui.dashboard.series, orderdesk.gui.widgets.scale"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (0.5, "0.5"),
        (12, "12"),
        (950, "950"),
        (1500, "1.5k"),
        (150_000, "150k"),
        (999_960, "1M"),
        (2_345_678, "2.35M"),
        (-1500, "−1.5k"),
        (math.nan, "—"),
    ],
)
def test_si_labels_are_short(value, text):
    assert si_format(value) == text


def test_nice_ceiling_climbs_a_1_2_5_ladder():
    assert [nice_ceiling(v) for v in (0, 0.7, 1, 1.2, 3, 7, 11, 160, 4999)] == [
        1, 1, 1, 2, 5, 10, 20, 200, 5000,
    ]  # fmt: skip


def test_time_ticks_read_before_now():
    assert [time_text(v) for v in (0, -0.2, -30, -60, -90, -120)] == [
        "now", "now", "−30 s", "−1 min", "−1:30", "−2 min",
    ]  # fmt: skip


def test_the_window_grows_in_steps_up_to_the_chosen_span():
    assert growing_span(0, 300) == 15
    assert growing_span(16, 300) == 30
    assert growing_span(100, 300) == 120
    assert growing_span(200, 60) == 60
    assert growing_span(10_000, 900) == 900


def feed(series: DashboardSeries, t0: float, seconds: float, **tracker) -> None:
    steps = int(seconds / 0.25)
    for i in range(1, steps + 1):
        series.set_tracker_stats(TrackerStats(**{k: v(i) for k, v in tracker.items()}))
        series.record(t0 + i * 0.25)


def test_nothing_is_plotted_before_a_service_runs_and_rates_drop_to_0_after():
    s = DashboardSeries(history=1000, t0=0.0)
    s.record(0.25)
    assert math.isnan(s.samples.last()[PRODUCED]) and math.isnan(s.samples.last()[SUCCESS])
    assert s.span(60, 0.25) == 15 and s.elapsed(100.0) == 0.0
    s.set_producer_running(True)
    s.set_producer_stats(ProducerStats(generated=10, acknowledged=10, rate=40.0))
    s.record(0.5)
    assert s.produced_rate == 40.0 and s.samples.last()[PRODUCED] == 40.0
    s.set_producer_running(False)
    s.record(0.75)
    # The last snapshot still says 40/s: a stopped producer produces nothing.
    assert s.produced_rate is None and rate_text(s.produced_rate) == "—"
    assert s.samples.last()[PRODUCED] == 0.0
    assert math.isnan(s.samples.last()[CONSUMED])  # the tracker never ran
    assert s.elapsed(10.5) == 10.0


def test_success_over_the_last_seconds_and_the_health_verdict():
    s = DashboardSeries(history=1000, t0=0.0)
    s.set_tracker_running(True)
    # 90 valid and 10 dead-lettered per second, for 20 seconds.
    feed(
        s, 0.0, 20.0,
        valid=lambda i: 22 * i, dead_lettered=lambda i: {"VALIDATION_ERROR": 3 * i},
        rate=lambda i: 100.0, lag=lambda i: 5,
    )  # fmt: skip
    assert s.success == pytest.approx(100 * 22 / 25)
    health = s.health()
    assert health.window_success == pytest.approx(100 * 22 / 25, abs=0.5)
    assert health.success.level is Health.GOOD
    assert health.lag.level is Health.CAUGHT_UP
    s.set_tracker_running(False)
    assert s.tracker_state is PipelineState.STOPPED
    assert s.health().success.level is Health.NO_DATA


def test_a_new_tracker_run_counts_on_from_the_last():
    s = DashboardSeries(history=100, t0=0.0)
    s.set_tracker_running(True)
    s.set_tracker_stats(TrackerStats(valid=100))
    s.record(1.0)
    s.set_tracker_stats(TrackerStats(valid=2, dead_lettered={"X": 1}))
    s.record(1.25)
    assert s.valid_total == 102 and s.dead_total == 1
    assert 0 <= s.success <= 100


def test_lag_trend_says_where_the_lag_goes():
    s = DashboardSeries(history=1000, t0=0.0)
    s.set_tracker_running(True)
    assert s.lag_trend().text() == "trend after a few seconds"
    feed(s, 0.0, 10.0, lag=lambda i: 1000 - 10 * i)  # falls by 40 a second
    trend = s.lag_trend()
    assert trend.per_second == pytest.approx(-40.0)
    assert trend.text() == "↓ falling 40/s"
    feed(s, 10.0, 40.0, lag=lambda i: 600)
    assert s.lag_trend().text() == "→ steady"


def test_window_and_spark_are_slices_of_the_ring_buffer():
    s = DashboardSeries(history=50, t0=0.0)
    s.set_tracker_running(True)
    feed(s, 0.0, 30.0, lag=lambda i: i)
    assert len(s.samples) == 50  # the history is fixed in size
    window = s.window(5.0, now=30.0)
    assert window[0, 0] <= 30.0 - 5.0 and window.shape[1] <= 22
    spark = s.spark(LAG, seconds=10.0)
    assert spark[-1] == s.samples.last()[LAG] and len(spark) <= 60
    assert np.all(np.isfinite(spark))


def test_first_finite():
    assert first_finite(np.array([np.nan, np.nan, 1.0, 2.0])) == 2
    assert first_finite(np.array([1.0])) == 0
    assert first_finite(np.array([np.nan])) == 1
    assert first_finite(np.array([])) == 0


def test_peak_downsampling_keeps_every_peak_and_the_last_value():
    from orderdesk.gui.widgets.scale import peak_downsample

    x = np.arange(10_000, dtype=float)
    y = np.zeros(10_000)
    y[1234] = 99.0
    y[-1] = 7.0
    dx, dy = peak_downsample(x, y, 200)
    assert len(dy) <= 260 and dy.max() == 99.0 and dy[-1] == 7.0 and dx[-1] == x[-1]
    _small_x, small_y = peak_downsample(x[:50], y[:50], 200)
    assert len(small_y) == 50


def test_axis_ticks():
    from orderdesk.gui.widgets.scale import time_ticks, value_ticks

    step, minors = time_ticks(60.0, 900.0)
    assert step == 10.0 and minors[0] == 0.0 and minors[-1] == -60.0
    assert value_ticks(200.0, 200.0) == [0.0, 50.0, 100.0, 150.0, 200.0]
    assert value_ticks(5.0, 60.0) == [0.0, 5.0]
