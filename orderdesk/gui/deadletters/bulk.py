"""Republishing from the inbox: the background job and the bar that shows it."""

from __future__ import annotations

import html

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from orderdesk.config import Settings
from orderdesk.deadletters.ledger import ReplayLedger
from orderdesk.deadletters.republish import ReplayRequest, ReplaySummary
from orderdesk.domain.text import plural
from orderdesk.gui.deadletters.plan import BulkPlan
from orderdesk.gui.deadletters.workers import STOP_WAIT_MS, RepublishWorker
from orderdesk.gui.widgets.threads import WorkerThread


class RepublishJob(QObject):
    """At most one republish at a time, on a thread of its own.

    Signals:
        progress(int, int, str): settled so far, total, the latest result as one line.
        done(object): the `ReplaySummary` (an empty one when nothing could be sent).
        failed(str): nothing could be republished; the reason.
        ended(): the thread is gone; another republish may start.
    """

    progress = Signal(int, int, str)
    done = Signal(object)
    failed = Signal(str)
    ended = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: WorkerThread | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def start(
        self, settings: Settings, ledger: ReplayLedger, requests: list[ReplayRequest], again: bool
    ) -> bool:
        if self._thread is not None:
            return False
        worker = RepublishWorker(settings, ledger, requests, again)
        worker.progress.connect(self.progress)
        worker.done.connect(self.done)
        worker.failed.connect(self.failed)
        thread = WorkerThread(worker, "dlq-republish")
        thread.finished.connect(self._ended)
        self._thread = thread
        thread.start()
        return True

    def cancel(self) -> None:
        if self._thread is not None:
            self._thread.worker.request_stop()

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_running()

    def wait(self, timeout_ms: int = STOP_WAIT_MS * 3) -> bool:
        return self._thread is None or self._thread.wait(timeout_ms)

    def _ended(self) -> None:
        self._thread = None
        self.ended.emit()


class RepublishBar(QWidget):
    """Under the table: the bulk-action bar (selected n · valid m, republish the valid ones
    or all, discard from view), and the last republish's outcome and progress.

    Signals:
        republish_valid(): "Republish valid…" was pressed.
        republish_selected(): "Republish all…" was pressed.
        discard(): "Discard from view" was pressed.
        show_discarded(): "Show discarded" was pressed.
        select_all(): "Select all shown" was pressed.
        cancel(): "Cancel" was pressed during a republish.
    """

    republish_valid = Signal()
    republish_selected = Signal()
    discard = Signal()
    show_discarded = Signal()
    select_all = Signal()
    cancel = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.progress = QProgressBar(self)
        self.progress.setVisible(False)
        self.progress.setFormat("%v of %m")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self._cancel)
        self.summary = QLabel(self)
        self.summary.setObjectName("dlqSummary")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.counts = QLabel(self)
        self.counts.setObjectName("dlqSelectionCounts")
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        self.valid_button = QPushButton("Republish valid…", self)
        self.valid_button.setObjectName("dlqRepublishValid")
        self.valid_button.setToolTip(
            "Send the selected dead letters whose payload is a valid order back to their topics"
        )
        self.valid_button.clicked.connect(self.republish_valid)
        self.bulk_button = QPushButton("Republish all…", self)
        self.bulk_button.setObjectName("dlqRepublishSelected")
        self.bulk_button.setToolTip(
            "Check the selected dead letters, then send them back to their original topics"
        )
        self.bulk_button.clicked.connect(self.republish_selected)
        self.discard_button = QPushButton("Discard from view", self)
        self.discard_button.setToolTip(
            "Hide the selected dead letters here; the topic keeps them (Reload shows them again)"
        )
        self.discard_button.clicked.connect(self.discard)
        self.discarded_button = QPushButton("Show discarded", self)
        self.discarded_button.setFlat(True)
        self.discarded_button.setVisible(False)
        self.discarded_button.clicked.connect(self.show_discarded)
        self.select_all_button = QPushButton("Select all shown", self)
        self.select_all_button.clicked.connect(self.select_all)
        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.addWidget(self.counts)
        actions.addStretch(1)
        actions.addWidget(self.discarded_button)
        actions.addWidget(self.select_all_button)
        actions.addWidget(self.discard_button)
        actions.addWidget(self.valid_button)
        actions.addWidget(self.bulk_button)
        outcome = QHBoxLayout()
        outcome.setContentsMargins(0, 0, 0, 0)
        outcome.addWidget(self.summary, 1)
        outcome.addWidget(self.progress, 1)
        outcome.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(actions)
        layout.addLayout(outcome)
        self.set_selection(0, 0, False)

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel.emit()

    def set_selection(
        self, selected: int, shown: int, busy: bool, valid: int | None = None, hidden: int = 0
    ) -> None:
        """`valid`: how many of the selected are valid orders the guards let through
        (None: not worked out yet)."""
        if selected:
            what = "…" if valid is None else f"{valid:,}"
            self.counts.setText(f"<b>{selected:,}</b> selected · valid <b>{what}</b>")
        else:
            self.counts.setText(f"{shown:,} shown · select rows to act on them")
        self.valid_button.setText(
            "Republish valid…" if valid is None else f"Republish valid ({valid:,})…"
        )
        self.valid_button.setEnabled(bool(valid) and not busy)
        self.bulk_button.setText(f"Republish all ({selected:,})…")
        self.bulk_button.setEnabled(selected > 0 and not busy)
        self.discard_button.setEnabled(selected > 0)
        self.select_all_button.setEnabled(shown > 0)
        self.discarded_button.setVisible(hidden > 0)
        self.discarded_button.setText(f"Show discarded ({hidden:,})")

    def clear_summary(self) -> None:
        """Forget the last republish's outcome (another entry is shown)."""
        self.summary.clear()
        self.summary.setToolTip("")

    def started(self, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.summary.setText(f"Republishing {total:,}…")

    def show_progress(self, done: int, total: int, line: str) -> None:
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        self.summary.setToolTip(line)

    def show_summary(self, summary: ReplaySummary) -> None:
        color = "#2e7d32" if summary.ok else "#c0392b"
        self.summary.setText(f"<span style='color:{color}'><b>{summary.text()}</b></span>")
        problems = [r.describe() for r in summary.results if r.outcome.value != "acknowledged"]
        self.summary.setToolTip("\n".join(problems[:30]) or summary.text())

    def show_failure(self, message: str) -> None:
        self.summary.setText(
            f"<span style='color:#c0392b'><b>Republish failed:</b> {html.escape(message)}</span>"
        )

    def ended(self) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)


