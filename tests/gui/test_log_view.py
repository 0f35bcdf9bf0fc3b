"""The live log: a bounded model that passes Qt's model tester, filtered by level and text."""

from __future__ import annotations

from orderdesk.domain import LogEntry, LogLevel
from orderdesk.gui.log.view import LogModel, LogView


def entry(i: int, level: LogLevel = LogLevel.INFO) -> LogEntry:
    return LogEntry(level=level, message=f"line {i}", service="tracker")


def test_model_is_bounded_and_keeps_the_newest(qtmodeltester) -> None:
    model = LogModel(capacity=10)
    model.append(entry(i) for i in range(4))
    qtmodeltester.check(model)
    model.append(entry(i) for i in range(4, 25))
    qtmodeltester.check(model)
    assert model.rowCount() == 10
    assert model.entry(0).message == "line 15"
    assert model.entry(9).message == "line 24"


def test_view_filters_by_level_and_text(qtbot) -> None:
    view = LogView(capacity=100)
    qtbot.addWidget(view)
    view.append(
        [
            entry(1, LogLevel.DEBUG),
            entry(2, LogLevel.INFO),
            entry(3, LogLevel.WARNING),
            entry(4, LogLevel.ERROR),
        ]
    )
    assert view.proxy.rowCount() == 3  # INFO and above by default
    view.level_box.setCurrentText("WARNING")
    assert view.proxy.rowCount() == 2
    view.search.setText("line 4")
    assert view.proxy.rowCount() == 1
    assert view.proxy.index(0, 1).data() == "ERROR"
    view.level_box.setCurrentText("DEBUG")
    view.search.clear()
    assert view.proxy.rowCount() == 4


def test_view_reports_dropped_lines(qtbot) -> None:
    view = LogView(capacity=5)
    qtbot.addWidget(view)
    view.append([entry(i) for i in range(8)], dropped=12)
    assert view.model.rowCount() == 5
    assert "12 dropped" in view.count_label.text()


def test_rows_stay_in_time_order_when_a_batch_arrives_late(qtmodeltester) -> None:
    from datetime import UTC, datetime, timedelta

    base = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)

    def at(ms: int, text: str) -> LogEntry:
        return LogEntry(
            timestamp=base + timedelta(milliseconds=ms), level=LogLevel.INFO,
            message=text, service="gui",
        )  # fmt: skip

    model = LogModel(capacity=100)
    model.append([at(10, "gui: tracker stopped"), at(30, "later")])
    # The tracker's own line was drained after the GUI's, a millisecond earlier.
    model.append([at(20, "b"), at(9, "tracker: tracker stopped"), at(40, "last")])
    qtmodeltester.check(model)
    texts = [model.entry(r).message for r in range(model.rowCount())]
    assert texts == ["tracker: tracker stopped", "gui: tracker stopped", "b", "later", "last"]


def test_metrics_rows_show_their_values() -> None:
    from orderdesk.gui.log.view import format_message

    row = LogEntry(
        level=LogLevel.INFO, message="metrics", service="tracker",
        metadata={"received": 12345, "rate": 98.123, "lag": 0},
    )  # fmt: skip
    assert format_message(row) == "metrics · received=12,345  rate=98.12  lag=0"
    assert "received: 12345" in format_message(row, with_metadata=True)
