"""The dead-letter inbox, driven as a person would: filter, inspect, fix, republish."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from PySide6.QtCore import Qt

from orderdesk.config import Settings, load_settings
from orderdesk.deadletters.entries import entry_from_record
from orderdesk.deadletters.republish import ReplaySummary
from orderdesk.domain import FailureReason
from orderdesk.domain import headers as hdr
from orderdesk.gui.deadletters.editor import PayloadEditor
from orderdesk.gui.deadletters.inbox import TAB_EDIT, DeadLetterInbox
from orderdesk.gui.deadletters.model import COL_REPLAYED, DeadLetterTableModel
from tests.unit.dlq_records import broken_order, order_payload, orderdesk_record, spring_headers

TIMEOUT_MS = 60_000


def _settings(tmp_path: Path, bootstrap: str = "127.0.0.1:1", **topics: str) -> Settings:
    overrides = {"kafka.bootstrap_servers": bootstrap, "log_dir": str(tmp_path / "logs")}
    overrides.update({f"topics.{k}": v for k, v in topics.items()})
    return load_settings(overrides=overrides, environ={})


def _entries(count_by_reason: dict[FailureReason, int], dlq: str = "orders-dlq"):
    out = []
    offset = 0
    for reason, count in count_by_reason.items():
        for _ in range(count):
            key, value, headers, _msg = orderdesk_record(
                broken_order(),
                reason=reason,
                error=f"{reason.value.lower()} happened",
                original_offset=100 + offset,
            )
            out.append(entry_from_record(dlq, 0, offset, key, value, headers, 1_700_000_000_000))
            offset += 1
    return out


@pytest.fixture
def make_inbox(qtbot) -> Iterator[Callable[..., DeadLetterInbox]]:
    made: list[DeadLetterInbox] = []

    def make(settings: Settings, autostart: bool = True) -> DeadLetterInbox:
        inbox = DeadLetterInbox(settings, autostart=autostart)
        qtbot.addWidget(inbox)
        inbox.resize(1200, 760)
        inbox.show()
        made.append(inbox)
        return inbox

    yield make
    for inbox in made:
        inbox.shutdown()
    for inbox in made:
        inbox.wait_stopped()


def test_model_passes_the_model_tester(qtmodeltester) -> None:
    model = DeadLetterTableModel()
    model.add_entries(_entries({FailureReason.VALIDATION_ERROR: 3}))
    qtmodeltester.check(model)


def test_rows_stay_sorted_as_batches_arrive(qtmodeltester) -> None:
    from PySide6.QtCore import Qt

    from orderdesk.gui.deadletters.model import COL_ORIGINAL

    model = DeadLetterTableModel()
    model.sort(COL_ORIGINAL, Qt.SortOrder.AscendingOrder)
    offsets = [7, 3, 9, 1, 5, 8, 2, 6, 4, 0, 13, 11]
    batches = ([], [])
    for i, off in enumerate(offsets):
        key, value, headers, _ = orderdesk_record(broken_order(), original_offset=off)
        batches[i % 2].append(entry_from_record("orders-dlq", 0, i, key, value, headers))
    for batch in batches:
        model.add_entries(batch)
        shown = [model.entry(r).original_offset for r in range(model.rowCount())]
        assert shown == sorted(shown)
    model.sort(COL_ORIGINAL, Qt.SortOrder.DescendingOrder)
    shown = [model.entry(r).original_offset for r in range(model.rowCount())]
    assert shown == sorted(offsets, reverse=True)
    qtmodeltester.check(model)


def test_filter_by_reason_and_text_with_counts(make_inbox, tmp_path: Path, qtbot) -> None:
    inbox = make_inbox(_settings(tmp_path), autostart=False)
    entries = _entries(
        {
            FailureReason.VALIDATION_ERROR: 4,
            FailureReason.DESERIALIZATION_ERROR: 2,
            FailureReason.TIMEOUT_ERROR: 1,
        }
    )
    inbox.model.add_entries(entries)
    # The same id again replaces its row rather than adding one.
    inbox.model.add_entries(entries[:2])
    assert inbox.proxy.rowCount() == 7
    texts = inbox.reason_counts_shown()
    assert texts[0] == "All reasons  (7)"
    assert "VALIDATION_ERROR  (4)" in texts
    assert "UNKNOWN_ERROR  (0)" in texts

    inbox.set_reason_filter(FailureReason.DESERIALIZATION_ERROR)
    assert inbox.proxy.rowCount() == 2
    inbox.set_reason_filter(None)
    inbox.search.setText("TIMEOUT_error happened")
    qtbot.waitUntil(lambda: inbox.proxy.rowCount() == 1)
    inbox.search.clear()
    qtbot.waitUntil(lambda: inbox.proxy.rowCount() == 7)
    inbox.table.selectAll()
    assert len(inbox.selected_entries()) == 7
    assert inbox.bulk_button.text() == "Republish all (7)…"
    assert "7 shown" not in inbox.status.text()


def test_live_validation_of_an_edited_payload(qtbot) -> None:
    editor = PayloadEditor()
    qtbot.addWidget(editor)
    bad = broken_order()
    editor.set_payload(json.dumps(bad))
    assert any(p.startswith("total: expected 45.10") for p in editor.problems)
    assert "Not a valid order" in editor.status.text()
    # The check is debounced: it runs once typing pauses, not on every keystroke.
    fixed = editor.text().replace('"total": 999.0', '"total": 45.1')
    with qtbot.waitSignal(editor.validated, timeout=5_000) as blocker:
        editor.edit.setPlainText(fixed)
        assert editor.pending
    assert blocker.args == [[]]
    assert "Valid order" in editor.status.text()
    assert json.loads(editor.payload_bytes()) == bad | {"total": 45.1}
    with qtbot.waitSignal(editor.validated, timeout=5_000) as blocker:
        editor.edit.setPlainText('{"order_id": ')
    assert blocker.args[0][0].startswith("not valid JSON")
    # The highlighter colours keys and strings.
    editor.set_payload('{"order_id": "x", "sequence": 1}')
    formats = editor.edit.document().firstBlock().next().layout().formats()
    assert formats


@pytest.mark.kafka
def test_read_filter_fix_and_republish(
    make_inbox,
    kafka_bootstrap: str,
    topic_factory: Callable[..., str],
    tmp_path: Path,
    qtbot,
) -> None:
    orders = topic_factory(1, prefix="gui-orders")
    dlq = topic_factory(1, prefix="gui-dlq")
    validation = [
        orderdesk_record(broken_order(), original_topic=orders, original_offset=i) for i in range(3)
    ]
    others = [
        orderdesk_record(
            order_payload(),
            reason=FailureReason.PROCESSING_ERROR,
            error="warehouse busy",
            original_topic=orders,
            original_offset=3,
        )
    ]
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for key, value, headers, _ in validation + others:
        producer.produce(dlq, key=key, value=value, headers=headers)
    producer.produce(
        dlq,
        key=b"pay-1",
        value=b"{}",
        headers=spring_headers(orders, 0, 5, "org.example.ValidationException", "bad"),
    )
    assert producer.flush(30) == 0

    inbox = make_inbox(_settings(tmp_path, kafka_bootstrap, orders=orders, dlq=dlq))
    qtbot.waitUntil(lambda: inbox.is_caught_up and inbox.model.rowCount() == 5, timeout=TIMEOUT_MS)
    assert "following live" in inbox.status.text()

    # Filter by reason: the three OrderDesk ones and Spring's ValidationException.
    inbox.set_reason_filter(FailureReason.VALIDATION_ERROR)
    assert inbox.proxy.rowCount() == 4
    inbox.search.setText(validation[0][3].id)
    qtbot.waitUntil(lambda: inbox.proxy.rowCount() == 1)

    # Edit the payload, see the live check, republish it.
    inbox.table.selectRow(0)
    assert inbox.current_entry().id == validation[0][3].id
    inbox.tabs.setCurrentIndex(TAB_EDIT)
    assert inbox.editor.problems
    with qtbot.waitSignal(inbox.editor.validated, timeout=5_000) as checked:
        inbox.editor.edit.setPlainText(
            inbox.editor.text().replace('"total": 999.0', '"total": 45.1')
        )
    assert checked.args == [[]]
    asked: list[tuple[int, list[str], int, int]] = []

    def confirm(count: int, targets: list[str], already: int, problems: int):
        asked.append((count, targets, already, problems))
        return True, False

    inbox.confirm_republish = confirm
    with qtbot.waitSignal(inbox.republish_finished, timeout=TIMEOUT_MS) as done:
        assert inbox.republish_current()
    summary: ReplaySummary = done.args[0]
    assert summary.ok, summary.text()
    assert asked == [(1, [orders], 0, 0)]
    qtbot.waitUntil(lambda: not inbox.republishing, timeout=TIMEOUT_MS)
    assert inbox.tabs.tabText(3) == "Replays (1)"

    # Bulk: every validation error, as it is; the one fixed above is refused (no 'again').
    inbox.search.clear()
    qtbot.waitUntil(lambda: inbox.proxy.rowCount() == 4)
    inbox.table.selectAll()
    assert len(inbox.selected_entries()) == 4
    planned: list[tuple[int, int, int]] = []

    def confirm_bulk(plans, targets):
        plan = plans[0]
        planned.append((len(plan.valid), len(plan.invalid), len(plan.refused)))
        assert targets == [orders]
        return plan.requests(include_invalid=True), False  # "also the invalid ones"

    inbox.confirm_bulk = confirm_bulk
    with qtbot.waitSignal(inbox.republish_finished, timeout=TIMEOUT_MS) as done:
        assert inbox.republish_selected()
    summary = done.args[0]
    # None is a valid order yet (three broken totals and Spring's "{}"); one was replayed.
    assert planned == [(0, 3, 1)]
    assert (summary.acknowledged, summary.refused, summary.failed) == (3, 1, 0)
    assert "3 of 4 republished" in inbox.summary.text()
    qtbot.waitUntil(lambda: not inbox.republishing, timeout=TIMEOUT_MS)
    replayed_col = [
        inbox.proxy.index(r, COL_REPLAYED).data() for r in range(inbox.proxy.rowCount())
    ]
    assert replayed_col == ["yes"] * 4

    # What reached the orders topic: the fixed payload, under the original key.
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": f"check-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
        }
    )
    try:
        consumer.subscribe([orders])
        got = []
        deadline = time.monotonic() + 60
        while len(got) < 4 and time.monotonic() < deadline:
            got += [m for m in consumer.consume(10, timeout=0.5) if m.error() is None]
    finally:
        consumer.close()
    first = got[0]
    assert first.key() == validation[0][0]
    assert json.loads(first.value())["total"] == 45.1
    assert dict(first.headers())[hdr.REPLAY_DLQ_ID] == validation[0][3].id.encode()

    # A new dead letter shows up live.
    extra = orderdesk_record(broken_order(), original_topic=orders, original_offset=4)
    producer.produce(dlq, key=extra[0], value=extra[1], headers=extra[2])
    assert producer.flush(30) == 0
    qtbot.waitUntil(lambda: inbox.model.rowCount() == 6, timeout=TIMEOUT_MS)
    assert inbox.reason_counts_shown()[0] == "All reasons  (6)"


def test_unreachable_broker_is_reported_and_shutdown_is_prompt(make_inbox, tmp_path, qtbot) -> None:
    settings = load_settings(
        overrides={
            "kafka.bootstrap_servers": "127.0.0.1:1",
            "kafka.connect_timeout": 1.0,
            "log_dir": str(tmp_path),
        },
        environ={},
    )
    inbox = make_inbox(settings)
    qtbot.waitUntil(lambda: "Cannot read" in inbox.status.text(), timeout=20_000)
    assert "127.0.0.1:1" in inbox.status.text()
    inbox.reload()
    assert "Reading" in inbox.status.text()
    inbox.shutdown()
    assert "not reading" in inbox.status.text()
    qtbot.waitUntil(lambda: not inbox.busy, timeout=20_000)


class _StuckReader:
    """Stands in for `DeadLetterReader.run`: ignores stop() until the test releases it,
    like a consumer closing against a broker that no longer answers."""

    def __init__(self) -> None:
        import threading

        self.entered = threading.Event()
        self.release = threading.Event()

    def run(self, follow: bool = True, timeout: float | None = None) -> None:
        self.entered.set()
        self.release.wait(30)


@pytest.fixture
def stuck_reader(monkeypatch: pytest.MonkeyPatch) -> Iterator[_StuckReader]:
    stuck = _StuckReader()
    monkeypatch.setattr(
        "orderdesk.deadletters.reader.DeadLetterReader.run", lambda _self, **kw: stuck.run(**kw)
    )
    yield stuck
    stuck.release.set()


def test_shutdown_does_not_wait_for_a_stuck_reader(make_inbox, tmp_path, qtbot, stuck_reader):
    inbox = make_inbox(_settings(tmp_path))
    qtbot.waitUntil(stuck_reader.entered.is_set)
    inbox.reload()  # the first reader is retired, not waited for
    inbox.shutdown()
    assert inbox.busy and "not reading" in inbox.status.text()
    stuck_reader.release.set()
    qtbot.waitUntil(lambda: not inbox.busy, timeout=10_000)


def test_closing_the_window_waits_for_the_inbox_without_blocking(
    qtbot, qsettings, tmp_path, stuck_reader
) -> None:
    from PySide6.QtCore import QTimer

    from orderdesk.gui.main_window import MainWindow

    window = MainWindow(_settings(tmp_path), None, qsettings, probe_interval_ms=60_000)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(stuck_reader.entered.is_set)
    window.close()
    # The close returned with the reader still stuck: the event loop keeps turning.
    assert window.isVisible() and window.closing
    assert window.dlq_inbox.busy
    ticks: list[int] = []
    beat = QTimer()
    beat.timeout.connect(lambda: ticks.append(1))
    beat.start(10)
    qtbot.waitUntil(lambda: len(ticks) >= 5)
    assert window.isVisible()
    stuck_reader.release.set()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    beat.stop()
    assert not window.dlq_inbox.busy


def test_confirmation_names_the_count_and_no_sends_nothing(
    make_inbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    inbox = make_inbox(_settings(tmp_path), autostart=False)
    inbox.model.add_entries(_entries({FailureReason.VALIDATION_ERROR: 3}))
    inbox.table.selectAll()
    shown: list[str] = []

    def answer_no(box: QMessageBox) -> int:
        shown.append(box.text())
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "exec", answer_no)
    assert not inbox.republish_selected()
    assert shown == ["Republish 3 selected dead letters to orders?"]
    assert not inbox.republishing


def test_confirmation_counts_in_words(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtWidgets import QMessageBox, QWidget

    from orderdesk.gui.deadletters.bulk import ask_republish

    parent = QWidget()
    qtbot.addWidget(parent)
    shown: list[tuple[str, str]] = []

    def answer_no(box: QMessageBox) -> int:
        shown.append((box.text(), box.informativeText()))
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "exec", answer_no)
    ask_republish(parent, 1, ["orders"], 1, 1)
    ask_republish(parent, 2, ["orders"], 2, 2)
    (one, one_notes), (two, two_notes) = shown
    assert one == "Republish 1 message to orders?"
    assert "(1 problem)" in one_notes and "1 of them was republished" in one_notes
    assert two == "Republish 2 messages to orders?"
    assert "(2 problems)" in two_notes and "2 of them were republished" in two_notes


def test_a_long_reader_error_does_not_squeeze_the_filter_box(make_inbox, tmp_path, qtbot) -> None:
    inbox = make_inbox(_settings(tmp_path), autostart=False)
    width = inbox.search.width()
    inbox._reader_failed(
        "The Kafka cluster at 127.0.0.1:1 does not answer (connection refused); " * 6
    )
    qtbot.waitUntil(lambda: "Cannot read" in inbox.status.text())
    inbox.layout().activate()  # lay it out now, with the long text
    assert inbox.search.width() >= width * 0.9
    assert inbox.status.wordWrap()


def test_bulk_bar_counts_the_selected_and_the_valid(make_inbox, tmp_path: Path, qtbot) -> None:
    inbox = make_inbox(_settings(tmp_path), autostart=False)
    valid = []
    for offset in range(3):
        key, value, headers, _ = orderdesk_record(order_payload(), original_offset=offset)
        valid.append(entry_from_record("orders-dlq", 0, 100 + offset, key, value, headers))
    inbox.model.add_entries(_entries({FailureReason.VALIDATION_ERROR: 4}) + valid)
    assert "7 shown" in inbox.bar.counts.text()
    inbox.table.selectAll()
    qtbot.waitUntil(lambda: inbox.valid_selected == 3)
    assert "<b>7</b> selected · valid <b>3</b>" in inbox.bar.counts.text()
    assert inbox.bar.valid_button.text() == "Republish valid (3)…"
    assert inbox.bar.valid_button.isEnabled()

    # Discard from view hides the selection; Reload (or Show discarded) brings it back.
    inbox.select_entries({e.id for e in valid})
    qtbot.mouseClick(inbox.bar.discard_button, Qt.MouseButton.LeftButton)
    assert inbox.proxy.rowCount() == 4
    assert inbox.bar.discarded_button.isVisibleTo(inbox)
    assert inbox.bar.discarded_button.text() == "Show discarded (3)"
    qtbot.mouseClick(inbox.bar.discarded_button, Qt.MouseButton.LeftButton)
    assert inbox.proxy.rowCount() == 7


def test_republish_valid_sends_only_the_valid_ones(make_inbox, tmp_path: Path, qtbot) -> None:
    inbox = make_inbox(_settings(tmp_path), autostart=False)
    key, value, headers, _ = orderdesk_record(order_payload())
    good = entry_from_record("orders-dlq", 0, 50, key, value, headers)
    inbox.model.add_entries([*_entries({FailureReason.VALIDATION_ERROR: 2}), good])
    inbox.table.selectAll()
    asked: list[int] = []
    started: list[list[str]] = []
    inbox.confirm_republish = lambda count, *_a: (asked.append(count), (True, False))[1]
    inbox._start = lambda requests, again: (started.append([r.entry.id for r in requests]), True)[1]
    assert inbox.republish_valid()
    assert asked == [1] and started == [[good.id]]


def test_diff_of_the_edited_payload_and_sized_replay_columns(make_inbox, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QHeaderView

    from orderdesk.gui.deadletters.details import TAB_DIFF

    inbox = make_inbox(_settings(tmp_path), autostart=False)
    inbox.model.add_entries(_entries({FailureReason.VALIDATION_ERROR: 1}))
    inbox.table.selectRow(0)
    details = inbox.details
    assert details.tabs.tabText(TAB_DIFF) == "Diff"
    edited = json.loads(inbox.editor.text())
    edited["total"] = 45.1
    inbox.editor.edit.setPlainText(json.dumps(edited, indent=2))
    inbox.editor.validate_now()
    assert details.diff_view.changes == 1
    assert details.tabs.tabText(TAB_DIFF) == "Diff (1 line)"
    html_text = details.diff_view.toPlainText()
    assert "Original" in html_text and "Edited" in html_text and "45.1" in html_text
    header = details.replays_view.horizontalHeader()
    assert header.sectionResizeMode(1) is QHeaderView.ResizeMode.ResizeToContents
    assert header.sectionResizeMode(4) is QHeaderView.ResizeMode.ResizeToContents
    assert header.sectionResizeMode(2) is QHeaderView.ResizeMode.Stretch


def test_an_old_republish_outcome_goes_with_another_entry(make_inbox, tmp_path: Path) -> None:
    inbox = make_inbox(_settings(tmp_path), autostart=False)
    inbox.model.add_entries(_entries({FailureReason.VALIDATION_ERROR: 2}))
    inbox.table.selectRow(0)
    inbox.bar.show_summary(ReplaySummary())
    assert inbox.summary.text()
    inbox.table.selectRow(1)
    assert inbox.summary.text() == ""


def test_the_list_takes_at_least_half_the_height(make_inbox, tmp_path: Path, qtbot) -> None:
    inbox = make_inbox(_settings(tmp_path), autostart=False)
    qtbot.waitExposed(inbox)
    table, details = inbox.splitter.sizes()
    assert table >= details


def test_letters_a_crash_sent_twice_show_once_with_their_copies(qtbot) -> None:
    model = DeadLetterTableModel()
    records = [orderdesk_record(broken_order(), original_offset=off) for off in (5, 5, 6)]
    entries = [
        entry_from_record("orders-dlq", 0, i, key, value, headers)
        for i, (key, value, headers, _) in enumerate(records)
    ]
    model.add_entries(entries)
    assert sorted(model.entry(r).original_offset for r in range(model.rowCount())) == [5, 6]
    shown = next(
        model.entry(r) for r in range(model.rowCount()) if model.entry(r).original_offset == 5
    )
    assert [c.id for c in model.copies(shown)] == [entries[0].id, entries[1].id]
