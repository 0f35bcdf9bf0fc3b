"""Republishing from the inbox: one entry (edited or not), the valid ones of a selection,
or a selection with the bulk confirmation; the outcome shown in the bar."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orderdesk.deadletters.entries import DeadLetterEntry
from orderdesk.deadletters.republish import ReplayRequest, ReplaySummary, Republisher
from orderdesk.domain.text import pretty_json
from orderdesk.gui.deadletters.bulk import BulkConfirmation, ask_republish
from orderdesk.gui.deadletters.plan import BulkPlan, plan_bulk

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance
    from PySide6.QtWidgets import QCheckBox, QLineEdit, QWidget

    from orderdesk.config import Settings
    from orderdesk.deadletters.ledger import ReplayLedger
    from orderdesk.gui.deadletters.bulk import RepublishBar, RepublishJob
    from orderdesk.gui.deadletters.editor import PayloadEditor


class RepublishFlow:
    """The inbox's republish actions (a mixin of `DeadLetterInbox`, which owns the job,
    the bar and the selection). `confirm_republish` and `confirm_bulk` ask the user; a
    script or a test replaces them to answer instead."""

    if TYPE_CHECKING:
        settings: Settings
        ledger: ReplayLedger
        job: RepublishJob
        bar: RepublishBar
        editor: PayloadEditor
        target_topic: QLineEdit
        again_box: QCheckBox
        _current: DeadLetterEntry | None
        republish_finished: SignalInstance

        def selected_entries(self) -> list[DeadLetterEntry]: ...
        def refresh_replays(self) -> None: ...
        def _update_selection_state(self, *_args: Any) -> None: ...

    def _asker(self) -> QWidget:
        return self  # type: ignore[return-value]  # the inbox, a QWidget

    def _plan(self, entries: list[DeadLetterEntry]) -> BulkPlan:
        requests = [ReplayRequest(e) for e in entries]
        return plan_bulk(requests, Republisher(self.settings, self.ledger).refusal, again=False)

    def confirm_republish(
        self, count: int, targets: list[str], already: int, problems: int
    ) -> tuple[bool, bool]:
        """Ask before sending: (go ahead, include entries replayed before)."""
        return ask_republish(self._asker(), count, targets, already, problems)

    def republish_selected(self) -> bool:
        """Check the selected entries, ask, and republish what the user chose; True when
        the work was started."""
        entries = self.selected_entries()
        if not entries or self.job.busy:
            return False
        requests = [ReplayRequest(e) for e in entries]
        guards = Republisher(self.settings, self.ledger)
        plans = (
            plan_bulk(requests, guards.refusal, again=False),
            plan_bulk(requests, guards.refusal, again=True),
        )
        targets = sorted({r.topic or "?" for r in requests})
        choice = self.confirm_bulk(plans, targets)
        if choice is None:
            return False
        chosen, again = choice
        return self._start(chosen, again)

    def republish_valid(self) -> bool:
        """Republish the selected entries that are valid orders (after asking); True when
        the work was started."""
        entries = self.selected_entries()
        if not entries or self.job.busy:
            return False
        plan = self._plan(entries)
        if not plan.valid:
            return False
        targets = sorted({r.topic or "?" for r in plan.valid})
        ok, _again = self.confirm_republish(len(plan.valid), targets, 0, 0)
        if not ok:
            return False
        return self._start(plan.valid, again=False)

    def confirm_bulk(
        self, plans: tuple[BulkPlan, BulkPlan], targets: list[str]
    ) -> tuple[list[ReplayRequest], bool] | None:
        """Ask before a bulk republish (plans without and with `again`): (requests, again)."""
        box = BulkConfirmation(self._asker(), plans, targets)
        box.exec()
        return box.choice()

    def republish_current(self) -> bool:
        """Republish the current entry with the edited payload and target topic."""
        entry = self._current
        if entry is None:
            return False
        problems = self.editor.validate_now()
        text = self.editor.text()
        unchanged = text == pretty_json(entry.original_payload)
        payload = None if unchanged else self.editor.payload_bytes()
        target = self.target_topic.text().strip() or None
        request = ReplayRequest(entry, payload=payload, target_topic=target)
        return self._confirm_and_start(
            [request], again=self.again_box.isChecked(), problems=len(problems)
        )

    def _confirm_and_start(
        self, requests: list[ReplayRequest], again: bool, problems: int = 0
    ) -> bool:
        if self.job.busy:
            return False
        targets = sorted({r.topic or "?" for r in requests})
        already = sum(
            1 for r in requests if self.ledger.replay_count(r.entry.dlq_topic, r.entry.id)
        )
        ok, include_again = self.confirm_republish(
            len(requests), targets, 0 if again else already, problems
        )
        if not ok:
            return False
        return self._start(requests, again or include_again)

    def _start(self, requests: list[ReplayRequest], again: bool) -> bool:
        if not requests or not self.job.start(self.settings, self.ledger, requests, again):
            return False
        self.bar.started(len(requests))
        self._update_selection_state()
        return True

    def cancel_republish(self) -> None:
        self.job.cancel()

    @property
    def republishing(self) -> bool:
        return self.job.busy

    def _republish_done(self, summary: ReplaySummary) -> None:
        self.bar.show_summary(summary)
        self.refresh_replays()
        self.republish_finished.emit(summary)

    def _republish_failed(self, message: str) -> None:
        self.bar.show_failure(message)
        self.republish_finished.emit(ReplaySummary())

    def _republish_ended(self) -> None:
        self.bar.ended()
        self._update_selection_state()
