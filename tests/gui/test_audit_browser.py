"""The audit trail browser: model checks, filters, follow, rotation, malformed lines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QDateTime, QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from orderdesk.audit.index import MALFORMED
from orderdesk.gui.audit import scan as audit_scan
from orderdesk.gui.audit.browser import AuditBrowser
from orderdesk.gui.audit.model import COL_EVENT, COL_ORDER, AuditModel, RowRole
from tests.unit.test_audit_index import T0, append_raw, write_audit

WAIT_MS = 10_000


@pytest.fixture
def trail(tmp_path: Path) -> tuple[Path, list[str]]:
    path = tmp_path / "tracker.events"
    return path, write_audit(path, 300)


@pytest.fixture
def browser(qtbot: QtBot, trail: tuple[Path, list[str]]) -> AuditBrowser:
    path, _ = trail
    widget = AuditBrowser(path)
    widget.follow_timer.setInterval(20)
    qtbot.addWidget(widget)
    widget.resize(1000, 650)
    widget.show()
    total = len(path.read_bytes().splitlines())
    qtbot.waitUntil(lambda: widget.model.rowCount() == total and not widget.is_indexing(),
                    timeout=WAIT_MS)  # fmt: skip
    return widget


def column(model: AuditModel, col: int) -> list[str]:
    return [model.index(r, col).data() for r in range(model.rowCount())]


def test_the_model_passes_the_model_tester(
    qtmodeltester: ModelTester, browser: AuditBrowser
) -> None:
    qtmodeltester.check(browser.model)
    browser.event_combo.setCurrentIndex(browser.event_combo.findText("order.retried"))
    browser.apply_filter()
    browser.model.wait_idle()
    assert 0 < browser.model.rowCount() < 300
    qtmodeltester.check(browser.model)


def test_the_filter_finds_one_order_among_many(
    qtbot: QtBot, browser: AuditBrowser, trail: tuple[Path, list[str]]
) -> None:
    _, ids = trail
    failed = ids[101]  # order 101: rejected, then dead-lettered
    browser.order_edit.setText(failed)
    qtbot.waitUntil(lambda: browser.model.rowCount() == 2, timeout=WAIT_MS)
    assert column(browser.model, COL_ORDER) == [failed, failed]
    assert column(browser.model, COL_EVENT) == ["order.rejected", "order.dead_lettered"]
    # The detail pane shows the selected row's order, pretty-printed, and its raw message.
    browser.view.selectRow(1)
    assert f'"order_id": "{failed}"' in browser.order_text.toPlainText()
    assert failed in browser.raw_text.toPlainText()
    assert "dead_lettered" in browser.summary.text()
    # Clearing the filter shows every line again and keeps the selected line in view.
    browser.clear_filters()
    qtbot.waitUntil(lambda: browser.model.rowCount() > 300, timeout=WAIT_MS)
    current = browser.view.currentIndex()
    assert current.isValid() and current.data(RowRole).order_id == failed


def test_text_and_event_type_filters_combine(qtbot: QtBot, browser: AuditBrowser) -> None:
    browser.text_edit.setText("transient")
    qtbot.waitUntil(lambda: not browser.model.is_filtering() and browser.model.rowCount() < 300,
                    timeout=WAIT_MS)  # fmt: skip
    retried = browser.model.rowCount()
    assert retried > 0
    assert set(column(browser.model, COL_EVENT)) == {"order.retried"}
    browser.event_combo.setCurrentIndex(browser.event_combo.findText("order.validated"))
    qtbot.waitUntil(lambda: browser.model.rowCount() == 0, timeout=WAIT_MS)
    assert "0 shown" in browser.count_label.text()


def test_follow_picks_up_appended_lines(
    qtbot: QtBot, browser: AuditBrowser, trail: tuple[Path, list[str]]
) -> None:
    path, _ = trail
    before = browser.model.rowCount()
    new_ids = write_audit(path, 3, seed=42, start=1000)
    qtbot.waitUntil(lambda: browser.model.rowCount() == before + 4, timeout=WAIT_MS)
    assert column(browser.model, COL_ORDER)[-1] == new_ids[-1]
    # With a filter set, new lines that pass it are appended too.
    browser.order_edit.setText(new_ids[0])
    browser.apply_filter()
    qtbot.waitUntil(lambda: browser.model.rowCount() == 1, timeout=WAIT_MS)
    write_audit(path, 1, seed=42, start=2000)  # the same seed repeats the first order id
    qtbot.waitUntil(lambda: browser.model.rowCount() == 2, timeout=WAIT_MS)


def test_a_half_written_line_waits_for_its_end(
    qtbot: QtBot, browser: AuditBrowser, trail: tuple[Path, list[str]]
) -> None:
    path, _ = trail
    before = browser.model.rowCount()
    line = path.read_bytes().splitlines(keepends=True)[0]
    append_raw(path, line[:40])
    qtbot.waitUntil(lambda: browser.index.indexed_size < path.stat().st_size)
    browser.poll_file()
    assert browser.model.rowCount() == before
    append_raw(path, line[40:])
    qtbot.waitUntil(lambda: browser.model.rowCount() == before + 1, timeout=WAIT_MS)


def test_rotation_is_followed(
    qtbot: QtBot, browser: AuditBrowser, trail: tuple[Path, list[str]]
) -> None:
    path, _ = trail
    browser.view.selectRow(5)
    os.replace(path, path.with_name("tracker.events.1"))
    qtbot.waitUntil(lambda: "waiting for the file" in browser.count_label.text(),
                    timeout=WAIT_MS)  # fmt: skip
    new_ids = write_audit(path, 2, seed=77)  # three lines: the 2nd order is retried once
    qtbot.waitUntil(lambda: browser.model.rowCount() == 3, timeout=WAIT_MS)
    assert column(browser.model, COL_ORDER) == [new_ids[0], new_ids[1], new_ids[1]]
    assert browser.order_text.toPlainText() == ""  # the old selection went with its file


def test_truncation_is_followed(
    qtbot: QtBot, browser: AuditBrowser, trail: tuple[Path, list[str]]
) -> None:
    path, _ = trail
    with open(path, "r+b") as f:
        f.truncate(0)
    qtbot.waitUntil(lambda: browser.model.rowCount() == 0, timeout=WAIT_MS)
    new_ids = write_audit(path, 1, seed=78)
    qtbot.waitUntil(lambda: browser.model.rowCount() == 1, timeout=WAIT_MS)
    assert column(browser.model, COL_ORDER) == new_ids


def test_a_malformed_line_shows_as_such(
    qtbot: QtBot, browser: AuditBrowser, trail: tuple[Path, list[str]]
) -> None:
    path, _ = trail
    before = browser.model.rowCount()
    append_raw(path, b'{"timestamp": "2026-11-25T09:00:00Z", "event_ty\n')
    write_audit(path, 1, seed=43, start=500)
    qtbot.waitUntil(lambda: browser.model.rowCount() == before + 2, timeout=WAIT_MS)
    bad = browser.model.index(before, COL_EVENT)
    assert bad.data() == MALFORMED
    assert bad.data(Qt.ItemDataRole.ForegroundRole) is not None
    browser.view.selectRow(before)
    assert "malformed" in browser.summary.text()
    assert browser.raw_text.toPlainText().startswith('{"timestamp": "2026-11-25T09:00:00Z"')
    assert browser.model.index(before + 1, COL_EVENT).data() == "order.validated"
    browser.event_combo.setCurrentIndex(browser.event_combo.findText("Malformed lines"))
    qtbot.waitUntil(lambda: browser.model.rowCount() == 1, timeout=WAIT_MS)


def test_a_file_that_does_not_exist_yet_is_waited_for(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "later" / "tracker.events"
    widget = AuditBrowser(path)
    widget.follow_timer.setInterval(20)
    qtbot.addWidget(widget)
    assert widget.model.rowCount() == 0
    assert "waiting" in widget.count_label.text()
    path.parent.mkdir()
    ids = write_audit(path, 2, seed=3)
    qtbot.waitUntil(lambda: widget.model.rowCount() == 3, timeout=WAIT_MS)
    assert column(widget.model, COL_ORDER)[0] == ids[0]


def test_open_file_switches_files_and_shutdown_stops_everything(
    qtbot: QtBot, browser: AuditBrowser, tmp_path: Path
) -> None:
    other = tmp_path / "other.events"
    ids = write_audit(other, 4, seed=11)
    browser.set_follow(False)
    with qtbot.waitSignal(browser.file_opened):
        browser.open_file(other)
    qtbot.waitUntil(lambda: browser.model.rowCount() == 6 and not browser.is_indexing(),
                    timeout=WAIT_MS)  # fmt: skip
    assert column(browser.model, COL_ORDER)[-1] == ids[-1]
    assert not browser.follow_timer.isActive()
    browser.open_file(tmp_path / "tracker.events")  # a big scan starts, then is cut short
    browser.shutdown()
    assert not browser.is_indexing()
    assert not browser.follow_timer.isActive()


def test_a_filter_set_while_indexing_sees_every_block(
    qtbot: QtBot, trail: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, ids = trail
    # Blocks of a few lines: the index grows under a running filter many times over.
    monkeypatch.setattr(audit_scan.ScanWorker, "first_block_bytes", 3000)
    monkeypatch.setattr(audit_scan.ScanWorker, "block_bytes", 7000)
    widget = AuditBrowser()
    qtbot.addWidget(widget)
    widget.text_edit.setText("PROCESSING_ERROR")
    widget.apply_filter()
    widget.open_file(path)
    expected = sum(b"PROCESSING_ERROR" in line for line in path.read_bytes().splitlines())
    qtbot.waitUntil(
        lambda: not widget.is_indexing() and not widget.model.is_filtering(), timeout=WAIT_MS
    )
    assert widget.index.line_count == len(path.read_bytes().splitlines())
    assert widget.model.rowCount() == expected > 0
    lines = [widget.model.line_of(r) for r in range(widget.model.rowCount())]
    assert lines == sorted(set(lines))
    failed = {widget.model.index(r, COL_ORDER).data() for r in range(widget.model.rowCount())}
    assert ids[3] in failed and ids[0] not in failed


def test_time_range_filter(qtbot: QtBot, browser: AuditBrowser) -> None:
    # Line i was written at T0 + i seconds (UTC); the edits read as UTC.
    def at(seconds: int) -> QDateTime:
        return QDateTime.fromString(f"2026-11-25 08:00:{seconds:02d}", "yyyy-MM-dd HH:mm:ss")

    assert T0.hour == 8 and T0.minute == 0
    browser.since_box.setChecked(True)
    browser.since_edit.setDateTime(at(10))
    browser.until_box.setChecked(True)
    browser.until_edit.setDateTime(at(20))
    qtbot.waitUntil(lambda: browser.model.rowCount() == 11, timeout=WAIT_MS)
    assert [browser.model.line_of(r) for r in range(11)] == list(range(10, 21))


def test_a_dropped_file_is_opened(qtbot: QtBot, browser: AuditBrowser, tmp_path: Path) -> None:
    other = tmp_path / "dropped.events"
    ids = write_audit(other, 1, seed=12)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(other))])
    drop = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(browser.file_opened):
        browser.dropEvent(drop)
    qtbot.waitUntil(lambda: browser.model.rowCount() == 1, timeout=WAIT_MS)
    assert browser.path == other
    assert column(browser.model, COL_ORDER) == ids


def _at_end(browser: AuditBrowser) -> bool:
    bar = browser.view.verticalScrollBar()
    return bar.maximum() > 0 and bar.value() == bar.maximum()


def test_follow_keeps_the_newest_line_in_view_until_the_user_scrolls_up(
    qtbot: QtBot, browser: AuditBrowser, trail: tuple[Path, list[str]]
) -> None:
    path, _ = trail
    assert browser.follow_box.isChecked()
    qtbot.waitUntil(lambda: _at_end(browser), timeout=WAIT_MS)
    new_ids = write_audit(path, 3, seed=91, start=1000)
    total = len(path.read_bytes().splitlines())
    bottom = browser.view.viewport().height() - 2

    def newest_on_screen() -> bool:  # the view lays out lazily: wait for what is painted
        return browser.view.rowAt(bottom) in (total - 1, -1) and _at_end(browser)

    qtbot.waitUntil(lambda: browser.model.rowCount() == total and newest_on_screen(),
                    timeout=WAIT_MS)  # fmt: skip
    assert column(browser.model, COL_ORDER)[-1] == new_ids[-1]
    # Scrolled up: new lines arrive, the view stays where the user put it.
    browser.view.verticalScrollBar().setValue(0)
    grown = browser.model.rowCount()
    write_audit(path, 2, seed=92, start=2000)
    qtbot.waitUntil(lambda: browser.model.rowCount() > grown, timeout=WAIT_MS)
    assert browser.view.verticalScrollBar().value() == 0
    # Back at the end: following again.
    bar = browser.view.verticalScrollBar()
    bar.setValue(bar.maximum())
    grown = browser.model.rowCount()
    write_audit(path, 2, seed=93, start=3000)
    qtbot.waitUntil(lambda: browser.model.rowCount() > grown and _at_end(browser),
                    timeout=WAIT_MS)  # fmt: skip


def test_opening_another_file_clears_the_filter(
    qtbot: QtBot, browser: AuditBrowser, tmp_path: Path
) -> None:
    browser.order_edit.setText("no-such-order")
    browser.apply_filter()
    qtbot.waitUntil(lambda: browser.model.rowCount() == 0, timeout=WAIT_MS)
    other = tmp_path / "other.events"
    write_audit(other, 4, seed=21)
    browser.open_file(other)
    assert browser.order_edit.text() == ""
    assert browser.model.audit_filter.is_empty()
    qtbot.waitUntil(lambda: browser.model.rowCount() == 6 and not browser.is_indexing(),
                    timeout=WAIT_MS)  # fmt: skip


def test_a_binary_file_is_not_an_audit_trail(
    qtbot: QtBot, browser: AuditBrowser, tmp_path: Path
) -> None:
    binary = tmp_path / "picture.png"
    binary.write_bytes(bytes(range(256)) * 400)  # 400 "lines", none of them JSON
    browser.open_file(binary)
    qtbot.waitUntil(lambda: "not an audit trail" in browser.count_label.text(), timeout=WAIT_MS)
    assert browser.model.rowCount() == 0
    assert "is not an audit trail" in browser.summary.text()
    assert not browser.is_indexing() and not browser.follow_timer.isActive()
    # A real one afterwards opens as usual.
    good = tmp_path / "good.events"
    write_audit(good, 2, seed=5)
    browser.open_file(good)
    qtbot.waitUntil(lambda: browser.model.rowCount() == 3, timeout=WAIT_MS)
    assert "not an audit trail" not in browser.count_label.text()


def test_the_browser_says_from_when_history_is_kept(qtbot, tmp_path):
    from orderdesk.audit.writer import AuditWriter
    from orderdesk.domain import AuditEvent
    from orderdesk.gui.audit.browser import AuditBrowser

    path = tmp_path / "tracker.events"
    writer = AuditWriter(path, 1_000_000, 1)
    writer.write(AuditEvent.ORDER_REJECTED, "orders", 0, 1, b"x", "VALIDATION_ERROR: bad")
    writer.close()
    browser = AuditBrowser(path)
    qtbot.addWidget(browser)
    qtbot.waitUntil(lambda: "history since" in browser.count_label.text(), timeout=10_000)
    assert "Audit history kept since" in browser.path_label.toolTip()
