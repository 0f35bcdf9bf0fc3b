"""The dead-letter inbox: browse, filter, inspect, fix and republish dead letters.

The reader and the republisher run on threads of their own (`reading`, `bulk`); the inbox
takes the reader's entries in batches from a timer, so a topic of many thousands of dead
letters costs the event loop a few batch inserts, not one signal per message, and none
while the inbox is out of sight (they go in once it is shown). Replays are
recorded in the ledger (`orderdesk.deadletters.ledger`), which the inbox re-reads when it
changes, so 'Replayed' also shows what another OrderDesk (or `orderdesk dlq republish`)
of the same user did.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from orderdesk.config import Settings
from orderdesk.deadletters.entries import DeadLetterEntry
from orderdesk.deadletters.ledger import ReplayLedger
from orderdesk.domain import FailureReason
from orderdesk.gui.deadletters.bulk import (
    RepublishBar,
    RepublishJob,
)
from orderdesk.gui.deadletters.details import TAB_EDIT, DeadLetterDetails
from orderdesk.gui.deadletters.model import DeadLetterFilterModel, DeadLetterTableModel, EntryRole
from orderdesk.gui.deadletters.reading import TopicFollower
from orderdesk.gui.deadletters.reasons import ReasonTabs
from orderdesk.gui.deadletters.republishing import RepublishFlow
from orderdesk.gui.deadletters.table import dead_letter_table
from orderdesk.gui.deadletters.workers import STOP_WAIT_MS
from orderdesk.gui.tab import Tab

__all__ = ["TAB_EDIT", "DeadLetterInbox", "DeadLettersTab"]

#: Milliseconds of quiet typing before the text filter applies.
SEARCH_DELAY_MS = 150
#: Milliseconds after the selection settles before its valid orders are counted.
VALID_DELAY_MS = 120
#: Most selected entries whose payloads are checked for the bar's "valid" count.
VALID_COUNT_LIMIT = 5_000
#: How often the ledger is checked for replays made elsewhere.
LEDGER_INTERVAL_MS = 2_000


class DeadLetterInbox(RepublishFlow, QWidget):
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
        self._reader_error = ""
        self._current: DeadLetterEntry | None = None
        self._details_stale = False
        self.follower = TopicFollower(self)
        # Out of sight, rows wait in the reader's feed: inserting them costs the event loop
        # some milliseconds a tick that nobody sees (tens while the services run flat out).
        self.follower.is_hidden = self._out_of_sight
        self.follower.entries.connect(self._add_entries)
        self.follower.caught_up.connect(self._caught_up)
        self.follower.failed.connect(self._reader_failed)
        self.job = RepublishJob(self)
        self.job.progress.connect(
            lambda done, total, line: self.bar.show_progress(done, total, line)
        )
        self.job.done.connect(self._republish_done)
        self.job.failed.connect(self._republish_failed)
        self.job.ended.connect(self._republish_ended)

        #: How many of the selected entries are valid orders the guards let through, worked
        #: out a moment after the selection settles (None until then).
        self.valid_selected: int | None = None
        self._selection_key: frozenset[str] = frozenset()
        self._valid_timer = QTimer(self)
        self._valid_timer.setSingleShot(True)
        self._valid_timer.setInterval(VALID_DELAY_MS)
        self._valid_timer.timeout.connect(self._count_valid)

        self.model = DeadLetterTableModel(self)
        self.proxy = DeadLetterFilterModel(self)
        self.proxy.setSourceModel(self.model)
        self._build()
        self.model.counts_changed.connect(self._update_reason_counts)
        self.model.rowsInserted.connect(self._update_status)
        self.proxy.rowsInserted.connect(self._update_selection_state)
        self.proxy.rowsRemoved.connect(self._update_selection_state)
        self.proxy.modelReset.connect(self._update_selection_state)

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

        # The status line has a row of its own: a long reason (a cluster that does not
        # answer) wraps there instead of squeezing the filter box.
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.replayed_filter)
        top.addWidget(self.reload_button)

        self.reasons = ReasonTabs(self)
        self.reasons.currentChanged.connect(self._filter_reason)
        self.table = dead_letter_table(self.proxy, self)
        self.table.selectionModel().selectionChanged.connect(self._update_selection_state)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.details = DeadLetterDetails(self)
        self.details.republish_requested.connect(self.republish_current)
        # The detail widgets, for scripts and tests.
        self.tabs, self.editor = self.details.tabs, self.details.editor
        self.target_topic, self.again_box = self.details.target_topic, self.details.again_box

        right = QSplitter(Qt.Orientation.Vertical, self)
        right.addWidget(self.table)
        right.addWidget(self.details)
        # The list takes at least half the height; the details the rest.
        right.setStretchFactor(0, 1)
        right.setStretchFactor(1, 1)
        right.setSizes([1000, 1000])  # halves, as far as the details' minimum allows
        self.splitter = right
        right.setChildrenCollapsible(False)

        self.bar: RepublishBar = RepublishBar(self)
        self.bar.republish_selected.connect(self.republish_selected)
        self.bar.republish_valid.connect(self.republish_valid)
        self.bar.discard.connect(self.discard_selected)
        self.bar.show_discarded.connect(self.show_discarded)
        self.bar.select_all.connect(self.table.selectAll)
        self.bar.cancel.connect(self.cancel_republish)
        self.summary, self.bulk_button = self.bar.summary, self.bar.bulk_button

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.reasons)
        layout.addWidget(self.status)
        layout.addWidget(right, 1)
        layout.addWidget(self.bar)
        self._show_entry(None)

    # -- reader ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start reading the dead-letter topic from the beginning (no-op when running)."""
        if self.follower.reading:
            return
        self._reader_error = ""
        self.follower.start(self.settings)
        self._ledger_timer.start()
        self._update_status()

    def stop_reader(self) -> None:
        """Ask the reader to stop and forget it; returns at once (`busy` until it ended)."""
        self.follower.stop()
        self._update_status()

    def reload(self) -> None:
        """Forget what was read and read the topic again from the beginning."""
        self.stop_reader()
        self.proxy.show_hidden()
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
        self._valid_timer.stop()
        self.job.cancel()
        self.stop_reader()

    @property
    def busy(self) -> bool:
        """Whether a reader or republish thread of this inbox is still running."""
        return self.follower.busy or self.job.is_running()

    def wait_stopped(self, timeout_ms: int = STOP_WAIT_MS) -> bool:
        """Block until every thread of the inbox has ended (after `shutdown()`)."""
        return self.follower.wait_stopped(timeout_ms) and self.job.wait(timeout_ms)

    @property
    def is_caught_up(self) -> bool:
        return self.follower.is_caught_up

    def drain(self) -> None:
        """Move what the reader has read into the table."""
        self.follower.drain()

    def _add_entries(self, entries: list[DeadLetterEntry]) -> None:
        self.model.add_entries(entries)
        if self._current is None and self.proxy.rowCount() > 0:
            self.table.selectRow(0)

    def _caught_up(self) -> None:
        self._update_status()
        self.caught_up.emit()

    def _reader_failed(self, message: str) -> None:
        self._reader_error = message
        self._update_status()

    def refresh_replays(self) -> None:
        self.model.set_replays(self.ledger.replayed_ids(self.settings.topics.dlq))
        if self._current is not None and not self._details_stale:
            self.details.show_replays(self._history(self._current))

    def _history(self, entry: DeadLetterEntry) -> list[Any]:
        return self.ledger.history(entry.dlq_topic, entry.id)

    # -- filters and selection -------------------------------------------------------------

    def _update_reason_counts(self) -> None:
        self.reasons.set_counts(self.model.reason_counts())

    def set_reason_filter(self, reason: FailureReason | None) -> None:
        self.reasons.select(reason)

    def reason_counts_shown(self) -> list[str]:
        """The reason tabs' texts, as the user reads them."""
        return self.reasons.texts()

    def _filter_reason(self, index: int) -> None:
        self.proxy.set_reason(self.reasons.reason_at(index) if index >= 0 else None)
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
        entries = self.selected_entries()
        count = len(entries)
        key = frozenset(e.id for e in entries)
        if key != self._selection_key:
            self._selection_key = key
            self.valid_selected = None if entries else 0
            if entries and count <= VALID_COUNT_LIMIT:
                self._valid_timer.start()
        busy = self.job.busy
        self.bar.set_selection(
            count, self.proxy.rowCount(), busy, self.valid_selected, self.proxy.hidden_count
        )
        self.details.set_actions_enabled(self._current is not None, busy)
        self._update_status()

    def _count_valid(self) -> None:
        """The bar's "valid m": the bulk plan's valid group for the current selection."""
        entries = self.selected_entries()
        self.valid_selected = len(self._plan(entries).valid) if entries else 0
        self._update_selection_state()

    def discard_selected(self) -> None:
        """Hide the selected entries from the view (the topic keeps them)."""
        ids = {e.id for e in self.selected_entries()}
        if ids:
            self.table.clearSelection()
            self.proxy.hide_ids(ids)
            self._update_selection_state()

    def show_discarded(self) -> None:
        self.proxy.show_hidden()
        self._update_selection_state()

    def _update_status(self, *_args: Any) -> None:
        topic = html.escape(self.settings.topics.dlq)
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        if self._reader_error:
            text = (
                f"<span style='color:#c0392b'><b>Cannot read {topic}:</b> "
                f"{html.escape(self._reader_error)}</span>"
            )
        elif not self.follower.reading:
            text = f"{total:,} dead letters in <b>{topic}</b> (not reading)"
        elif not self.follower.is_caught_up:
            text = f"Reading <b>{topic}</b>… {total:,} so far"
        else:
            text = f"{total:,} dead letters in <b>{topic}</b> · following live"
        if shown != total:
            text += f" · {shown:,} shown"
        self.status.setText(text)

    # -- details ---------------------------------------------------------------------------

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        entry = self.proxy.data(current, EntryRole) if current.isValid() else None
        if self._out_of_sight():
            # A tab not shown: the details (editor, validation, diff) are filled when it is.
            if entry is not self._current and not self.job.busy:
                self.bar.clear_summary()
            self._current = entry
            self._details_stale = True
            return
        self._show_entry(entry)

    def _out_of_sight(self) -> bool:
        return self.parentWidget() is not None and self.isHidden()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.follower.catch_up()  # what was read while hidden, a first chunk at once
        if self._details_stale:
            self._show_entry(self._current)

    def current_entry(self) -> DeadLetterEntry | None:
        return self._current

    def _show_entry(self, entry: DeadLetterEntry | None) -> None:
        if entry is not self._current and not self.job.busy:
            self.bar.clear_summary()  # the last outcome was about another entry
        self._current = entry
        self._details_stale = False
        self.details.show_entry(
            entry,
            self._history(entry) if entry is not None else (),
            self.model.copies(entry) if entry is not None else (),
        )
        self._update_selection_state()


class DeadLettersTab(Tab):
    """The dead-letter tab: the inbox on the settings' dead-letter topic."""

    title = "Dead letters"
    shortcut = "Ctrl+3"

    def __init__(self, settings: Settings) -> None:
        self.inbox = DeadLetterInbox(settings)

    @property
    def widget(self) -> DeadLetterInbox:
        return self.inbox

    def apply_settings(self, old: Settings, new: Settings) -> None:
        moved = (new.kafka, new.topics.dlq, new.log_dir) != (old.kafka, old.topics.dlq, old.log_dir)
        if moved:
            self.inbox.apply_settings(new)  # reads the new cluster's dead letters

    def shutdown(self) -> None:
        self.inbox.shutdown()

    def busy(self) -> bool:
        return self.inbox.busy
