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
    following, like `tail -f`, until the user scrolls up (and again once they scroll back
    to the end); and the selected line selected across a model reset (a new filter).

    Signals:
        selection_restored(bool): after a reset, whether the selected line is still shown.
    """

    selection_restored = Signal(bool)

    def __init__(
        self,
        model: AuditModel,
        following: Callable[[], bool],
    ) -> None:
        super().__init__(model)
        self.model = model
        self._following = following
        #: Whether the view sticks to the newest line (following, and not scrolled up).
        self.pinned = following()
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

        bar = view.verticalScrollBar()
        bar.rangeChanged.connect(self._range_changed)
        bar.valueChanged.connect(self._scrolled)
        model.modelAboutToBeReset.connect(self._remember_selection)
        model.modelReset.connect(self._restore_selection)

    def follow(self, on: bool) -> None:
        """Following switched on (stick to the end at once) or off."""
        self.pinned = on
        if on:
            self.view.scrollToBottom()

    def _range_changed(self, _low: int, high: int) -> None:
        # More rows (or a taller view): the end moved; a pinned view goes with it.
        if self.pinned and self._following():
            self.view.verticalScrollBar().setValue(high)

    def _scrolled(self, value: int) -> None:
        # The user scrolling up unpins the view; scrolling back to the end pins it again.
        if self._following():
            self.pinned = value >= self.view.verticalScrollBar().maximum()

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
        if not self.pinned:
            self.view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        self.selection_restored.emit(True)
