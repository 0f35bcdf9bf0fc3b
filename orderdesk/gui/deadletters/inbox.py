"""The dead-letter inbox: browse, filter, inspect, fix and republish dead letters.

The reader and the republisher run on their own threads (`dlq_workers`); the inbox drains
the reader's feed on a timer, so a topic of many thousands of dead letters costs the event
loop a few batch inserts, not one signal per message. Replays are recorded in the ledger
(`orderdesk.deadletters.ledger`), which the inbox re-reads when it changes, so 'Replayed' also
shows what another OrderDesk (or `orderdesk dlq republish`) of the same user did.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabBar,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from orderdesk.config import Settings
from orderdesk.deadletters.entries import DeadLetterEntry
from orderdesk.deadletters.ledger import ReplayLedger
from orderdesk.deadletters.republish import ReplayRequest, ReplaySummary
from orderdesk.domain import FailureReason
from orderdesk.domain.text import plural
from orderdesk.gui.deadletters.editor import PayloadEditor, pretty_json
from orderdesk.gui.deadletters.model import (
    COL_ERROR,
    COL_KEY,
    COL_ORIGINAL,
    COL_REASON,
    COL_REPLAYED,
    COL_RETRIES,
    COL_TIME,
    DeadLetterFilterModel,
    DeadLetterTableModel,
    EntryRole,
)
from orderdesk.gui.deadletters.workers import (
    STOP_WAIT_MS,
    DeadLetterFeed,
    DeadLetterReaderThread,
    RepublishThread,
)

#: How often the reader's feed is drained into the table.
DRAIN_INTERVAL_MS = 200
#: Milliseconds of quiet typing before the text filter applies.
SEARCH_DELAY_MS = 150
#: How often the ledger is checked for replays made elsewhere.
LEDGER_INTERVAL_MS = 2_000

TAB_PAYLOAD, TAB_ERROR, TAB_HEADERS, TAB_REPLAYS, TAB_EDIT = range(5)


class DeadLetterInbox(QWidget):
    """Dead letters of `settings.topics.dlq`, read live, with fix and republish.

    Signals:
        republish_finished(object): a republish ended; the argument is its `ReplaySummary`.
        caught_up(): the reader has read everything that was in the topic when it started.
    """

    republish_finished = Signal(object)
    caught_up = Signal()

    def __init__(
        self, settings: Settings, parent: QWidget | None = None, autostart: bool = True
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.ledger = ReplayLedger.for_log_dir(settings.log_dir)
        self._reader: DeadLetterReaderThread | None = None
        #: Count shown on each reason tab, by tab index.
        self._reason_shown: dict[int, int] = {}
        #: Readers asked to stop whose threads have not ended yet (a reload, a shutdown).
        self._retiring: list[DeadLetterReaderThread] = []
        self._feed: DeadLetterFeed | None = None
        self._republisher: RepublishThread | None = None
        self._caught_up = False
        self._reader_error = ""
        self._current: DeadLetterEntry | None = None

        self.model = DeadLetterTableModel(self)
        self.proxy = DeadLetterFilterModel(self)
        self.proxy.setSourceModel(self.model)
        self._build()
        self.model.counts_changed.connect(self._update_reason_counts)
        self.model.rowsInserted.connect(self._update_status)
        self.proxy.rowsInserted.connect(self._update_selection_state)
        self.proxy.rowsRemoved.connect(self._update_selection_state)
        self.proxy.modelReset.connect(self._update_selection_state)

        self._drain_timer = QTimer(self)
        self._drain_timer.setInterval(DRAIN_INTERVAL_MS)
        self._drain_timer.timeout.connect(self.drain)
        self._ledger_timer = QTimer(self)
        self._ledger_timer.setInterval(LEDGER_INTERVAL_MS)
        self._ledger_timer.timeout.connect(self.refresh_replays)
        self._update_reason_counts()
        self.refresh_replays()
        if autostart:
            self.start()

    # -- layout ----------------------------------------------------------------------------

    def _build(self) -> None:
        self.search = QLineEdit(self)
        self.search.setObjectName("dlqSearch")
        self.search.setPlaceholderText("Filter by error, key, id or payload text…")
        self.search.setClearButtonEnabled(True)
        # Filtering folds every entry's text: wait for a pause in typing.
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(lambda: self._filter_text(self.search.text()))
        self.search.textChanged.connect(self._search_timer.start)

        self.replayed_filter = QComboBox(self)
        self.replayed_filter.addItem("All entries", None)
        self.replayed_filter.addItem("Not replayed", False)
        self.replayed_filter.addItem("Replayed", True)
        self.replayed_filter.currentIndexChanged.connect(
            lambda _i: self.proxy.set_replayed(self.replayed_filter.currentData())
        )
        self.reload_button = QPushButton("Reload", self)
        self.reload_button.setToolTip("Read the dead-letter topic again from the beginning")
        self.reload_button.clicked.connect(self.reload)
        self.status = QLabel(self)
        self.status.setObjectName("dlqStatus")
        self.status.setTextFormat(Qt.TextFormat.RichText)

        top = QHBoxLayout()
        top.addWidget(self.search, 3)
        top.addWidget(self.replayed_filter)
        top.addWidget(self.reload_button)
        top.addWidget(self.status, 2)

        # One tab per failure reason, with its count: grouping and filter in one line,
        # leaving the table the whole width.
        self.reasons = QTabBar(self)
        self.reasons.setObjectName("dlqReasons")
        self.reasons.setDrawBase(False)
        self.reasons.setExpanding(False)
        self.reasons.setUsesScrollButtons(True)
        # Room under the baseline, or the underscores of the reason names are cut off.
        self.reasons.setStyleSheet(
            "QTabBar::tab { padding: 5px 10px 6px 10px; margin-right: 4px; border-radius: 4px;"
            " border: 1px solid palette(mid); }"
            "QTabBar::tab:selected { background: palette(highlight);"
            " color: palette(highlighted-text); border-color: palette(highlight); }"
        )
        for reason in (None, *FailureReason):
            index = self.reasons.addTab(self._reason_text(reason, 0))
            # Stored as text: Qt turns a str-based enum into a plain str anyway.
            self.reasons.setTabData(index, "" if reason is None else reason.value)
        self.reasons.currentChanged.connect(self._filter_reason)

        self.table = QTableView(self)
        self.table.setObjectName("dlqTable")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COL_TIME, Qt.SortOrder.DescendingOrder)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_ERROR, QHeaderView.ResizeMode.Stretch)
        metrics = self.table.fontMetrics()
        # Fixed widths from sample text: ResizeToContents would scan every row.
        for col, sample in (
            (COL_TIME, "2026-11-25 23:59:59"),
            (COL_REASON, "DESERIALIZATION_ERROR"),
            (COL_ORIGINAL, "orders[12]@1234567"),
            (COL_KEY, "6f1c2d0e-8a4b"),
            (COL_RETRIES, "Retries"),
            (COL_REPLAYED, "Replayed"),
        ):
            self.table.setColumnWidth(col, metrics.horizontalAdvance(sample) + 28)
        self.table.horizontalHeader().setMinimumSectionSize(metrics.horizontalAdvance("Key") + 28)
        self.table.selectionModel().selectionChanged.connect(self._update_selection_state)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)

        self.details = self._build_details()

        right = QSplitter(Qt.Orientation.Vertical, self)
        right.addWidget(self.table)
        right.addWidget(self.details)
        right.setStretchFactor(0, 2)
        right.setStretchFactor(1, 3)
        right.setChildrenCollapsible(False)

        self.progress = QProgressBar(self)
        self.progress.setVisible(False)
        self.progress.setFormat("%v of %m")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_republish)
        self.summary = QLabel(self)
        self.summary.setObjectName("dlqSummary")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.bulk_button = QPushButton("Republish selected…", self)
        self.bulk_button.setObjectName("dlqRepublishSelected")
        self.bulk_button.setToolTip(
            "Send the selected dead letters, as they are, back to their original topics"
        )
        self.bulk_button.clicked.connect(self.republish_selected)
        self.select_all_button = QPushButton("Select all shown", self)
        self.select_all_button.clicked.connect(self.table.selectAll)

        bottom = QHBoxLayout()
        bottom.addWidget(self.summary, 1)
        bottom.addWidget(self.progress, 1)
        bottom.addWidget(self.cancel_button)
        bottom.addWidget(self.select_all_button)
        bottom.addWidget(self.bulk_button)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.reasons)
        layout.addWidget(right, 1)
        layout.addLayout(bottom)
        self._show_entry(None)

    def _build_details(self) -> QWidget:
        box = QWidget(self)
        self.info = QLabel(box)
        self.info.setObjectName("dlqInfo")
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.tabs = QTabWidget(box)
        self.payload_view = PayloadEditor(box, read_only=True)
        self.error_view = QPlainTextEdit(box)
        self.error_view.setReadOnly(True)
        self.error_view.setFont(self.payload_view.edit.font())
        row_height = self.fontMetrics().height() + 8
        self.headers_view = QTableWidget(0, 2, box)
        self.headers_view.setHorizontalHeaderLabels(["Header", "Value"])
        self.headers_view.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.headers_view.horizontalHeader().setStretchLastSection(True)
        self.headers_view.verticalHeader().setVisible(False)
        self.headers_view.verticalHeader().setDefaultSectionSize(row_height)
        self.headers_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.replays_view = QTableWidget(0, 5, box)
        self.replays_view.setHorizontalHeaderLabels(["#", "Replayed at", "To", "Payload", "By"])
        self.replays_view.horizontalHeader().setStretchLastSection(True)
        self.replays_view.verticalHeader().setVisible(False)
        self.replays_view.verticalHeader().setDefaultSectionSize(row_height)
        self.replays_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)

        edit_tab = QWidget(box)
        self.editor = PayloadEditor(edit_tab)
        self.target_topic = QLineEdit(edit_tab)
        self.target_topic.setObjectName("dlqTargetTopic")
        self.again_box = QCheckBox("Again", edit_tab)
        self.again_box.setToolTip("Republish it although it was republished before")
        self.reset_button = QPushButton("Reset to original", edit_tab)
        self.reset_button.clicked.connect(self._reset_editor)
        self.republish_one_button = QPushButton("Republish this entry…", edit_tab)
        self.republish_one_button.setObjectName("dlqRepublishOne")
        self.republish_one_button.clicked.connect(self.republish_current)
        # One row of controls under the editor, so the payload keeps the height.
        actions = QHBoxLayout()
        actions.addWidget(QLabel("Target topic:", edit_tab))
        actions.addWidget(self.target_topic, 1)
        actions.addWidget(self.again_box)
        actions.addWidget(self.reset_button)
        actions.addWidget(self.republish_one_button)
        edit_layout = QVBoxLayout(edit_tab)
        edit_layout.setContentsMargins(6, 6, 6, 6)
        edit_layout.addWidget(self.editor, 1)
        edit_layout.addLayout(actions)
        self.editor.edit.setMinimumHeight(self.editor.edit.fontMetrics().lineSpacing() * 5)

        self.tabs.addTab(self.payload_view, "Payload")
        self.tabs.addTab(self.error_view, "Error && stack")
        self.tabs.addTab(self.headers_view, "Headers")
        self.tabs.addTab(self.replays_view, "Replays")
        self.tabs.addTab(edit_tab, "Fix && republish")

        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.info)
        layout.addWidget(self.tabs, 1)
        return box

    # -- reader ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start reading the dead-letter topic from the beginning (no-op when running)."""
        if self._reader is not None:
            return
        self._caught_up = False
        self._reader_error = ""
        self._feed = DeadLetterFeed()
        reader = DeadLetterReaderThread(self.settings, self._feed, self)
        reader.failed.connect(self._reader_failed)
        self._reader = reader
        reader.start()
        self._drain_timer.start()
        self._ledger_timer.start()
        self._update_status()

    def stop_reader(self) -> None:
        """Ask the reader to stop and forget it; returns at once.

        Its thread ends in the background (a broker that does not answer can hold it for
        seconds); `busy` stays true until it has, and the thread deletes itself then.
        """
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.request_stop()
            if reader.isRunning():
                self._retiring.append(reader)
                # A bound method: the slot runs on the GUI thread, not the ending one.
                reader.finished.connect(self._reader_finished)
            else:
                reader.deleteLater()
        self._drain_timer.stop()
        self.drain()
        self._update_status()

    def _reader_finished(self) -> None:
        reader = self.sender()
        if isinstance(reader, DeadLetterReaderThread) and reader in self._retiring:
            self._retiring.remove(reader)
            reader.wait()  # returns at once: the thread has finished
            reader.deleteLater()

    def reload(self) -> None:
        """Forget what was read and read the topic again from the beginning."""
        self.stop_reader()
        self.model.clear()
        self._show_entry(None)
        self.start()

    def apply_settings(self, settings: Settings) -> None:
        """Switch to other settings (another cluster, dead-letter topic or log folder)."""
        self.settings = settings
        self.ledger = ReplayLedger.for_log_dir(settings.log_dir)
        self.reload()
        self.refresh_replays()

    def shutdown(self) -> None:
        """Ask the reader and any republish to stop; returns at once. Idempotent.

        The host must keep the widget until `busy` is false, as the main window does
        while it shows 'Stopping…'; `wait_stopped()` blocks for it instead.
        """
        self._ledger_timer.stop()
        self._search_timer.stop()
        if self._republisher is not None:
            self._republisher.cancel()
        self.stop_reader()

    @property
    def busy(self) -> bool:
        """Whether a reader or republish thread of this inbox is still running."""
        threads = [*self._retiring, self._reader, self._republisher]
        return any(t is not None and t.isRunning() for t in threads)

    def wait_stopped(self, timeout_ms: int = STOP_WAIT_MS) -> bool:
        """Block until every thread of the inbox has ended (after `shutdown()`)."""
        threads = [t for t in (*self._retiring, self._reader, self._republisher) if t]
        return all(t.wait(timeout_ms) for t in threads)

    @property
    def is_caught_up(self) -> bool:
        return self._caught_up

    def drain(self) -> None:
        """Move what the reader has read into the table."""
        if self._feed is None:
            return
        entries, caught_up = self._feed.drain()
        if entries:
            self.model.add_entries(entries)
            if self._current is None and self.proxy.rowCount() > 0:
                self.table.selectRow(0)
        if caught_up and not self._caught_up:
            self._caught_up = True
            self._update_status()
            self.caught_up.emit()

    def _reader_failed(self, message: str) -> None:
        if self.sender() is not self._reader:
            return  # a reader stopped by a reload: its failure is no longer news
        self._reader_error = message
        self._update_status()

    def refresh_replays(self) -> None:
        self.model.set_replays(self.ledger.replayed_ids(self.settings.topics.dlq))
        if self._current is not None:
            self._show_replays(self._current)

    # -- filters and selection -------------------------------------------------------------

    @staticmethod
    def _reason_text(reason: FailureReason | None, count: int) -> str:
        return f"{'All reasons' if reason is None else reason.value}  ({count:,})"

    def _reason_at(self, index: int) -> FailureReason | None:
        value = self.reasons.tabData(index)
        return FailureReason(value) if value else None

    def _update_reason_counts(self) -> None:
        counts = self.model.reason_counts()
        total = sum(counts.values())
        # Only tabs whose count changed are touched: each change relayouts the tab bar, and
        # dead letters arrive several times a second while the services run.
        shown = self._reason_shown
        for index in range(self.reasons.count()):
            reason = self._reason_at(index)
            count = total if reason is None else counts.get(reason, 0)
            if shown.get(index) == count:
                continue
            was = shown.get(index)
            shown[index] = count
            self.reasons.setTabText(index, self._reason_text(reason, count))
            if reason is not None and (was is None or bool(was) != bool(count)):
                color = self.palette().text() if count else self.palette().placeholderText()
                self.reasons.setTabTextColor(index, color.color())

    def set_reason_filter(self, reason: FailureReason | None) -> None:
        for index in range(self.reasons.count()):
            if self._reason_at(index) == reason:
                self.reasons.setCurrentIndex(index)
                return

    def reason_counts_shown(self) -> list[str]:
        """The reason tabs' texts, as the user reads them."""
        return [self.reasons.tabText(i) for i in range(self.reasons.count())]

    def _filter_reason(self, index: int) -> None:
        self.proxy.set_reason(self._reason_at(index) if index >= 0 else None)
        self._update_selection_state()

    def _filter_text(self, text: str) -> None:
        self.proxy.set_text(text)
        self._update_selection_state()

    def selected_entries(self) -> list[DeadLetterEntry]:
        rows = self.table.selectionModel().selectedRows()
        entries = [self.proxy.data(index, EntryRole) for index in rows]
        return [e for e in entries if e is not None]

    def select_entries(self, ids: set[str]) -> None:
        """Select the shown rows of these entry ids (for scripts and tests)."""
        selection = self.table.selectionModel()
        selection.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            entry = self.proxy.data(index, EntryRole)
            if entry is not None and entry.id in ids:
                selection.select(index, flags)

    def _update_selection_state(self, *_args: Any) -> None:
        count = len(self.table.selectionModel().selectedRows())
        busy = self._republisher is not None
        self.bulk_button.setText(f"Republish selected ({count:,})…")
        self.bulk_button.setEnabled(count > 0 and not busy)
        self.select_all_button.setEnabled(self.proxy.rowCount() > 0)
        self.republish_one_button.setEnabled(self._current is not None and not busy)
        self.reset_button.setEnabled(self._current is not None)
        self._update_status()

    def _update_status(self, *_args: Any) -> None:
        topic = html.escape(self.settings.topics.dlq)
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        if self._reader_error:
            text = (
                f"<span style='color:#c0392b'><b>Cannot read {topic}:</b> "
                f"{html.escape(self._reader_error)}</span>"
            )
        elif self._reader is None:
            text = f"{total:,} dead letters in <b>{topic}</b> (not reading)"
        elif not self._caught_up:
            text = f"Reading <b>{topic}</b>… {total:,} so far"
        else:
            text = f"{total:,} dead letters in <b>{topic}</b> · following live"
        if shown != total:
            text += f" · {shown:,} shown"
        self.status.setText(text)

    # -- details ---------------------------------------------------------------------------

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        entry = self.proxy.data(current, EntryRole) if current.isValid() else None
        self._show_entry(entry)

    def current_entry(self) -> DeadLetterEntry | None:
        return self._current

    def _show_entry(self, entry: DeadLetterEntry | None) -> None:
        self._current = entry
        if entry is None:
            self.info.setText("<i>Select a dead letter to see it in full.</i>")
            self.payload_view.set_payload("")
            self.error_view.setPlainText("")
            self.headers_view.setRowCount(0)
            self.replays_view.setRowCount(0)
            self.editor.set_payload("")
            self.target_topic.clear()
            self.target_topic.setPlaceholderText("")
            self._update_selection_state()
            return
        esc = html.escape
        where = f"{esc(entry.dlq_topic)}[{entry.dlq_partition}]@{entry.dlq_offset}"
        key = "–" if entry.original_key is None else esc(entry.original_key)
        self.info.setText(
            f"<b>{esc(entry.failure_reason.value)}</b> · {esc(entry.id)} · "
            f"from <b>{esc(entry.original_coordinates)}</b> · key {key} · "
            f"retries {entry.retry_count} · dead letter {where} ({esc(entry.source)})"
        )
        self.payload_view.set_payload(entry.original_payload)
        error = entry.error_message
        if entry.error_class:
            error = f"{entry.error_class}: {error}"
        self.error_view.setPlainText(
            error + ("\n\n" + entry.error_stack if entry.error_stack else "")
        )
        shown_headers = entry.to_record()["headers"]
        self.headers_view.setRowCount(len(entry.headers))
        for row, (name, _raw) in enumerate(entry.headers):
            self.headers_view.setItem(row, 0, QTableWidgetItem(name))
            value = shown_headers.get(name)
            self.headers_view.setItem(
                row, 1, QTableWidgetItem("(null)" if value is None else value)
            )
        self._show_replays(entry)
        self.editor.set_payload(entry.original_payload)
        self.target_topic.clear()
        self.target_topic.setPlaceholderText(entry.original_topic or "name a topic")
        self._update_selection_state()

    def _show_replays(self, entry: DeadLetterEntry) -> None:
        history = self.ledger.history(entry.dlq_topic, entry.id)
        self.replays_view.setRowCount(len(history))
        for row, record in enumerate(history):
            cells = (
                str(record.replay_count),
                record.replayed_at_time.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                f"{record.target_topic}[{record.target_partition}]@{record.target_offset}",
                "edited" if record.payload_edited else "as it was",
                record.user,
            )
            for col, text in enumerate(cells):
                self.replays_view.setItem(row, col, QTableWidgetItem(text))
        self.tabs.setTabText(TAB_REPLAYS, f"Replays ({len(history)})" if history else "Replays")
        self.again_box.setChecked(False)
        self.again_box.setEnabled(bool(history))

    def _reset_editor(self) -> None:
        if self._current is not None:
            self.editor.set_payload(self._current.original_payload)

    # -- republish -------------------------------------------------------------------------

    def confirm_republish(
        self, count: int, targets: list[str], already: int, problems: int
    ) -> tuple[bool, bool]:
        """Ask before sending: (go ahead, include entries replayed before)."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Republish dead letters")
        text = f"Republish {plural(count, 'message')} to {', '.join(targets)}?"
        box.setText(text)
        notes = []
        if problems:
            notes.append(
                f"The edited payload is still not a valid order ({plural(problems, 'problem')})."
            )
        if already:
            notes.append(
                f"{already:,} of them {'was' if already == 1 else 'were'} republished before "
                "and will be skipped "
                "unless you tick the box below."
            )
        if notes:
            box.setInformativeText("\n".join(notes))
        again = None
        if already:
            again = QCheckBox("Republish those again", box)
            box.setCheckBox(again)
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        accepted = box.exec() == QMessageBox.StandardButton.Yes
        return accepted, bool(again is not None and again.isChecked())

    def republish_selected(self) -> bool:
        """Republish the selected entries as they are; True when the work was started."""
        entries = self.selected_entries()
        if not entries:
            return False
        requests = [ReplayRequest(e) for e in entries]
        return self._confirm_and_start(requests, again=False)

    def republish_current(self) -> bool:
        """Republish the current entry with the edited payload and target topic."""
        entry = self._current
        if entry is None:
            return False
        problems = self.editor.validate_now()
        text = self.editor.text()
        unchanged = text == pretty_json(entry.original_payload)
        payload = None if unchanged else self.editor.payload_bytes()
        target = self.target_topic.text().strip() or None
        request = ReplayRequest(entry, payload=payload, target_topic=target)
        return self._confirm_and_start(
            [request], again=self.again_box.isChecked(), problems=len(problems)
        )

    def _confirm_and_start(
        self, requests: list[ReplayRequest], again: bool, problems: int = 0
    ) -> bool:
        if self._republisher is not None:
            return False
        targets = sorted({r.topic or "?" for r in requests})
        already = sum(
            1 for r in requests if self.ledger.replay_count(r.entry.dlq_topic, r.entry.id)
        )
        ok, include_again = self.confirm_republish(
            len(requests), targets, 0 if again else already, problems
        )
        if not ok:
            return False
        thread = RepublishThread(self.settings, self.ledger, requests, again or include_again, self)
        thread.progress.connect(self._republish_progress)
        thread.done.connect(self._republish_done)
        thread.failed.connect(self._republish_failed)
        thread.finished.connect(self._republish_thread_finished)
        self._republisher = thread
        self.progress.setRange(0, len(requests))
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.summary.setText(f"Republishing {len(requests):,}…")
        self._update_selection_state()
        thread.start()
        return True

    def cancel_republish(self) -> None:
        if self._republisher is not None:
            self._republisher.cancel()
            self.cancel_button.setEnabled(False)

    @property
    def republishing(self) -> bool:
        return self._republisher is not None

    def _republish_progress(self, done: int, total: int, line: str) -> None:
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        self.summary.setToolTip(line)

    def _republish_done(self, summary: ReplaySummary) -> None:
        color = "#2e7d32" if summary.ok else "#c0392b"
        self.summary.setText(f"<span style='color:{color}'><b>{summary.text()}</b></span>")
        problems = [r.describe() for r in summary.results if r.outcome.value != "acknowledged"]
        self.summary.setToolTip("\n".join(problems[:30]) or summary.text())
        self.refresh_replays()
        self.republish_finished.emit(summary)

    def _republish_failed(self, message: str) -> None:
        self.summary.setText(
            f"<span style='color:#c0392b'><b>Republish failed:</b> {html.escape(message)}</span>"
        )
        self.republish_finished.emit(ReplaySummary())

    def _republish_thread_finished(self) -> None:
        thread = self._republisher
        self._republisher = None
        if thread is not None:
            thread.wait()
            thread.deleteLater()
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self._update_selection_state()
