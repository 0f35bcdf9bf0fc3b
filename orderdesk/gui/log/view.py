"""The live technical log: a bounded table model, a level filter and a view that follows."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from orderdesk.domain import LogEntry, LogLevel

#: Lines kept in the view; the oldest go first.
DEFAULT_CAPACITY = 5_000
#: How far back from the newest row an entry that arrived late is put in its place.
LATE_ROWS = 500
#: Characters of an entry's metadata shown in its row (all of it is in the tooltip).
INLINE_CHARS = 240

LEVEL_ORDER = {level: i for i, level in enumerate(LogLevel)}
LEVEL_COLORS = {
    LogLevel.DEBUG: QColor("#7a7a7a"),
    LogLevel.WARNING: QColor("#b26a00"),
    LogLevel.ERROR: QColor("#c62828"),
    LogLevel.CRITICAL: QColor("#8e0000"),
}

_Index = QModelIndex | QPersistentModelIndex


class LogModel(QAbstractTableModel):
    """Log entries over a bounded deque; appending past capacity removes the oldest rows."""

    COLUMNS = ("Time", "Level", "Service", "Message")
    LEVEL_ROLE = Qt.ItemDataRole.UserRole + 1

    def __init__(self, capacity: int = DEFAULT_CAPACITY, parent: Any = None) -> None:
        super().__init__(parent)
        self.capacity = capacity
        self._rows: deque[LogEntry] = deque()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.COLUMNS)
        ):
            return self.COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        entry = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return entry.timestamp.astimezone().strftime("%H:%M:%S.%f")[:-3]
            if col == 1:
                return entry.level.value
            if col == 2:
                return entry.service
            if col == 3:
                return format_message(entry)
        elif role == Qt.ItemDataRole.ToolTipRole and col == 3:
            return format_message(entry, with_metadata=True)
        elif role == Qt.ItemDataRole.ForegroundRole:
            return LEVEL_COLORS.get(entry.level)
        elif role == Qt.ItemDataRole.FontRole and entry.level in (
            LogLevel.ERROR,
            LogLevel.CRITICAL,
        ):
            font = QFont()
            font.setBold(True)
            return font
        elif role == self.LEVEL_ROLE:
            return LEVEL_ORDER[entry.level]
        return None

    def append(self, entries: Iterable[LogEntry]) -> None:
        """Add a batch in time order, dropping the oldest rows beyond capacity.

        Entries of different services arrive in batches drained one service after the
        other, so an entry may be older than the newest row: it goes in at its place.
        """
        batch = sorted(entries, key=_when)[-self.capacity :] if self.capacity else []
        if not batch:
            return
        overflow = len(self._rows) + len(batch) - self.capacity
        if overflow > 0:
            self.beginRemoveRows(QModelIndex(), 0, overflow - 1)
            for _ in range(overflow):
                self._rows.popleft()
            self.endRemoveRows()
        rows = self._rows
        late = 0
        while late < len(batch) and rows and _when(batch[late]) < _when(rows[-1]):
            entry = batch[late]
            i = len(rows)
            while i > 0 and len(rows) - i < LATE_ROWS and _when(rows[i - 1]) > _when(entry):
                i -= 1
            self.beginInsertRows(QModelIndex(), i, i)
            rows.insert(i, entry)
            self.endInsertRows()
            late += 1
        rest = batch[late:]
        if rest:
            first = len(rows)
            self.beginInsertRows(QModelIndex(), first, first + len(rest) - 1)
            rows.extend(rest)
            self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self.endResetModel()

    def entry(self, row: int) -> LogEntry:
        return self._rows[row]


def _when(entry: LogEntry) -> datetime:
    return entry.timestamp


def format_message(entry: LogEntry, with_metadata: bool = False) -> str:
    """The message; its metadata (the values of a "metrics" line) inline, or one per line
    for the tooltip."""
    text = entry.message
    if entry.error:
        text += f": {entry.error}"
    if entry.metadata:
        first = next(iter(entry.metadata))
        if with_metadata:
            text += "\n" + "\n".join(f"{k}: {v}" for k, v in entry.metadata.items())
        elif f"{first}=" not in text:  # a message that lists its values itself
            inline = "  ".join(f"{k}={_short(v)}" for k, v in entry.metadata.items())
            text += (
                f" · {inline}" if len(inline) <= INLINE_CHARS else f" · {inline[:INLINE_CHARS]}…"
            )
    return text


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


class LogFilterProxy(QSortFilterProxyModel):
    """Keeps rows at or above a minimum level whose text contains the search string."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._min_level = 0
        self._text = ""

    def set_min_level(self, level: LogLevel) -> None:
        self._change_filter("_min_level", LEVEL_ORDER[level])

    def set_text(self, text: str) -> None:
        self._change_filter("_text", text.strip().lower())

    def _change_filter(self, attr: str, value: Any) -> None:
        # Qt 6.10 replaced invalidateRowsFilter() by a begin/end pair around the change.
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()
            setattr(self, attr, value)
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            setattr(self, attr, value)
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        model = self.sourceModel()
        if not isinstance(model, LogModel):
            return True
        entry = model.entry(source_row)
        if LEVEL_ORDER[entry.level] < self._min_level:
            return False
        if self._text:
            haystack = f"{entry.service} {format_message(entry, with_metadata=True)}".lower()
            return self._text in haystack
        return True


class LogView(QWidget):
    """The live log panel: level filter, text filter, follow-tail and clear."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LogModel(capacity, self)
        self.proxy = LogFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.dropped = 0

        self.level_box = QComboBox()
        for level in LogLevel:
            self.level_box.addItem(level.value, level)
        self.level_box.setCurrentIndex(LEVEL_ORDER[LogLevel.INFO])
        self.level_box.currentIndexChanged.connect(self._level_changed)
        self.proxy.set_min_level(LogLevel.INFO)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter log lines…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.set_text)
        self.count_label = QLabel()
        clear = QPushButton("Clear")
        clear.clicked.connect(self.clear)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Live log"))
        bar.addSpacing(12)
        bar.addWidget(QLabel("Level ≥"))
        bar.addWidget(self.level_box)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.count_label)
        bar.addWidget(clear)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(0, 95)
        self.table.setColumnWidth(1, 75)
        self.table.setColumnWidth(2, 80)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.table)
        self._update_count()

    def append(self, entries: Iterable[LogEntry], dropped: int = 0) -> None:
        """Add a batch; follows the tail when the view was already at the bottom."""
        entries = list(entries)
        self.dropped += dropped
        if not entries and not dropped:
            return
        bar = self.table.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 2
        self.model.append(entries)
        if at_bottom:
            self.table.scrollToBottom()
        self._update_count()

    def clear(self) -> None:
        self.model.clear()
        self.dropped = 0
        self._update_count()

    def _level_changed(self, _index: int) -> None:
        self.proxy.set_min_level(self.level_box.currentData())
        self._update_count()

    def _update_count(self) -> None:
        text = f"{self.proxy.rowCount()} / {self.model.rowCount()} lines"
        if self.dropped:
            text += f" ({self.dropped} dropped under load)"
        self.count_label.setText(text)
