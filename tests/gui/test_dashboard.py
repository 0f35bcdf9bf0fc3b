"""Dashboard: ring buffers stay fixed in size, counters and curves follow the stats."""

from __future__ import annotations

import time

import numpy as np

from orderdesk.domain import Health
from orderdesk.gui.dashboard.dashboard import CONSUMED, SUCCESS, Dashboard, RingBuffer
from orderdesk.producer.stats import ProducerStats
from orderdesk.tracker.stats import TrackerStats


def test_ring_buffer_keeps_the_last_samples_contiguous() -> None:
    ring = RingBuffer(4, 2)
    assert ring.view().shape == (2, 0)
    for i in range(10):
        ring.append((i, 10 * i))
    view = ring.view()
    assert view.shape == (2, 4)
    assert view.flags["C_CONTIGUOUS"] or view.base is not None
    np.testing.assert_array_equal(view[0], [6, 7, 8, 9])
    np.testing.assert_array_equal(ring.last(), [9, 90])


def test_history_memory_is_fixed(qtbot) -> None:
    dash = Dashboard(history=50)
    qtbot.addWidget(dash)
    for i in range(500):
        dash.tick(now=time.monotonic() + i * 0.25)
    assert len(dash.samples) == 50


def test_counters_badges_and_curves_follow_stats(qtbot) -> None:
    dash = Dashboard(history=100)
    qtbot.addWidget(dash)
    dash.show()
    qtbot.waitExposed(dash)
    t0 = time.monotonic()
    dash.set_tracker_running(True)
    dash.set_producer_stats(ProducerStats(generated=120, acknowledged=118, rate=40.0))
    for i in range(1, 9):
        dash.set_tracker_stats(
            TrackerStats(
                received=100 * i,
                valid=90 * i,
                dead_lettered={"VALIDATION_ERROR": 10 * i},
                rate=50.0,
                dead_letter_rate=5.0,
                lag=7,
                last_error="bad total",
                last_error_at=time.time(),
            )
        )
        dash.tick(now=t0 + i * 0.25)
    assert dash.counters["acknowledged"].text() == "118"
    assert dash.counters["received"].text() == "800"
    assert dash.counters["dlq:VALIDATION_ERROR"].text() == "80"
    assert dash.counters["lag"].text() == "7"
    last = dash.samples.last()
    assert last[CONSUMED] == 50.0
    assert abs(last[SUCCESS] - 90.0) < 1e-9
    assert dash.badges["success"].health is Health.GOOD
    assert dash.badges["throughput"].health is Health.NORMAL
    assert dash.badges["errors"].health is Health.CRITICAL
    _x, y = dash.curves["consumed"].getData()
    assert len(y) == 8 and y[-1] == 50.0


def test_hidden_dashboard_records_but_does_not_paint(qtbot) -> None:
    dash = Dashboard(history=10)
    qtbot.addWidget(dash)
    dash.tick()
    assert len(dash.samples) == 1
    assert dash.refreshes == 0


def test_a_new_tracker_run_does_not_make_rates_negative(qtbot) -> None:
    dash = Dashboard(history=100)
    qtbot.addWidget(dash)
    t0 = time.monotonic()
    dash.set_tracker_stats(TrackerStats(received=100, valid=100))
    dash.tick(now=t0)
    dash.set_tracker_stats(TrackerStats(received=3, valid=2, dead_lettered={"X": 1}))
    dash.tick(now=t0 + 0.25)
    success = dash.samples.last()[SUCCESS]
    assert 0 <= success <= 100


def test_success_axis_labels_0_and_100(qtbot) -> None:
    from PySide6.QtGui import QImage, QPainter

    dash = Dashboard(history=10)
    qtbot.addWidget(dash)
    dash.resize(900, 420)
    dash.show()
    qtbot.waitExposed(dash)
    low, high = dash.success_plot.getViewBox().viewRange()[1]
    # A little room around 0..100, not a range that squashes the curve.
    assert -20 < low < 0 and 100 < high < 120
    image = QImage(10, 10, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    try:
        _, _, texts = dash.success_plot.getAxis("left").generateDrawSpecs(painter)
    finally:
        painter.end()
    labels = {text for _, _, text in texts}
    assert {"0", "100"} <= labels