def ask_republish(
    parent: QWidget, count: int, targets: list[str], already: int, problems: int
) -> tuple[bool, bool]:
    """Ask before sending: (go ahead, include entries replayed before)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Republish dead letters")
    box.setText(f"Republish {plural(count, 'message')} to {', '.join(targets)}?")
    notes = []
    if problems:
        notes.append(
            f"The edited payload is still not a valid order ({plural(problems, 'problem')})."
        )
    if already:
        notes.append(
            f"{already:,} of them {'was' if already == 1 else 'were'} republished before "
            "and will be skipped unless you tick the box below."
        )
    if notes:
        box.setInformativeText("\n".join(notes))
    again = None
    if already:
        again = QCheckBox("Republish those again", box)
        box.setCheckBox(again)
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    accepted = box.exec() == QMessageBox.StandardButton.Yes
    return accepted, bool(again is not None and again.isChecked())


#: Groups named in the confirmation; the rest are counted together.
SHOWN_GROUPS = 6


def _groups(groups: list[tuple[str, int]]) -> str:
    shown = ", ".join(f"{name} ({count:,})" for name, count in groups[:SHOWN_GROUPS])
    rest = sum(count for _name, count in groups[SHOWN_GROUPS:])
    return shown + (f", other problems ({rest:,})" if rest else "")


def plan_text(plan: BulkPlan) -> str:
    """The confirmation's account of a plan, one line per group."""
    lines = [f"{plural(len(plan.valid), 'valid order')}."]
    if plan.invalid:
        lines.append(
            f"{plural(len(plan.invalid), 'payload')} still not a valid order: "
            f"{_groups(plan.invalid_groups())}."
        )
    if plan.refused:
        lines.append(
            f"{plural(len(plan.refused), 'dead letter')} refused by the guards: "
            f"{_groups(plan.refused_groups())}."
        )
    return "\n".join(lines)


class BulkConfirmation(QMessageBox):
    """Asks before a bulk republish: what is valid, still invalid and refused, and which
    to send. `choice()` is (requests, again) once accepted, else None."""

    def __init__(self, parent: QWidget, plans: tuple[BulkPlan, BulkPlan], targets: list[str]):
        super().__init__(parent)
        self.plans = plans
        self.setIcon(QMessageBox.Icon.Question)
        self.setWindowTitle("Republish dead letters")
        first = plans[0]
        self.setText(
            f"Republish {plural(first.total, 'selected dead letter')} to {', '.join(targets)}?"
        )
        self.again: QCheckBox | None = None
        if first.refused_for_earlier_replay:
            self.again = QCheckBox("Republish those republished before again", self)
            self.again.toggled.connect(self._update)
            self.setCheckBox(self.again)
        self.valid_button = self.addButton("", QMessageBox.ButtonRole.AcceptRole)
        self.all_button = self.addButton("", QMessageBox.ButtonRole.AcceptRole)
        self.cancel_button = self.addButton(QMessageBox.StandardButton.Cancel)
        self._update()

    def plan(self) -> BulkPlan:
        return self.plans[1] if self.again is not None and self.again.isChecked() else self.plans[0]

    def _update(self, *_args: object) -> None:
        plan = self.plan()
        self.setInformativeText(plan_text(plan))
        self.valid_button.setText(
            f"Republish the {plural(len(plan.valid), 'valid one')}"
            if plan.valid
            else "No valid order to republish"
        )
        self.valid_button.setEnabled(bool(plan.valid))
        self.all_button.setText(f"Also the invalid ones ({len(plan.valid) + len(plan.invalid):,})")
        self.all_button.setVisible(bool(plan.invalid))
        self.setDefaultButton(self.valid_button if plan.valid else self.cancel_button)

    def choice(self) -> tuple[list[ReplayRequest], bool] | None:
        clicked = self.clickedButton()
        plan = self.plan()
        if clicked is self.valid_button and plan.valid:
            return plan.requests(include_invalid=False), plan.again
        if clicked is self.all_button:
            return plan.requests(include_invalid=True), plan.again
        return None
