"""The audit trail browser: `tracker.events` (live or any file) as a filterable table.

A background worker (`scan.ScanWorker`) indexes the file (`orderdesk.audit.index.scan_file`)
into a feed; a GUI timer drains it into the index and the table, a few blocks per pass
within a time budget, so the first rows show after the first block and the window stays
live while a million lines are indexed. While following, a timer checks the file twice a
second: new lines are indexed (in place when they are few), a rotated, truncated or
rewritten file is indexed again from its start.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from orderdesk.audit.index import CODE_MALFORMED, AuditFilter, AuditIndex, AuditRow, FileChange
from orderdesk.audit.trail import history_start
from orderdesk.config import Settings
from orderdesk.gui.audit.detail import AuditDetail
from orderdesk.gui.audit.filters import AuditFilterBar
from orderdesk.gui.audit.model import AuditModel
from orderdesk.gui.audit.scan import ScanEnd, ScanWorker
from orderdesk.gui.audit.table import AuditTable
from orderdesk.gui.tab import Tab
from orderdesk.gui.widgets.threads import WorkerThread

#: Growth indexed on the GUI thread while following; more goes to the background thread.
_INLINE_BYTES = 4 * 1024 * 1024
_FILTER_DELAY_MS = 250
_DRAIN_INTERVAL_MS = 15
_DRAIN_BUDGET_S = 0.02  # GUI time per pull of indexed blocks
#: Lines that must all be malformed before a file is taken for something else.
NOT_AUDIT_LINES = 20
#: Longest wait for a cancelled scan: it stops after the block in hand (milliseconds).
_SCAN_STOP_MS = 10_000


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
        self._scan: WorkerThread | None = None
        self._status = ""
        #: When the oldest kept audit line was written (retention removes older files).
        self._history_since = ""
        self._shut_down = False
        #: The file shown is not an audit trail (none of its lines is an audit entry).
        self._not_audit = False

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
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        if path is not None:
            self.open_file(Path(path))
        self._update_counts()

    # -- layout -------------------------------------------------------------------------

    def _build(self) -> None:
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

        self.filters = AuditFilterBar()
        self.filters.edited.connect(self._filter_later)
        self.filters.apply_now.connect(self.apply_filter)
        self.filters.cleared.connect(self.apply_filter)
        # The fields, for scripts and tests.
        self.text_edit = self.filters.text_edit
        self.order_edit = self.filters.order_edit
        self.event_combo = self.filters.event_combo
        self.since_box, self.since_edit = self.filters.since_box, self.filters.since_edit
        self.until_box, self.until_edit = self.filters.until_box, self.filters.until_edit
        self.clear_button = self.filters.clear_button

        self.table = AuditTable(self.model, self.follow_box.isChecked)
        self.view = self.table.view
        self.view.selectionModel().currentRowChanged.connect(self._show_current)
        self.table.selection_restored.connect(self._selection_restored)

        self.detail = AuditDetail()
        self.summary = self.detail.summary
        self.order_text = self.detail.order_text
        self.raw_text = self.detail.raw_text

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.view)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.filters)
        layout.addWidget(self.splitter, 1)
        self.addActions(
            [
                _shortcut(
                    self, "Open audit trail…", QKeySequence.StandardKey.Open, self.choose_file
                ),
                _shortcut(self, "Find", QKeySequence.StandardKey.Find, self.text_edit.setFocus),
            ]
        )

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
        """Show `path` (it may not exist yet: following waits for it).

        The filter of the file shown before does not carry over to another file.
        """
        self._stop_scan()
        if self.index is not None and Path(path) != self.index.path:
            self.filters.clear()
        self._not_audit = False
        self.index = AuditIndex(Path(path))
        self.path_label.setText(str(path))
        # Retention removes the oldest rotated files: say from when history is kept.
        since = history_start(Path(path))
        self._history_since = "" if since is None else since.astimezone().strftime("%Y-%m-%d %H:%M")
        self.path_label.setToolTip(
            str(path) + (f"\nAudit history kept since {self._history_since}" if since else "")
        )
        self.model.set_index(self.index)
        self.detail.clear()
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
        self.table.follow(on)
        if on and self.index is not None and not self._shut_down and not self._not_audit:
            self.follow_timer.start()
            self.poll_file()
        else:
            self.follow_timer.stop()

    def poll_file(self) -> None:
        """Check the file once: index what was added, start over if it was replaced."""
        if self.index is None or self._scan is not None or self._shut_down or self._not_audit:
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
        self.detail.clear()
        self._status = "file replaced: indexing again"
        if self.index.check() is not FileChange.MISSING:
            self._start_scan()
        self._update_counts()

    # -- background indexing ------------------------------------------------------------

    def _start_scan(self) -> None:
        assert self.index is not None
        if self._scan is not None or self._shut_down:
            return
        worker = ScanWorker(self.index.path, self.index.indexed_size, self.index.identity)
        self._scan = WorkerThread(worker, "audit-indexer")
        self.progress.setValue(0)
        self.progress.show()
        self._scan.start()
        self._drain_timer.start()
        self._update_counts()

    def _stop_scan(self) -> None:
        """Cancel the running scan and wait for its thread (a block takes milliseconds)."""
        if self._scan is None:
            return
        thread, self._scan = self._scan, None
        self._drain_timer.stop()
        thread.worker.request_stop()
        thread.wait(_SCAN_STOP_MS)
        self.progress.hide()

    def _drain(self) -> None:
        """Take what the scan worker indexed so far into the index and the table."""
        thread = self._scan
        if thread is None or self.index is None:
            self._drain_timer.stop()
            return
        blocks = thread.worker.blocks
        deadline = time.perf_counter() + _DRAIN_BUDGET_S
        end: ScanEnd | None = None
        grew = False
        while time.perf_counter() < deadline:
            items = blocks.drain(1).items
            if not items:
                break
            if isinstance(items[0], ScanEnd):
                end = items[0]
                break
            grew |= bool(self.index.append(items[0]))
        if grew:
            if self._refuse_if_not_audit(finished=end is not None):
                return
            self.model.sync()
            self._update_times()
        size = self.index.file_size() or 1
        self.progress.setValue(int(1000 * min(1.0, self.index.indexed_size / size)))
        if end is not None and self._refuse_if_not_audit(finished=True):
            return
        if end is not None:
            self._scan = None
            self._drain_timer.stop()
            thread.wait(_SCAN_STOP_MS)  # it put its last item and is returning
            self.progress.hide()
            self._status = f"cannot read: {end.error}" if end.error else ""
            self._update_counts()
            if self.follow_box.isChecked():
                self.poll_file()  # what was written while indexing, or a rotation meanwhile
            return
        self._update_counts()

    def _refuse_if_not_audit(self, finished: bool) -> bool:
        """Stop at a file none of whose lines is an audit entry (a binary file, another
        log): say so, instead of listing every line as malformed."""
        index = self.index
        if index is None or self._not_audit or not index.line_count:
            return self._not_audit
        if not finished and index.line_count < NOT_AUDIT_LINES:
            return False
        if bool((index.codes[:NOT_AUDIT_LINES] != CODE_MALFORMED).any()):
            return False
        self._not_audit = True
        self._stop_scan()
        self.follow_timer.stop()
        self.model.set_index(None)
        self._status = "not an audit trail: none of its first lines is an audit entry"
        self.detail.summary.setText(
            f"<b>{html.escape(index.path.name)} is not an audit trail.</b> An audit trail "
            "(tracker.events) has one JSON audit entry per line; open another file."
        )
        self._update_counts()
        return True

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
        return self.filters.current_filter()

    def apply_filter(self) -> None:
        self._filter_timer.stop()
        self.model.set_filter(self.current_filter())
        self._update_counts()

    def clear_filters(self) -> None:
        self.filters.clear()  # applies through `cleared`

    def _update_times(self) -> None:
        if self.index is not None and self.index.line_count:
            times = self.index.times
            self.filters.offer_times(times[0], times[-1])

    # -- counts and detail --------------------------------------------------------------

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
        if self._history_since:
            parts.append(f"history since {self._history_since}")
        if self._status:
            parts.append(self._status)
        self.count_label.setText(" · ".join(parts))

    def _selection_restored(self, found: bool) -> None:
        if not found:
            self.detail.clear()

    def _show_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = self.model.audit_row(current.row()) if current.isValid() else None
        if row is None:
            self.detail.clear()
            return
        self.show_row(row)

    def show_row(self, row: AuditRow) -> None:
        """Fill the detail pane with one row."""
        self.detail.show_row(row)

    # -- drag and drop ------------------------------------------------------------------

    def dragEnterEvent(self, event: Any) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            self.open_file(Path(urls[0].toLocalFile()))
            event.acceptProposedAction()


def _shortcut(
    parent: QWidget, text: str, key: QKeySequence.StandardKey, slot: Callable[[], object]
) -> QAction:
    action = QAction(text, parent)
    action.setShortcut(key)
    action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    action.triggered.connect(slot)
    return action


class AuditTab(Tab):
    """The audit trail tab: the browser on the tracker's `tracker.events`."""

    title = "Audit trail"
    shortcut = "Ctrl+2"

    def __init__(self, settings: Settings) -> None:
        self.browser = AuditBrowser(audit_path(settings))

    @property
    def widget(self) -> AuditBrowser:
        return self.browser

    def apply_settings(self, old: Settings, new: Settings) -> None:
        if new.log_dir != old.log_dir and audit_path(new).exists():
            self.browser.open_file(audit_path(new))

    def shutdown(self) -> None:
        self.browser.shutdown()

    def busy(self) -> bool:
        return self.browser.is_indexing()


def audit_path(settings: Settings) -> Path:
    return settings.log_dir / "tracker.events"
