"""The inbox's row of failure-reason tabs: grouping and filter in one line, with counts."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtWidgets import QTabBar, QWidget

from orderdesk.domain import FailureReason
from orderdesk.gui.widgets import theme


def reason_text(reason: FailureReason | None, count: int) -> str:
    return f"{'All reasons' if reason is None else reason.value}  ({count:,})"


class ReasonTabs(QTabBar):
    """One tab per failure reason (and "All reasons"), each with its count."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dlqReasons")
        self.setDrawBase(False)
        self.setExpanding(False)
        self.setUsesScrollButtons(True)
        # Room under the baseline, or the underscores of the reason names are cut off.
        self.setStyleSheet(
            "QTabBar::tab { padding: 5px 10px 6px 10px; margin-right: 4px; border-radius: 4px;"
            " border: 1px solid palette(mid); }"
            "QTabBar::tab:selected { background: palette(highlight);"
            " color: palette(highlighted-text); border-color: palette(highlight); }"
        )
        #: Count shown on each tab, by tab index.
        self._shown: dict[int, int] = {}
        self._counts: Mapping[FailureReason, int] = {}
        # The colours of empty and non-empty reasons come from the palette: light or dark.
        theme.notifier().changed.connect(self._recolour)
        for reason in (None, *FailureReason):
            index = self.addTab(reason_text(reason, 0))
            # Stored as text: Qt turns a str-based enum into a plain str anyway.
            self.setTabData(index, "" if reason is None else reason.value)

    def reason_at(self, index: int) -> FailureReason | None:
        value = self.tabData(index)
        return FailureReason(value) if value else None

    def _recolour(self) -> None:
        self._shown.clear()
        self.set_counts(self._counts)

    def set_counts(self, counts: Mapping[FailureReason, int]) -> None:
        self._counts = counts
        total = sum(counts.values())
        # Only tabs whose count changed are touched: each change relayouts the tab bar, and
        # dead letters arrive several times a second while the services run.
        for index in range(self.count()):
            reason = self.reason_at(index)
            count = total if reason is None else counts.get(reason, 0)
            was = self._shown.get(index)
            if was == count:
                continue
            self._shown[index] = count
            self.setTabText(index, reason_text(reason, count))
            if reason is not None and (was is None or bool(was) != bool(count)):
                color = self.palette().text() if count else self.palette().placeholderText()
                self.setTabTextColor(index, color.color())

    def select(self, reason: FailureReason | None) -> None:
        for index in range(self.count()):
            if self.reason_at(index) == reason:
                self.setCurrentIndex(index)
                return

    def texts(self) -> list[str]:
        """The tabs' texts, as the user reads them."""
        return [self.tabText(i) for i in range(self.count())]
