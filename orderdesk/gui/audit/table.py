"""The audit browser's table: fixed-size rows, widths from the font, tail and selection kept."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QItemSelectionModel, QObject, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from orderdesk.gui.audit.model import (
    COL_EVENT,
    COL_LINE,
    COL_ORDER,
    COL_POSITION,
    COL_STATUS,
    COL_TIME,
    AuditModel,
)


class AuditTable(QObject):
    """A `QTableView` over an `AuditModel` that keeps the newest line in view while
    following, and the selected line selected across a model reset (a new filter).

    Signals:
        selection_restored(bool): after a reset, whether the selected line is still shown.
    """

    selection_restored = Signal(bool)

    def __init__(
        self,
        model: AuditModel,
        following: Callable[[], bool],
        indexing: Callable[[], bool],
    ) -> None:
        super().__init__(model)
        self.model = model
        self._following = following
        self._indexing = indexing
        self._at_tail = False
        self._selected_line: int | None = None
        self.view = view = QTableView()
        view.setModel(model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setAlternatingRowColors(True)
        view.setWordWrap(False)
        view.setTextElideMode(Qt.TextElideMode.ElideRight)
        view.verticalHeader().hide()
        # Fixed row heights: the view never measures a million rows.
        vh = view.verticalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(view.fontMetrics().height() + 6)
        header = view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        # Widths from the font, not from the rows: measuring rows would read the file.
        fm = view.fontMetrics()
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
            title = str(model.headerData(col, Qt.Orientation.Horizontal))
            width = max(fm.horizontalAdvance(sample), head_fm.horizontalAdvance(title))
            view.setColumnWidth(col, width + 16)

        model.rowsAboutToBeInserted.connect(self._remember_tail)
        model.rowsInserted.connect(self._keep_tail)
        model.modelAboutToBeReset.connect(self._remember_selection)
        model.modelReset.connect(self._restore_selection)

    def _remember_tail(self, *_: object) -> None:
        bar = self.view.verticalScrollBar()
        self._at_tail = bar.value() >= bar.maximum() and self.model.rowCount() > 0

    def _keep_tail(self, *_: object) -> None:
        if self._at_tail and self._following() and not self._indexing():
            self.view.scrollToBottom()

    def _remember_selection(self) -> None:
        current = self.view.currentIndex()
        self._selected_line = self.model.line_of(current.row()) if current.isValid() else None

    def _restore_selection(self) -> None:
        line, self._selected_line = self._selected_line, None
        row = self.model.row_of_line(line) if line is not None else None
        if row is None:
            self.selection_restored.emit(False)
            return
        index = self.model.index(row, 0)
        self.view.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        self.selection_restored.emit(True)
