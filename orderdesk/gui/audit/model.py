"""Table model of the audit trail: a view over `AuditIndex`, rows parsed only when shown.

The model holds no rows. Its row r is line `view[r]` of the index (or line r when no
filter is set); `data()` asks the index, which parses the line and keeps it in a small LRU
cache. Lines indexed later are appended with `beginInsertRows`, through the filter when one
is set. A filter runs in slices from the event loop (`AuditIndex.iter_matching`), so
typing in a filter box never freezes the window, and the old rows stay on screen until the
new ones are ready.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor

from orderdesk.audit.index import MALFORMED, AuditFilter, AuditIndex, AuditRow

ModelIndex = QModelIndex | QPersistentModelIndex

COLUMNS = ("Line", "Time (UTC)", "Event", "Order ID", "Partition/offset", "Status", "Error")
COL_LINE, COL_TIME, COL_EVENT, COL_ORDER, COL_POSITION, COL_STATUS, COL_ERROR = range(7)

#: The row's AuditRow, for the detail pane.
RowRole = Qt.ItemDataRole.UserRole + 1

_EVENT_COLOURS = {
    "order.validated": QColor("#2e7d32"),
    "order.retried": QColor("#b26a00"),
    "order.rejected": QColor("#c62828"),
    "order.dead_lettered": QColor("#8e24aa"),
    MALFORMED: QColor("#c62828"),
}
_PREFETCH = 64  # rows parsed together when the view scrolls onto unparsed lines
_STEP_BUDGET_S = 0.012  # time a filter may take from one event-loop pass


def short_time(stamp: str) -> str:
    """`2026-11-25T08:00:00.000508Z` -> `2026-11-25 08:00:00.000` (milliseconds are enough)."""
    if len(stamp) >= 19 and stamp[10] == "T":
        head = stamp[:10] + " " + stamp[11:19]
        frac = stamp[19:].rstrip("Zz")
        if frac.startswith("."):
            return head + frac[:4]
        return head + frac if frac else head
    return stamp


class AuditModel(QAbstractTableModel):
    """Rows of one audit file, all of them or those passing a filter.

    Signals:
        filtering(bool): a filter started or finished running.
        counts_changed(): the number of rows or of indexed lines changed.
    """

    filtering = Signal(bool)
    counts_changed = Signal()

    def __init__(self, index: AuditIndex | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._index = index
        self._filter = AuditFilter()
        # None: every line is a row. Otherwise the line numbers shown, ascending.
        self._view: np.ndarray | None = None
        self._rows = 0
        self._covered = 0  # lines of the index the rows account for
        self._job: Generator[float, None, np.ndarray] | None = None
        self._job_range = (0, 0)
        self._job_replaces = False
        self.progress = 1.0
        self._pump = QTimer(self)
        self._pump.setInterval(0)
        self._pump.timeout.connect(self._step)

    # -- what is shown ------------------------------------------------------------------

    @property
    def index_(self) -> AuditIndex | None:
        return self._index

    @property
    def audit_filter(self) -> AuditFilter:
        return self._filter

    def is_filtering(self) -> bool:
        return self._job is not None

    def line_of(self, row: int) -> int:
        return row if self._view is None else int(self._view[row])

    def row_of_line(self, line: int) -> int | None:
        """The table row that shows `line`, if the filter keeps it."""
        if self._view is None:
            return line if line < self._rows else None
        pos = int(np.searchsorted(self._view, line))
        return pos if pos < len(self._view) and self._view[pos] == line else None

    def audit_row(self, row: int) -> AuditRow | None:
        if self._index is None or not 0 <= row < self._rows:
            return None
        return self._index.row(self.line_of(row))

    def set_index(self, index: AuditIndex | None) -> None:
        """Show another file (or none); the filter stays."""
        self._cancel()
        self.beginResetModel()
        self._index = index
        self._view = None if self._filter.is_empty() else np.empty(0, np.int64)
        self._rows = 0
        self._covered = 0
        self.endResetModel()
        self.counts_changed.emit()
        self.sync()

    def reset_lines(self) -> None:
        """The index was emptied (file rotated or truncated): drop every row."""
        self.set_index(self._index)

    def set_filter(self, flt: AuditFilter) -> None:
        """Show only the lines passing `flt` (computed in slices; old rows stay meanwhile)."""
        if flt == self._filter:
            return
        self._cancel()
        self._filter = flt
        if flt.is_empty():
            self.beginResetModel()
            self._view = None
            self._covered = self._rows = self._index.line_count if self._index else 0
            self.endResetModel()
            self.counts_changed.emit()
            return
        self._start(0, self._index.line_count if self._index else 0, replaces=True)

    def sync(self) -> None:
        """Show the lines indexed since the last call (through the filter, if any)."""
        if self._index is None or self._job is not None:
            return  # a running filter job catches up when it ends
        total = self._index.line_count
        if total <= self._covered:
            return
        if self._view is None:
            self.beginInsertRows(QModelIndex(), self._rows, total - 1)
            self._rows = self._covered = total
            self.endInsertRows()
            self.counts_changed.emit()
        else:
            self._start(self._covered, total, replaces=False)

    def wait_idle(self) -> None:
        """Finish a running filter at once (tests, benchmarks)."""
        while self._job is not None:
            self._step(budget=1e9)

    # -- filter jobs --------------------------------------------------------------------

    def _start(self, first: int, last: int, replaces: bool) -> None:
        assert self._index is not None or first == last
        if self._index is None:
            return
        self._job = self._index.iter_matching(self._filter, first, last)
        self._job_range = (first, last)
        self._job_replaces = replaces
        self.progress = 0.0
        self.filtering.emit(True)
        self._step()  # small jobs (a few appended lines) finish right here
        if self._job is not None:
            self._pump.start()

    def _cancel(self) -> None:
        if self._job is not None:
            self._job.close()  # releases the file map now, not at garbage collection
            self._job = None
            self._pump.stop()
            self.progress = 1.0
            self.filtering.emit(False)

    def _step(self, budget: float = _STEP_BUDGET_S) -> None:
        job = self._job
        if job is None:
            self._pump.stop()
            return
        deadline = time.perf_counter() + budget
        try:
            while time.perf_counter() < deadline:
                self.progress = next(job)
            self.counts_changed.emit()
            return
        except StopIteration as done:
            lines: np.ndarray = done.value
        except (OSError, ValueError):  # ValueError: mmap of a file emptied meanwhile
            lines = np.empty(0, np.int64)  # the follow check sees the change and reindexes
        self._job = None
        self._pump.stop()
        self.progress = 1.0
        _first, last = self._job_range
        if self._job_replaces:
            self.beginResetModel()
            self._view = lines
            self._rows = len(lines)
            self._covered = last
            self.endResetModel()
        else:
            self._covered = last
            if len(lines):
                assert self._view is not None
                self.beginInsertRows(QModelIndex(), self._rows, self._rows + len(lines) - 1)
                self._view = np.concatenate([self._view, lines])
                self._rows = len(self._view)
                self.endInsertRows()
        self.filtering.emit(False)
        self.counts_changed.emit()
        self.sync()  # lines indexed while the job ran

    # -- QAbstractTableModel ------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self._index is None:
            return None
        r, col = index.row(), index.column()
        if not 0 <= r < self._rows or not 0 <= col < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col == COL_LINE:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        if role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.ForegroundRole,
            RowRole,
        ):
            return None
        row = self._fetch(r)
        if role == RowRole:
            return row
        if role == Qt.ItemDataRole.ForegroundRole:
            colour = _EVENT_COLOURS.get(row.event_type)
            return QBrush(colour) if colour is not None and col == COL_EVENT else None
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_ERROR and row.error:
                return row.error
            return None
        return self._display(row, col)

    def _fetch(self, r: int) -> AuditRow:
        assert self._index is not None
        line = self.line_of(r)
        if not self._index.is_cached(line):
            # The view asks cell by cell; reading a screenful at once is one file open.
            stop = min(self._rows, r + _PREFETCH)
            self._index.rows([self.line_of(i) for i in range(r, stop)])
        return self._index.row(line)

    @staticmethod
    def _display(row: AuditRow, col: int) -> str:
        if col == COL_LINE:
            return f"{row.line + 1:,}"
        if col == COL_TIME:
            return short_time(row.timestamp)
        if col == COL_EVENT:
            return row.event_type
        if col == COL_ORDER:
            return row.order_id
        if col == COL_POSITION:
            if row.partition is None and row.offset is None:
                return ""
            return f"{'' if row.partition is None else row.partition}/" + (
                "" if row.offset is None else str(row.offset)
            )
        if col == COL_STATUS:
            return row.status
        # Errors may be long and span lines; the cell shows the first line.
        return row.error.split("\n", 1)[0]
