"""The inbox's table of dead letters."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from orderdesk.gui.deadletters.model import (
    COL_ERROR,
    COL_KEY,
    COL_ORIGINAL,
    COL_REASON,
    COL_REPLAYED,
    COL_RETRIES,
    COL_TIME,
)


def dead_letter_table(proxy: QAbstractItemModel, parent: QWidget) -> QTableView:
    """The inbox's table over its filter model: sortable, widths from sample text."""
    table = QTableView(parent)
    table.setObjectName("dlqTable")
    table.setModel(proxy)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    table.setSortingEnabled(True)
    table.sortByColumn(COL_TIME, Qt.SortOrder.DescendingOrder)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setSectionResizeMode(COL_ERROR, QHeaderView.ResizeMode.Stretch)
    metrics = table.fontMetrics()
    # Fixed widths from sample text: ResizeToContents would scan every row.
    for col, sample in (
        (COL_TIME, "2026-11-25 23:59:59"),
        (COL_REASON, "DESERIALIZATION_ERROR"),
        (COL_ORIGINAL, "orders[12]@1234567"),
        (COL_KEY, "6f1c2d0e-8a4b"),
        (COL_RETRIES, "Retries"),
        (COL_REPLAYED, "Replayed"),
    ):
        table.setColumnWidth(col, metrics.horizontalAdvance(sample) + 28)
    header.setMinimumSectionSize(metrics.horizontalAdvance("Key") + 28)
    return table
