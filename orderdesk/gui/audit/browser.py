"""The audit trail browser: `tracker.events` (live or any file) as a filterable table.

A background QThread indexes the file (`orderdesk.audit.index.scan_file`) into a queue; a
GUI timer drains it into the index and the table, a few blocks per pass within a time
budget, so the first rows show after the first block and the window stays live while a
million lines are indexed. While following,
a timer checks the file twice a second: new lines are indexed (in place when they are few),
a rotated, truncated or rewritten file is indexed again from its start.
"""

from __future__ import annotations

import html
import json
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QDateTime,
    QItemSelectionModel,
    QModelIndex,
    Qt,
    QThread,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QFontDatabase,
    QFontMetrics,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from orderdesk.audit.index import (
    EVENT_CODES,
    MALFORMED,
    AuditFilter,
    AuditIndex,
    AuditRow,
    FileChange,
    FileIdentity,
    scan_file,
)
from orderdesk.domain.text import pretty_json
from orderdesk.gui.audit.model import (
    COL_EVENT,
    COL_LINE,
    COL_ORDER,
    COL_POSITION,
    COL_STATUS,
    COL_TIME,
    AuditModel,
)

#: Growth indexed on the GUI thread while following; more goes to the background thread.
_INLINE_BYTES = 4 * 1024 * 1024
_FILTER_DELAY_MS = 250
_DRAIN_INTERVAL_MS = 15
_DRAIN_BUDGET_S = 0.02  # GUI time per pull of indexed blocks
_FAILURES = frozenset({"order.retried", "order.rejected", "order.dead_lettered", MALFORMED})
_TIME_FORMAT = "yyyy-MM-dd HH:mm:ss"


class _ScanThread(QThread):
    """Indexes one file from an offset, block by block, into a queue the GUI drains.

    No signal per block: the GUI pulls on a timer at its own pace (several blocks per
    pull when it lags), and nothing but the queue crosses threads.
    """

    #: A small first block puts rows on screen at once; later blocks are larger.
    first_block_bytes = 1 << 20
    block_bytes = 8 << 20

    def __init__(self, path: Path, start: int, identity: FileIdentity | None) -> None:
        super().__init__()
        self.setObjectName("audit-indexer")
        self.path = path
        self.start_offset = start
        self.identity = identity
        self.stop = threading.Event()
        #: ScannedChunk items, then one _ScanEnd.
        self.blocks: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def run(self) -> None:
        error = ""
        try:
            for block in scan_file(
                self.path,
                self.start_offset,
                self.identity,
                chunk_bytes=self.block_bytes,
                stop=self.stop,
                first_chunk_bytes=self.first_block_bytes,
            ):
                self.blocks.put(block)
        except (OSError, ValueError) as exc:  # ValueError: mmap of a file emptied meanwhile
            error = str(exc)
        self.blocks.put(_ScanEnd(error))


@dataclass(frozen=True)
class _ScanEnd:
    error: str


