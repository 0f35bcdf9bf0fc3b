"""Table model of dead-letter entries, and the proxy that filters it by reason and text."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor

from orderdesk.dlq.entries import DeadLetterEntry
from orderdesk.domain import FailureReason

COLUMNS = (
    "Time",
    "Failure reason",
    "Error",
    "Original",
    "Key",
    "Retries",
    "Replayed",
)
COL_TIME, COL_REASON, COL_ERROR, COL_ORIGINAL, COL_KEY, COL_RETRIES, COL_REPLAYED = range(7)

#: The entry of a row, for any column.
EntryRole = Qt.ItemDataRole.UserRole + 1
#: A value that sorts naturally (numbers as numbers, times as timestamps).
SortRole = Qt.ItemDataRole.UserRole + 2

REASON_COLORS = {
    FailureReason.DESERIALIZATION_ERROR: "#8e44ad",
    FailureReason.VALIDATION_ERROR: "#c0392b",
    FailureReason.PROCESSING_ERROR: "#d35400",
    FailureReason.TIMEOUT_ERROR: "#b7950b",
    FailureReason.UNKNOWN_ERROR: "#7f8c8d",
}

_Index = QModelIndex | QPersistentModelIndex


class DeadLetterTableModel(QAbstractTableModel):
    """Dead-letter entries in arrival order, one row each, newest copy of an id winning.

    Signals:
        counts_changed(): the number of entries per reason may have changed.
    """

    counts_changed = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._entries: list[DeadLetterEntry] = []
        self._rows: dict[str, int] = {}
        self._replays: dict[str, int] = {}

    # -- Qt model --------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole and section == COL_ORIGINAL:
            return "Where the failed message was: topic[partition]@offset"
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(entry, col)
        if role == EntryRole:
            return entry
        if role == SortRole:
            return self._sort_value(entry, col)
        if role == Qt.ItemDataRole.ToolTipRole and col == COL_ERROR:
            return entry.error_message
        if role == Qt.ItemDataRole.ForegroundRole and col == COL_REASON:
            return QBrush(QColor(REASON_COLORS.get(entry.failure_reason, "#7f8c8d")))
        if role == Qt.ItemDataRole.ToolTipRole and col == COL_KEY:
            return entry.original_key
        if role == Qt.ItemDataRole.TextAlignmentRole and col == COL_RETRIES:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    # -- content ---------------------------------------------------------------------------

    def add_entries(self, batch: Iterable[DeadLetterEntry]) -> None:
        """Append new entries; an id seen before replaces its row in place."""
        new: list[DeadLetterEntry] = []
        for entry in batch:
            row = self._rows.get(entry.id)
            if row is not None:
                self._entries[row] = entry
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
                continue
            pending = next((i for i, e in enumerate(new) if e.id == entry.id), None)
            if pending is not None:
                new[pending] = entry
            else:
                new.append(entry)
        if new:
            first = len(self._entries)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for entry in new:
                self._rows[entry.id] = len(self._entries)
                self._entries.append(entry)
            self.endInsertRows()
        self.counts_changed.emit()

    def clear(self) -> None:
        self.beginResetModel()
        self._entries.clear()
        self._rows.clear()
        self.endResetModel()
        self.counts_changed.emit()

    def set_replays(self, replays: dict[str, int]) -> None:
        """Entry id -> number of acknowledged replays (from the ledger)."""
        if replays == self._replays:
            return
        self._replays = dict(replays)
        if self._entries:
            self.dataChanged.emit(
                self.index(0, COL_REPLAYED), self.index(len(self._entries) - 1, COL_REPLAYED)
            )

    def replays(self, entry_id: str) -> int:
        return self._replays.get(entry_id, 0)

    def entry(self, row: int) -> DeadLetterEntry:
        return self._entries[row]

    def entries(self) -> list[DeadLetterEntry]:
        return list(self._entries)

    def reason_counts(self) -> dict[FailureReason, int]:
        counts = dict.fromkeys(FailureReason, 0)
        for entry in self._entries:
            counts[entry.failure_reason] += 1
        return counts

    # -- helpers ---------------------------------------------------------------------------

    def _display(self, entry: DeadLetterEntry, col: int) -> str:
        if col == COL_TIME:
            if entry.timestamp is None:
                return "–"
            return entry.timestamp.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        if col == COL_REASON:
            return entry.failure_reason.value
        if col == COL_ERROR:
            return " ".join(entry.error_message.split())[:300]
        if col == COL_ORIGINAL:
            return entry.original_coordinates
        if col == COL_KEY:
            return entry.original_key if entry.original_key is not None else "–"
        if col == COL_RETRIES:
            return str(entry.retry_count)
        if col == COL_REPLAYED:
            count = self.replays(entry.id)
            return f"yes ×{count}" if count > 1 else ("yes" if count else "no")
        return ""

    def _sort_value(self, entry: DeadLetterEntry, col: int) -> Any:
        if col == COL_TIME:
            return entry.timestamp.timestamp() if entry.timestamp else 0.0
        if col == COL_ORIGINAL:
            # Zero-padded so that text order is topic, then partition, then offset.
            part = -1 if entry.original_partition is None else entry.original_partition
            off = -1 if entry.original_offset is None else entry.original_offset
            return f"{entry.original_topic or ''}\x00{part + 1:010d}{off + 1:020d}"
        if col == COL_RETRIES:
            return entry.retry_count
        if col == COL_REPLAYED:
            return self.replays(entry.id)
        return self._display(entry, col)


class DeadLetterFilterModel(QSortFilterProxyModel):
    """Shows the entries of one failure reason (or all) whose text matches."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._reason: FailureReason | None = None
        self._text = ""
        self._replayed: bool | None = None
        self.setSortRole(SortRole)

    def set_reason(self, reason: FailureReason | None) -> None:
        self._change_filter(lambda: setattr(self, "_reason", reason))

    def set_text(self, text: str) -> None:
        self._change_filter(lambda: setattr(self, "_text", text.strip()))

    def set_replayed(self, replayed: bool | None) -> None:
        """True: only replayed entries, False: only those never replayed, None: all."""
        self._change_filter(lambda: setattr(self, "_replayed", replayed))

    def _change_filter(self, change: Callable[[], None]) -> None:
        # Qt 6.10 replaced invalidateRowsFilter() by a begin/end pair around the change.
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()
            change()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            change()
            self.invalidateRowsFilter()

    @property
    def reason(self) -> FailureReason | None:
        return self._reason

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        model = self.sourceModel()
        if not isinstance(model, DeadLetterTableModel):
            return True
        entry = model.entry(source_row)
        if self._reason is not None and entry.failure_reason is not self._reason:
            return False
        if self._replayed is not None and bool(model.replays(entry.id)) != self._replayed:
            return False
        return not self._text or entry.matches(self._text)
