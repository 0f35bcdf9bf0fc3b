"""Side by side: the dead letter's original payload and the edited one (difflib)."""

from __future__ import annotations

import difflib
import re

from PySide6.QtCore import QEvent
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QTextBrowser, QWidget

from orderdesk.gui.widgets import theme


def changed_lines(original: str, edited: str) -> tuple[int, int]:
    """Lines added, removed or changed between the two texts, and the first such line of
    the original (0 when none)."""
    matcher = difflib.SequenceMatcher(None, original.splitlines(), edited.splitlines())
    changes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    count = sum(max(i2 - i1, j2 - j1) for _tag, i1, i2, j1, j2 in changes)
    return count, changes[0][1] if changes else 0


#: difflib's navigation cells ("n", "t" links to the next change): noise in a payload's diff.
_NEXT_CELL = re.compile(r'<td class="diff_next"[^>]*>.*?</td>')
_NEXT_HEAD = re.compile(r'<th class="diff_next">.*?</th>')
_COLGROUPS = re.compile(r"<colgroup></colgroup>")


class PayloadDiff(QTextBrowser):
    """The original payload on the left, the edited one on the right, changes marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dlqDiff")
        self.setOpenLinks(False)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setLineWrapMode(QTextBrowser.LineWrapMode.NoWrap)
        self._texts = ("", "")
        self.changes = 0
        self._first, self._lines = 0, 1
        self._style()
        theme.notifier().changed.connect(self._restyle)

    def show_diff(self, original: str, edited: str) -> int:
        """Show the two texts side by side; returns the number of changed lines."""
        self._texts = (original, edited)
        self.changes, first = changed_lines(original, edited)
        if not original and not edited:
            self.setHtml("")
            return 0
        table = difflib.HtmlDiff(tabsize=2).make_table(
            original.splitlines(),
            edited.splitlines(),
            "Original",
            "Edited",
            context=False,
        )
        note = (
            "<p class='same'>The edited payload is the original one.</p>"
            if not self.changes
            else ""
        )
        table = _NEXT_CELL.sub("", _NEXT_HEAD.sub("", table))
        self.setHtml(note + _COLGROUPS.sub("", table))
        self._first = first
        self._lines = max(1, len(original.splitlines()), len(edited.splitlines()))
        self.scroll_to_change()
        return self.changes

    def scroll_to_change(self) -> None:
        """The first change in view, with a few lines of context above it (once shown:
        a hidden view has no scroll range yet)."""
        bar = self.verticalScrollBar()
        bar.setValue(int((bar.maximum() + bar.pageStep()) * max(0, self._first - 3) / self._lines))

    def _style(self) -> None:
        t = theme.current()
        add, chg, sub = (
            ("#1f4d2c", "#4d4420", "#5a2626") if t.dark else ("#d7f5dd", "#fdf2c4", "#fadbd8")
        )
        self.document().setDefaultStyleSheet(
            f"table.diff {{ border-collapse: collapse; }}"
            f"th {{ color: {t.muted}; text-align: left; padding: 2px 6px; }}"
            f"td {{ padding: 0 4px; }}"
            f"td.diff_header {{ color: {t.muted}; text-align: right; }}"
            f"td.diff_next {{ color: {t.muted}; }}"
            f".diff_add {{ background-color: {add}; }}"
            f".diff_chg {{ background-color: {chg}; }}"
            f".diff_sub {{ background-color: {sub}; }}"
            f"p.same {{ color: {t.muted}; }}"
        )

    def _restyle(self) -> None:
        self._style()
        self.show_diff(*self._texts)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in theme.CHANGE_EVENTS:
            self._restyle()
