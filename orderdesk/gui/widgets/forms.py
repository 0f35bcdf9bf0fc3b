"""Forms that line up: the platform's label alignment, one label column for several."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QWidget


def form(parent: QWidget | None = None) -> QFormLayout:
    """A form as the platform lays one out (labels right-aligned on Windows and Linux
    styles, left on macOS), with fields that take the width there is."""
    layout = QFormLayout(parent)
    layout.setHorizontalSpacing(10)
    layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    return layout


def align_labels(*forms: QFormLayout) -> int:
    """Give the labels of these forms one width, so that their fields start at one line
    (forms in separate group boxes one under the other). Returns the width."""
    labels = []
    for layout in forms:
        for row in range(layout.rowCount()):
            item = layout.itemAt(row, QFormLayout.ItemRole.LabelRole)
            widget = item.widget() if item is not None else None
            if widget is not None:
                labels.append(widget)
    width = max((w.sizeHint().width() for w in labels), default=0)
    for widget in labels:
        widget.setMinimumWidth(width)
    return width
