"""The audit trail browser: `tracker.events` (live or any file) as a filterable table.

The file is indexed and followed by an `AuditFollower` (follow.py): in the background, a
block at a time, so the first rows show at once and a million lines never freeze the
window. The table (table.py) keeps the newest line in view while following; the filter
bar (filters.py) and the detail pane (detail.py) are widgets of their own.
"""

from __future__ import annotations

import html
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

from orderdesk.audit.index import AuditFilter, AuditIndex, AuditRow
from orderdesk.audit.trail import history_start
from orderdesk.config import Settings
from orderdesk.gui.audit.detail import AuditDetail
from orderdesk.gui.audit.filters import AuditFilterBar
from orderdesk.gui.audit.follow import AuditFollower
from orderdesk.gui.audit.model import AuditModel
from orderdesk.gui.audit.table import AuditTable
from orderdesk.gui.tab import Tab

_FILTER_DELAY_MS = 250


class AuditBrowser(QWidget):
    """Browse, filter and follow an audit trail file.

    Signals:
        file_opened(object): the Path now shown.
    """

    file_opened = Signal(object)

    def __init__(self, path: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.model = AuditModel(parent=self)
        self.follower = AuditFollower(self.model, self)
        self.follower.is_hidden = self._out_of_sight
        self.follow_timer = self.follower.follow_timer
        #: When the oldest kept audit line was written (retention removes older files).
        self._history_since = ""
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(_FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.apply_filter)

        self._build()
        self.follower.changed.connect(self._update_counts)
        self.follower.progress.connect(self._show_progress)
        self.follower.grew.connect(self._update_times)
        self.follower.reset.connect(self.detail.clear)
        self.follower.refused.connect(self._refused)
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
    def index(self) -> AuditIndex | None:
        return self.follower.index

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
        path = Path(path)
        if self.index is not None and path != self.index.path:
            self.filters.clear()
        self.path_label.setText(str(path))
        # Retention removes the oldest rotated files: say from when history is kept.
        since = history_start(path)
        self._history_since = "" if since is None else since.astimezone().strftime("%Y-%m-%d %H:%M")
        self.path_label.setToolTip(
            str(path) + (f"\nAudit history kept since {self._history_since}" if since else "")
        )
        self.detail.clear()
        self.follower.open(path)
        self.file_opened.emit(path)
        self.set_follow(self.follow_box.isChecked())
        self._update_counts()

    def reload(self) -> None:
        self.follower.reindex()

    def set_follow(self, on: bool) -> None:
        """Follow the file as it grows (and is rotated), or leave it as indexed."""
        if self.follow_box.isChecked() != on:
            self.follow_box.setChecked(on)  # re-enters through toggled
            return
        self.table.follow(on)
        self.follower.follow(on)

    def poll_file(self) -> None:
        """Check the file once: index what was added, start over if it was replaced."""
        self.follower.poll()

    def is_indexing(self) -> bool:
        return self.follower.is_indexing()

    def _show_progress(self, per_mille: int) -> None:
        self.progress.setVisible(per_mille >= 0)
        if per_mille >= 0:
            self.progress.setValue(per_mille)

    def _refused(self, name: str) -> None:
        self.detail.summary.setText(
            f"<b>{html.escape(name)} is not an audit trail.</b> An audit trail "
            "(tracker.events) has one JSON audit entry per line; open another file."
        )

    def _out_of_sight(self) -> bool:
        """Hidden inside a window (a tab not shown): indexing waits until it is shown."""
        return self.parentWidget() is not None and self.isHidden()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.follower.poll()  # catch up with what the file grew by while hidden

    def shutdown(self) -> None:
        """Stop indexing and following; the host calls it before the widget goes away."""
        self._filter_timer.stop()
        self.follower.shutdown()

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

    def _update_counts(self) -> None:
        lines = self.index.line_count if self.index is not None else 0
        shown = self.model.rowCount()
        parts = [f"{lines:,} lines"]
        if not self.model.audit_filter.is_empty():
            parts.append(f"{shown:,} shown")
        if self.model.is_filtering():
            parts.append(f"filtering {self.model.progress:.0%}")
        if self.follower.is_indexing():
            parts.append("indexing…")
        if self._history_since:
            parts.append(f"history since {self._history_since}")
        if self.follower.status:
            parts.append(self.follower.status)
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
