"""Table model of dead-letter entries, and the proxy that filters it by reason and text."""

from __future__ import annotations

import bisect
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

from orderdesk.deadletters.copies import CopyIndex
from orderdesk.deadletters.entries import NOT_RECORDED, DeadLetterEntry
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

REASON_COLORS = {
    FailureReason.DESERIALIZATION_ERROR: "#8e44ad",
    FailureReason.VALIDATION_ERROR: "#c0392b",
    FailureReason.PROCESSING_ERROR: "#d35400",
    FailureReason.TIMEOUT_ERROR: "#b7950b",
    FailureReason.UNKNOWN_ERROR: "#7f8c8d",
}

_Index = QModelIndex | QPersistentModelIndex


class DeadLetterTableModel(QAbstractTableModel):
    """Dead-letter entries, one row each, newest copy of an id winning, kept sorted.

    The model sorts itself (`sort()`), and inserts each batch of new entries at their
    sorted places, so the filter proxy on top never sorts: sorting tens of thousands of
    rows through Qt's proxy costs a Python call per comparison, here it is one `list.sort`.

    Signals:
        counts_changed(): the number of entries per reason may have changed.
    """

    counts_changed = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._entries: list[DeadLetterEntry] = []
        #: Sort key of each row, parallel to `_entries`.
        self._keys: list[Any] = []
        self._by_id: dict[str, DeadLetterEntry] = {}
        self._copies = CopyIndex()
        self._replays: dict[str, int] = {}
        self._counts: dict[FailureReason, int] = dict.fromkeys(FailureReason, 0)
        self._sort_column = COL_TIME
        self._sort_order = Qt.SortOrder.DescendingOrder

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
        """Insert new entries at their sorted places; an id seen before replaces its row."""
        fresh: dict[str, DeadLetterEntry] = {}
        for entry in batch:
            if self._copies.add(entry) is not None:
                continue  # a second letter for the same original (a crash sent it twice)
            old = self._by_id.get(entry.id)
            if old is None:
                fresh[entry.id] = entry
                continue
            # Rare (a dead letter written twice): a linear search is fine.
            row = self._entries.index(old)
            self._entries[row] = entry
            self._by_id[entry.id] = entry
            self._counts[old.failure_reason] -= 1
            self._counts[entry.failure_reason] += 1
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        if fresh:
            keyed = sorted(((self._key(e), e) for e in fresh.values()), key=lambda pair: pair[0])
            self._insert_sorted(keyed)
        self.counts_changed.emit()

    def _insert_sorted(self, keyed: list[tuple[Any, DeadLetterEntry]]) -> None:
        # New entries going to the same place are inserted as one run: live arrivals
        # land together at the top (or bottom), so a batch is usually a single insert.
        i = 0
        while i < len(keyed):
            pos = bisect.bisect_right(self._keys, keyed[i][0])
            limit = self._keys[pos] if pos < len(self._keys) else None
            j = i + 1
            while j < len(keyed) and (limit is None or keyed[j][0] < limit):
                j += 1
            run = keyed[i:j]
            self.beginInsertRows(QModelIndex(), pos, pos + len(run) - 1)
            self._keys[pos:pos] = [k for k, _ in run]
            self._entries[pos:pos] = [e for _, e in run]
            for _, entry in run:
                self._by_id[entry.id] = entry
                self._counts[entry.failure_reason] += 1
            self.endInsertRows()
            i = j

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        if (column, order) == (self._sort_column, self._sort_order) and column != COL_REPLAYED:
            # Already in this order (rows are inserted in place); the view asks twice.
            return
        self._sort_column = column
        self._sort_order = order
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        before = [self._entries[p.row()] if p.isValid() else None for p in persistent]
        keyed = sorted(((self._key(e), e) for e in self._entries), key=lambda pair: pair[0])
        self._keys = [k for k, _ in keyed]
        self._entries = [e for _, e in keyed]
        rows = {id(e): row for row, e in enumerate(self._entries)}
        after = [
            self.index(rows[id(e)], p.column()) if e is not None else QModelIndex()
            for p, e in zip(persistent, before, strict=True)
        ]
        self.changePersistentIndexList(persistent, after)
        self.layoutChanged.emit()

    @property
    def sort_column(self) -> int:
        return self._sort_column

    @property
    def sort_order(self) -> Qt.SortOrder:
        return self._sort_order

    def clear(self) -> None:
        self.beginResetModel()
        self._entries.clear()
        self._keys.clear()
        self._by_id.clear()
        self._copies.clear()
        self._counts = dict.fromkeys(FailureReason, 0)
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

    def copies(self, entry: DeadLetterEntry) -> list[DeadLetterEntry]:
        """Every dead letter read for `entry`'s original message (the row shows the first)."""
        return self._copies.copies(entry)

    def entries(self) -> list[DeadLetterEntry]:
        return list(self._entries)

    def reason_counts(self) -> dict[FailureReason, int]:
        return dict(self._counts)

    # -- helpers ---------------------------------------------------------------------------

    def _display(self, entry: DeadLetterEntry, col: int) -> str:
        if col == COL_TIME:
            if entry.timestamp is None:
                return NOT_RECORDED
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

    def _key(self, entry: DeadLetterEntry) -> Any:
        key = self._sort_value(entry, self._sort_column)
        return _Descending(key) if self._sort_order == Qt.SortOrder.DescendingOrder else key

    def _sort_value(self, entry: DeadLetterEntry, col: int) -> Any:
        # Every key ends with the dead letter's own coordinates: ties keep topic order.
        where = (entry.dlq_partition, entry.dlq_offset)
        if col == COL_TIME:
            return (entry.timestamp.timestamp() if entry.timestamp else 0.0, *where)
        if col == COL_ORIGINAL:
            part = -1 if entry.original_partition is None else entry.original_partition
            off = -1 if entry.original_offset is None else entry.original_offset
            return (entry.original_topic or "", part, off, *where)
        if col == COL_RETRIES:
            return (entry.retry_count, *where)
        if col == COL_REPLAYED:
            return (self.replays(entry.id), *where)
        return (self._display(entry, col).casefold(), *where)


class _Descending:
    """Reverses the order of a sort key, so one ascending list serves both directions."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key

    def __lt__(self, other: _Descending) -> bool:
        return other.key < self.key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)


class DeadLetterFilterModel(QSortFilterProxyModel):
    """Shows the entries of one failure reason (or all) whose text matches."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._reason: FailureReason | None = None
        self._text = ""
        self._replayed: bool | None = None
        #: Entry ids discarded from view (the topic keeps them; Reload shows them again).
        self._hidden: set[str] = set()

    def hide_ids(self, ids: set[str]) -> None:
        """Leave these entries out of the view (nothing is deleted from the topic)."""
        self._change_filter(lambda: self._hidden.update(ids))

    def show_hidden(self) -> None:
        self._change_filter(self._hidden.clear)

    @property
    def hidden_count(self) -> int:
        return len(self._hidden)

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

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting is the source model's (see `DeadLetterTableModel`); rows keep its order."""
        model = self.sourceModel()
        if model is not None:
            model.sort(column, order)

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        model = self.sourceModel()
        if not isinstance(model, DeadLetterTableModel):
            return True
        entry = model.entry(source_row)
        if self._hidden and entry.id in self._hidden:
            return False
        if self._reason is not None and entry.failure_reason is not self._reason:
            return False
        if self._replayed is not None and bool(model.replays(entry.id)) != self._replayed:
            return False
        return not self._text or entry.matches(self._text)
