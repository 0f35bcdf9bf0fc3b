"""Dashboard: cards follow the stats, the window grows, legend entries toggle curves."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt

from orderdesk.domain.health import Tone
from orderdesk.gui.dashboard.dashboard import Dashboard
from orderdesk.gui.dashboard.series import CONSUMED, SUCCESS
from orderdesk.producer.stats import ProducerStats
from orderdesk.tracker.stats import TrackerStats


def shown(qtbot, history: int = 400) -> Dashboard:
    dash = Dashboard(history=history)
    qtbot.addWidget(dash)
    dash.resize(1200, 700)
    dash.show()
    qtbot.waitExposed(dash)
    return dash


def run(dash: Dashboard, t0: float, ticks: int, start: int = 1) -> None:
    """Both services flat at 50 orders/s, 10 % dead-lettered, lag 7."""
    for i in range(start, start + ticks):
        dash.set_producer_stats(
            ProducerStats(generated=14 * i, acknowledged=13 * i, failed=1, unknown=2, rate=52.0)
        )
        dash.set_tracker_stats(
            TrackerStats(
                received=12 * i,
                valid=9 * i,
                dead_lettered={"VALIDATION_ERROR": 1 * i},
                rate=50.0,
                dead_letter_rate=5.0,
                lag=7,
                last_error="bad total",
                last_error_at=time.time(),
            )
        )
        dash.tick(now=t0 + i * 0.25)


def test_history_memory_is_fixed(qtbot) -> None:
    dash = Dashboard(history=50)
    qtbot.addWidget(dash)
    for i in range(500):
        dash.tick(now=time.monotonic() + i * 0.25)
    assert len(dash.samples) == 50


def test_nothing_is_drawn_before_a_service_runs(qtbot) -> None:
    dash = shown(qtbot)
    t0 = time.monotonic()
    for i in range(8):
        dash.tick(now=t0 + i * 0.25)
    for curve in dash.curves.values():
        x, _y = curve.getData()
        assert x is None or len(x) == 0
    assert {card.value.text() for card in dash.cards.values()} == {"—"}
    assert all(card.tone is Tone.IDLE for card in dash.cards.values())


def test_cards_follow_the_stats(qtbot) -> None:
    dash = shown(qtbot)
    dash.set_producer_running(True)
    dash.set_tracker_running(True)
    run(dash, time.monotonic(), 120)  # 30 s: enough orders for a success verdict
    cards = dash.cards
    assert cards["in"].value.text() == "52.0"
    assert cards["out"].value.text() == "50.0"
    assert cards["success"].value.text() == "90.0"
    assert cards["success"].tone is Tone.WARN  # 90 % is "good", not "excellent"
    assert cards["lag"].value.text() == "7" and cards["lag"].tone is Tone.GOOD
    assert "steady" in cards["lag"].caption.text()
    assert cards["dead"].value.text() == "120"
    assert cards["out"].spark.values()[-1] == 50.0
    # The counters are one click away, and already up to date.
    assert not dash.details.isVisible()
    qtbot.mouseClick(dash.details_button, Qt.MouseButton.LeftButton)
    assert dash.details.isVisible()
    assert dash.counters["acknowledged"].text() == "1,560"
    assert dash.counters["unknown"].text() == "2"
    assert "2 unknown" in cards["in"].caption.text()
    assert dash.counters["received"].text() == "1,440"
    assert dash.counters["dlq:VALIDATION_ERROR"].text() == "120"
    assert dash.counters["lag"].text() == "7"
    assert dash.last_error.text() == "Last error: bad total"
    last = dash.samples.last()
    assert last[CONSUMED] == 50.0 and abs(last[SUCCESS] - 90.0) < 1e-9
    _x, y = dash.curves["consumed"].getData()
    assert y[-1] == 50.0


def test_rates_drop_after_stopping(qtbot) -> None:
    dash = shown(qtbot)
    dash.set_producer_running(True)
    dash.set_tracker_running(True)
    t0 = time.monotonic()
    run(dash, t0, 8)
    dash.set_producer_running(False)
    dash.set_tracker_running(False)
    dash.tick(now=t0 + 9 * 0.25)  # the last snapshots still say 52 and 50 /s
    assert dash.cards["in"].value.text() == "—"
    assert dash.cards["out"].value.text() == "—"
    assert dash.cards["out"].tone is Tone.IDLE
    assert "stopped" in dash.cards["out"].caption.text()
    _x, y = dash.curves["produced"].getData()
    assert y[-1] == 0.0


def test_the_window_grows_to_the_chosen_span(qtbot) -> None:
    dash = shown(qtbot, history=4000)
    dash.set_tracker_running(True)
    t0 = time.monotonic() - 141.0  # the last tick is now: a click refreshes at once
    run(dash, t0, 4)  # 1 s
    x_range = lambda: list(dash.lag_plot.x_range)  # noqa: E731
    assert x_range() == [-15.0, 0.0]
    run(dash, t0, 160, start=5)  # 41 s
    assert x_range() == [-60.0, 0.0]
    run(dash, t0, 400, start=165)  # 141 s: the 1 min span holds
    assert x_range() == [-60.0, 0.0]
    dash.span_buttons.button(300).click()
    assert dash.span == 300.0 and x_range() == [-300.0, 0.0]
    x, _y = dash.curves["lag"].getData()
    assert x[0] >= -300.25 and x[-1] <= 0.0


def test_legend_entries_toggle_curves(qtbot) -> None:
    dash = shown(qtbot)
    dash.set_producer_running(True)
    dash.set_tracker_running(True)
    run(dash, time.monotonic(), 8)
    plot = dash.throughput_plot
    entry = plot.legend["produced"]
    assert entry.isChecked() and plot.curves["produced"].isVisible()
    qtbot.mouseClick(entry, Qt.MouseButton.LeftButton)
    assert not entry.isChecked() and not plot.curves["produced"].isVisible()
    assert entry.font().strikeOut()
    qtbot.mouseClick(entry, Qt.MouseButton.LeftButton)
    assert plot.curves["produced"].isVisible()


def test_hover_reads_the_values_under_the_cursor(qtbot) -> None:
    dash = shown(qtbot)
    dash.set_producer_running(True)
    dash.set_tracker_running(True)
    now = time.monotonic()
    run(dash, now - 10.0, 40)
    dash.refresh(now)
    dash.plot_group.show_cursor(-1.0)
    text = dash.throughput_plot.readout.text()
    assert text.startswith("−1 s") and "consumed 50/s" in text
    assert "lag 7" in dash.lag_plot.readout.text()
    assert dash.lag_plot.crosshair_shown
    dash.plot_group.show_cursor(None)
    assert dash.throughput_plot.readout.text() == ""


def test_hidden_dashboard_records_but_does_not_paint(qtbot) -> None:
    dash = Dashboard(history=10)
    qtbot.addWidget(dash)
    dash.tick()
    assert len(dash.samples) == 1
    assert dash.refreshes == 0


def test_axes_label_0_and_the_top(qtbot) -> None:
    dash = shown(qtbot)
    success, _ = dash.success_plot.ticks()
    lag, time_axis = dash.lag_plot.ticks()
    assert {"0", "100"} <= {text for _, text in success}
    assert {"0", "5"} <= {text for _, text in lag}
    assert {"now", "−15 s"} <= {text for _, text in time_axis}


def test_a_frame_is_few_python_calls(qtbot) -> None:
    """The stall target under load comes down to this: every Python call of a repaint
    waits for the GIL while the services run (bench/gui_stall.py measures the stall)."""
    import cProfile
    import pstats

    dash = shown(qtbot)
    dash.set_producer_running(True)
    dash.set_tracker_running(True)
    t0 = time.monotonic() - 100.0
    run(dash, t0, 300)
    dash.repaint()
    profile = cProfile.Profile()
    profile.enable()
    run(dash, t0, 4, start=301)
    dash.repaint()
    profile.disable()
    calls = pstats.Stats(profile).total_calls / 4  # type: ignore[attr-defined]
    assert calls < 1200, f"{calls:.0f} Python calls per tick and frame"


def test_dark_follows_the_colour_scheme_live(qtbot, monkeypatch) -> None:
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    from orderdesk.gui.widgets import theme

    app = QApplication.instance()
    style, palette = app.style().name(), QPalette(app.palette())
    dash = shown(qtbot)
    try:
        monkeypatch.setenv(theme.ENV, "dark")
        follower = theme.follow_system_scheme(app)
        assert theme.current().dark
        assert dash.throughput_plot.theme.dark
        assert dash.cards["in"]._styled_for == (Tone.IDLE, True)
        monkeypatch.setenv(theme.ENV, "light")
        follower.apply()
        assert not dash.throughput_plot.theme.dark
        assert dash.cards["in"]._styled_for == (Tone.IDLE, False)
    finally:
        app.setStyle(style)
        app.setPalette(palette)
        follower.deleteLater()
