"""What a bulk republish would do, worked out before anything is sent (no Qt).

Every selected dead letter lands in one of three groups: a valid order that the guards
let through, a payload that is still not a valid order (the first reason, grouped by the
field it names), or a request the guards refuse (grouped by the reason). The confirmation
shows these counts, and the requests sent are exactly the ones the user chose from them,
so the counts shown are the counts that happen.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from orderdesk.deadletters.republish import ReplayRequest
from orderdesk.domain.text import order_problems

#: Why a request would be refused (None: it may go); `Republisher.refusal` with the ledger.
Refusal = Callable[[ReplayRequest, bool], str | None]


@dataclass
class BulkPlan:
    """The selected requests sorted into valid, still invalid and refused."""

    again: bool
    valid: list[ReplayRequest] = field(default_factory=list)
    invalid: list[tuple[ReplayRequest, str]] = field(default_factory=list)
    refused: list[tuple[ReplayRequest, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.valid) + len(self.invalid) + len(self.refused)

    def invalid_groups(self) -> list[tuple[str, int]]:
        """Still-invalid payloads by what is wrong first, most frequent first."""
        return Counter(_kind(problem) for _r, problem in self.invalid).most_common()

    def refused_groups(self) -> list[tuple[str, int]]:
        return Counter(_refusal_kind(reason) for _r, reason in self.refused).most_common()

    def requests(self, include_invalid: bool) -> list[ReplayRequest]:
        """What to hand the republisher: the valid ones (and the invalid ones when asked).

        The refused ones go too, so that the summary counts them as refused, as the
        confirmation did; the republisher's guards refuse them again.
        """
        chosen = list(self.valid)
        if include_invalid:
            chosen += [r for r, _p in self.invalid]
        return chosen + [r for r, _why in self.refused]

    @property
    def refused_for_earlier_replay(self) -> int:
        """How many are refused only because they were republished before."""
        return sum(1 for _r, why in self.refused if why.startswith("already republished"))


def plan_bulk(requests: Iterable[ReplayRequest], refusal: Refusal, again: bool) -> BulkPlan:
    plan = BulkPlan(again)
    seen: set[tuple[str, str]] = set()
    for request in requests:
        entry = request.entry
        ident = (entry.dlq_topic, entry.id)
        why = "asked twice in one request" if ident in seen else refusal(request, again)
        seen.add(ident)
        if why is not None:
            plan.refused.append((request, why))
            continue
        payload = request.payload if request.payload is not None else entry.payload_bytes
        problems = order_problems(payload) if payload is not None else ["no payload at all"]
        if problems:
            plan.invalid.append((request, problems[0]))
        else:
            plan.valid.append(request)
    return plan


def _kind(problem: str) -> str:
    """What is wrong, without the particulars: the field it names, or the kind of payload.

    'total: expected 45.10, got 999.00' -> 'total'; 'items[1].quantity must be > 0, got -3'
    -> 'items[].quantity'; 'not valid JSON: ...' -> 'not valid JSON'.
    """
    text = problem.strip()
    if text.startswith("not "):
        return re.split(r"[:(]", text, maxsplit=1)[0].strip()
    field = re.split(r"[\s:]", text, maxsplit=1)[0]
    return re.sub(r"\[\d+\]", "[]", field) or text[:60]


def _refusal_kind(reason: str) -> str:
    head = reason.split(";", 1)[0]
    if head.startswith("already republished"):
        return "republished before"
    if "would feed into itself" in head:
        return "target is the dead-letter topic"
    if "is the replay of" in head:
        return "would loop (a replay that failed again)"
    return head