class AuditBrowser(QWidget):
    """Browse, filter and follow an audit trail file.

    Signals:
        file_opened(object): the Path now shown.
    """

    file_opened = Signal(object)

    def __init__(self, path: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.index: AuditIndex | None = None
        self.model = AuditModel(parent=self)
        self._scan: _ScanThread | None = None
        self._status = ""
        self._shut_down = False

        self._drain_timer = QTimer(self)
        self._drain_timer.setInterval(_DRAIN_INTERVAL_MS)
        self._drain_timer.timeout.connect(self._drain)
        self.follow_timer = QTimer(self)
        self.follow_timer.setInterval(500)
        self.follow_timer.timeout.connect(self.poll_file)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(_FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.apply_filter)

        self._build()
        self.model.counts_changed.connect(self._update_counts)
        self.model.filtering.connect(lambda _busy: self._update_counts())
        self.model.rowsAboutToBeInserted.connect(self._remember_tail)
        self.model.rowsInserted.connect(self._keep_tail)
        self.model.modelAboutToBeReset.connect(self._remember_selection)
        self.model.modelReset.connect(self._restore_selection)
        self._at_tail = False
        self._selected_line: int | None = None
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        if path is not None:
            self.open_file(Path(path))
        self._update_counts()

    # -- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open an audit trail file (Ctrl+O); or drop one here")
        self.open_button.clicked.connect(self.choose_file)
        self.path_label = QLabel("No file")
        # A long path is cut rather than widening the window; the tooltip shows it whole.
        self.path_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.follow_box = QCheckBox("Follow")
        self.follow_box.setToolTip("Show new lines as the tracker writes them")
        self.follow_box.setChecked(True)
        self.follow_box.toggled.connect(self.set_follow)
        self.reload_button = QPushButton("Reload")
        self.reload_button.setToolTip("Index the file again from its start")
        self.reload_button.clicked.connect(self.reload)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.count_label = QLabel()

        top = QHBoxLayout()
        top.addWidget(self.open_button)
        top.addWidget(self.path_label, 1)
        top.addWidget(self.progress)
        top.addWidget(self.count_label)
        top.addWidget(self.reload_button)
        top.addWidget(self.follow_box)

        self.text_edit = QLineEdit()
        self.text_edit.setPlaceholderText("Text (case-sensitive)")
        self.text_edit.setClearButtonEnabled(True)
        self.order_edit = QLineEdit()
        self.order_edit.setPlaceholderText("Order ID")
        self.order_edit.setClearButtonEnabled(True)
        self.event_combo = QComboBox()
        self.event_combo.setToolTip("Event type")
        self.event_combo.addItem("All events", None)
        self.event_combo.addItem("Failures only", _FAILURES)
        for name in EVENT_CODES:
            self.event_combo.addItem(name, frozenset({name}))
        self.event_combo.addItem("Malformed lines", frozenset({MALFORMED}))
        self.since_box = QCheckBox("From")
        self.until_box = QCheckBox("To")
        self.since_edit = QDateTimeEdit()
        self.until_edit = QDateTimeEdit()
        for edit in (self.since_edit, self.until_edit):
            edit.setDisplayFormat(_TIME_FORMAT)
            edit.setCalendarPopup(True)
            edit.setEnabled(False)
            edit.dateTimeChanged.connect(self._filter_later)
        self.since_box.toggled.connect(self.since_edit.setEnabled)
        self.until_box.toggled.connect(self.until_edit.setEnabled)
        utc = QLabel("UTC")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Clear every filter")
        self.clear_button.clicked.connect(self.clear_filters)

        for edit in (self.text_edit, self.order_edit):
            edit.textChanged.connect(self._filter_later)
            edit.returnPressed.connect(self.apply_filter)
        for box in (self.since_box, self.until_box):
            box.toggled.connect(self._filter_later)
        self.event_combo.currentIndexChanged.connect(self._filter_later)

        # Two rows: an order id must fit whole, and the window may be as narrow as 1000 px.
        self.order_edit.setMinimumWidth(self.fontMetrics().horizontalAdvance("0" * 38) + 24)
        filters = QHBoxLayout()
        filters.addWidget(self.text_edit, 1)
        filters.addWidget(self.order_edit, 1)
        more_filters = QHBoxLayout()
        more_filters.addWidget(self.event_combo)
        more_filters.addSpacing(12)
        more_filters.addWidget(self.since_box)
        more_filters.addWidget(self.since_edit)
        more_filters.addWidget(self.until_box)
        more_filters.addWidget(self.until_edit)
        more_filters.addWidget(utc)
        more_filters.addStretch(1)
        more_filters.addWidget(self.clear_button)

        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.verticalHeader().hide()
        # Fixed row heights: the view never measures a million rows.
        vh = self.view.verticalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        # Widths from the font, not from the rows: measuring rows would read the file.
        fm = self.fontMetrics()
        bold = QFont(header.font())
        bold.setBold(True)
        head_fm = QFontMetrics(bold)
        samples = {
            COL_LINE: "0,000,000",
            COL_TIME: "0000-00-00 00:00:00.000",
            COL_EVENT: "order.dead_lettered",
            COL_ORDER: "00000000-0000-0000-0000-000000000000",
            COL_POSITION: "00/00000000",
            COL_STATUS: "shipped",
        }
        for col, sample in samples.items():
            title = str(self.model.headerData(col, Qt.Orientation.Horizontal))
            width = max(fm.horizontalAdvance(sample), head_fm.horizontalAdvance(title))
            self.view.setColumnWidth(col, width + 16)
        self.view.selectionModel().currentRowChanged.connect(self._show_current)

        self.summary = QLabel("Select a row to see its order and raw message.")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.order_text = QPlainTextEdit()
        self.raw_text = QPlainTextEdit()
        for text in (self.order_text, self.raw_text):
            text.setReadOnly(True)
            text.setFont(mono)
            text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.order_text.setPlaceholderText("Parsed order")
        self.raw_text.setPlaceholderText("Raw message")

        def titled(title: str, body: QWidget) -> QWidget:
            box = QWidget()
            lay = QVBoxLayout(box)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.setSpacing(2)
            label = QLabel(title)
            font = QFont(label.font())
            font.setBold(True)
            label.setFont(font)
            lay.addWidget(label)
            lay.addWidget(body)
            return box

        panes = QSplitter(Qt.Orientation.Horizontal)
        panes.addWidget(titled("Order (parsed)", self.order_text))
        panes.addWidget(titled("Raw message", self.raw_text))
        panes.setChildrenCollapsible(False)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 4, 0, 0)
        detail_layout.addWidget(self.summary)
        detail_layout.addWidget(panes, 1)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.view)
        self.splitter.addWidget(detail)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(filters)
        layout.addLayout(more_filters)
        layout.addWidget(self.splitter, 1)

        open_action = QAction("Open audit trail…", self)
        open_action.setShortcut(QKeySequence.StandardKey.Open)
        open_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        open_action.triggered.connect(self.choose_file)
        find_action = QAction("Find", self)
        find_action.setShortcut(QKeySequence.StandardKey.Find)
        find_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find_action.triggered.connect(self.text_edit.setFocus)
        self.addActions([open_action, find_action])

    # -- files --------------------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        return self.index.path if self.index is not None else None

    def choose_file(self) -> None:
        start = str(self.path.parent) if self.path is not None else ""
        name, _ = QFileDialog.getOpenFileName(
            self,
            "Open audit trail",
            start,
            "Audit trails (*.events *.events.* *.jsonl *.json);;All files (*)",
        )
        if name:
            self.open_file(Path(name))

    def open_file(self, path: Path) -> None:
        """Show `path` (it may not exist yet: following waits for it)."""
        self._stop_scan()
        self.index = AuditIndex(Path(path))
        self.path_label.setText(str(path))
        self.path_label.setToolTip(str(path))
        self.model.set_index(self.index)
        self._clear_detail()
        self._status = ""
        self.file_opened.emit(Path(path))
        if self.index.check() is FileChange.MISSING:
            self._status = "waiting for the file"
        else:
            self._start_scan()
        self.set_follow(self.follow_box.isChecked())
        self._update_counts()

    def reload(self) -> None:
        if self.index is not None:
            self._reindex()

    def set_follow(self, on: bool) -> None:
        """Follow the file as it grows (and is rotated), or leave it as indexed."""
        if self.follow_box.isChecked() != on:
            self.follow_box.setChecked(on)  # re-enters through toggled
            return
        if on and self.index is not None and not self._shut_down:
            self.follow_timer.start()
            self.poll_file()
        else:
            self.follow_timer.stop()

    def poll_file(self) -> None:
        """Check the file once: index what was added, start over if it was replaced."""
        if self.index is None or self._scan is not None or self._shut_down:
            return
        change = self.index.check()
        if change is FileChange.MISSING:
            self._set_status("waiting for the file")
        elif change is FileChange.REPLACED:
            self._reindex()
        elif change is FileChange.GROWN:
            self._set_status("")
            if self.index.pending_bytes() > _INLINE_BYTES:
                self._start_scan()
            else:
                try:
                    self.index.update()
                except (OSError, ValueError):
                    return  # replaced between the check and the read: next poll sees it
                self.model.sync()
                self._update_times()
        else:
            self._set_status("")

    def is_indexing(self) -> bool:
        return self._scan is not None

    def _reindex(self) -> None:
        assert self.index is not None
        self._stop_scan()
        self.index.reset()
        self.model.reset_lines()
        self._clear_detail()
        self._status = "file replaced: indexing again"
        if self.index.check() is not FileChange.MISSING:
            self._start_scan()
        self._update_counts()

    # -- background indexing ------------------------------------------------------------

    def _start_scan(self) -> None:
        assert self.index is not None
        if self._scan is not None or self._shut_down:
            return
        thread = _ScanThread(self.index.path, self.index.indexed_size, self.index.identity)
        self._scan = thread
        self.progress.setValue(0)
        self.progress.show()
        thread.start()
        self._drain_timer.start()
        self._update_counts()

    def _stop_scan(self) -> None:
        """Cancel the running scan and wait for its thread (a block takes milliseconds)."""
        if self._scan is None:
            return
        thread, self._scan = self._scan, None
        self._drain_timer.stop()
        thread.stop.set()
        thread.wait()
        self.progress.hide()

    def _drain(self) -> None:
        """Take what the scan thread indexed so far into the index and the table."""
        thread = self._scan
        if thread is None or self.index is None:
            self._drain_timer.stop()
            return
        deadline = time.perf_counter() + _DRAIN_BUDGET_S
        end: _ScanEnd | None = None
        grew = False
        while time.perf_counter() < deadline:
            try:
                item = thread.blocks.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _ScanEnd):
                end = item
                break
            grew |= bool(self.index.append(item))
        if grew:
            self.model.sync()
            self._update_times()
        size = self.index.file_size() or 1
        self.progress.setValue(int(1000 * min(1.0, self.index.indexed_size / size)))
        if end is not None:
            self._scan = None
            self._drain_timer.stop()
            thread.wait()  # it put its last item and is returning
            self.progress.hide()
            self._status = f"cannot read: {end.error}" if end.error else ""
            self._update_counts()
            if self.follow_box.isChecked():
                self.poll_file()  # what was written while indexing, or a rotation meanwhile
            return
        self._update_counts()

    def shutdown(self) -> None:
        """Stop indexing and following; the host calls it before the widget goes away."""
        self._shut_down = True
        self.follow_timer.stop()
        self._filter_timer.stop()
        self._stop_scan()

    def closeEvent(self, event: Any) -> None:
        self.shutdown()
        super().closeEvent(event)

    # -- filters ------------------------------------------------------------------------

    def _filter_later(self, *_: object) -> None:
        self._filter_timer.start()

    def current_filter(self) -> AuditFilter:
        def when(edit: QDateTimeEdit) -> datetime:
            d = edit.dateTime()
            return datetime(
                d.date().year(), d.date().month(), d.date().day(),
                d.time().hour(), d.time().minute(), d.time().second(),
                tzinfo=UTC,
            )  # fmt: skip

        return AuditFilter(
            text=self.text_edit.text(),
            order_id=self.order_edit.text().strip(),
            event_types=self.event_combo.currentData(),
            since=when(self.since_edit) if self.since_box.isChecked() else None,
            until=when(self.until_edit) if self.until_box.isChecked() else None,
        )

    def apply_filter(self) -> None:
        self._filter_timer.stop()
        self.model.set_filter(self.current_filter())
        self._update_counts()

    def clear_filters(self) -> None:
        for w in (self.text_edit, self.order_edit, self.event_combo, self.since_box):
            w.blockSignals(True)
        self.text_edit.clear()
        self.order_edit.clear()
        self.event_combo.setCurrentIndex(0)
        self.since_box.setChecked(False)
        self.until_box.setChecked(False)
        for w in (self.text_edit, self.order_edit, self.event_combo, self.since_box):
            w.blockSignals(False)
        self.since_edit.setEnabled(False)
        self.apply_filter()

    def _update_times(self) -> None:
        """Offer the file's own time span in the time filter while it is not in use."""
        if self.index is None or not self.index.line_count:
            return
        times = self.index.times
        first, last = times[0], times[-1]
        for box, edit, value in (
            (self.since_box, self.since_edit, first),
            (self.until_box, self.until_edit, last),
        ):
            if box.isChecked() or not value:
                continue
            stamp = QDateTime.fromString(value.decode(), "yyyy-MM-ddTHH:mm:ss")
            edit.blockSignals(True)
            edit.setDateTime(stamp)
            edit.blockSignals(False)

    # -- counts, tail, selection ----------------------------------------------------------

    def _set_status(self, text: str) -> None:
        if text != self._status:
            self._status = text
            self._update_counts()

    def _update_counts(self) -> None:
        lines = self.index.line_count if self.index is not None else 0
        shown = self.model.rowCount()
        parts = [f"{lines:,} lines"]
        if not self.model.audit_filter.is_empty():
            parts.append(f"{shown:,} shown")
        if self.model.is_filtering():
            parts.append(f"filtering {self.model.progress:.0%}")
        if self._scan is not None:
            parts.append("indexing…")
        if self._status:
            parts.append(self._status)
        self.count_label.setText(" · ".join(parts))

    def _remember_tail(self, *_: object) -> None:
        bar = self.view.verticalScrollBar()
        self._at_tail = bar.value() >= bar.maximum() and self.model.rowCount() > 0

    def _keep_tail(self, *_: object) -> None:
        if self._at_tail and self.follow_box.isChecked() and not self.is_indexing():
            self.view.scrollToBottom()

    def _remember_selection(self) -> None:
        current = self.view.currentIndex()
        self._selected_line = self.model.line_of(current.row()) if current.isValid() else None

    def _restore_selection(self) -> None:
        line, self._selected_line = self._selected_line, None
        row = self.model.row_of_line(line) if line is not None else None
        if row is None:
            self._clear_detail()
            return
        index = self.model.index(row, 0)
        self.view.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)

    # -- detail pane --------------------------------------------------------------------

    def _clear_detail(self) -> None:
        self.summary.setText("Select a row to see its order and raw message.")
        self.order_text.clear()
        self.raw_text.clear()

    def _show_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = self.model.audit_row(current.row()) if current.isValid() else None
        if row is None:
            self._clear_detail()
            return
        self.show_row(row)

    def show_row(self, row: AuditRow) -> None:
        """Fill the detail pane with one row."""
        if row.malformed:
            self.summary.setText(
                f"<b>Line {row.line + 1:,}: malformed</b> — {html.escape(row.error)}"
            )
            self.order_text.setPlainText("")
            self.raw_text.setPlainText(row.text)
            return
        where = f"{row.record.get('kafka_topic', '?')} [{row.partition}] @ {row.offset}"
        parts = [
            f"<b>{html.escape(row.event_type)}</b>",
            html.escape(row.timestamp),
            f"order <b>{html.escape(row.order_id or '—')}</b>",
            html.escape(where),
            f"{row.record.get('message_size', '?')} bytes",
            "deserialized" if row.record.get("deserialized") else "not deserialized",
        ]
        text = " · ".join(parts)
        if row.error:
            text += f"<br><span style='color:#c62828'>{html.escape(row.error)}</span>"
        self.summary.setText(text)
        if row.order_full is not None:
            self.order_text.setPlainText(json.dumps(row.order_full, indent=2, ensure_ascii=False))
        else:
            self.order_text.setPlainText("(no parsed order)")
        self.raw_text.setPlainText(pretty_json(row.raw_message))

    # -- drag and drop ------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            self.open_file(Path(urls[0].toLocalFile()))
            event.acceptProposedAction()
