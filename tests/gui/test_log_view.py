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
