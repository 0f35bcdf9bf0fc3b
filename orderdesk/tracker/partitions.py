"""What the tracker knows about each assigned partition: no client, no I/O.

A partition's messages are handled in offset order. A message that fails retryably holds
back the later messages of its partition (the backlog) until it is retried; a rejected
message holds back the commit until its dead letter is acknowledged (pending). The offset
to commit is the first one not handled to the end.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from confluent_kafka import Message

from orderdesk.audit.trail import PartitionTrail
from orderdesk.domain import Order


@dataclass
class Retry:
    """A message waiting for its next processing attempt."""

    msg: Message
    order: Order
    failed_attempts: int
    first_failure: datetime
    #: `time.monotonic()` at which the next attempt is due.
    due: float


class Partition:
    """What the loop knows about one assigned partition."""

    __slots__ = (
        "audited_upto",
        "backlog",
        "committed",
        "done_upto",
        "number",
        "paused",
        "pending",
        "prior",
        "prior_last",
        "retry",
    )

    def __init__(self, number: int, prior: PartitionTrail | None = None) -> None:
        self.number = number
        #: What the audit trail already held for this partition when the run started.
        self.prior = prior
        #: Highest offset `prior` knows; -1 once the run is past it (the hot path's test).
        self.prior_last = -1 if prior is None else prior.last
        #: Messages received but held back behind a message in retry, in offset order.
        self.backlog: deque[Message] = deque()
        self.retry: Retry | None = None
        #: Offsets whose dead letter is not acknowledged yet.
        self.pending: set[int] = set()
        #: Offset after the last message processed (None before the first).
        self.done_upto: int | None = None
        #: Offset last sent in a commit.
        self.committed = -1
        #: Committable offset at the last audit flush that succeeded: never commit past it.
        self.audited_upto = -1
        self.paused = False

    def committable(self) -> int | None:
        """The offset to commit: everything before it is handled to the end."""
        if self.pending:
            return min(self.pending)
        return self.done_upto

    def first_unhandled(self) -> int | None:
        """Offset of the first message received here and not handled to the end, if known."""
        upto = self.committable()
        if upto is not None:
            return upto
        if self.retry is not None:
            return self.retry.msg.offset()
        if self.backlog:
            return self.backlog[0].offset()
        return None

    def in_flight(self) -> int:
        return len(self.backlog) + (self.retry is not None) + len(self.pending)

    def handled(self, offset: int) -> bool:
        """True when the message at `offset` was already processed in this run."""
        done = self.done_upto
        return done is not None and offset < done

    def holds_back(self) -> bool:
        """True when a new message must wait behind a retry (or older held-back messages)."""
        return self.retry is not None or bool(self.backlog)


class PartitionBook:
    """The assigned partitions of the orders topic, by number."""

    def __init__(self) -> None:
        self._parts: dict[int, Partition] = {}

    def __len__(self) -> int:
        return len(self._parts)

    def __contains__(self, number: object) -> bool:
        return number in self._parts

    def __iter__(self) -> Iterator[Partition]:
        return iter(list(self._parts.values()))

    def get(self, number: int | None) -> Partition | None:
        # None: a record without a partition (confluent-kafka's type allows it) has none.
        return None if number is None else self._parts.get(number)

    def numbers(self) -> list[int]:
        return list(self._parts)

    def owns(self, part: Partition) -> bool:
        """True while `part` is still assigned (not revoked and assigned again since)."""
        return self._parts.get(part.number) is part

    def assign(self, numbers: list[int], prior: dict[int, PartitionTrail] | None = None) -> None:
        for number in numbers:
            self._parts[number] = Partition(number, (prior or {}).get(number))

    def forget(self, numbers: list[int]) -> None:
        for number in numbers:
            self._parts.pop(number, None)

    def in_flight(self) -> int:
        return sum(p.in_flight() for p in self)

    def retry_due(self, now: float) -> bool:
        return any(p.retry is not None and p.retry.due <= now for p in self._parts.values())

    def due_retries(self, now: float) -> list[Partition]:
        """Partitions whose message in retry is due, its retry taken off."""
        out = []
        for part in self:
            if part.retry is not None and part.retry.due <= now:
                out.append(part)
        return out

    def next_due(self) -> float | None:
        """When the earliest retry is due, if any."""
        dues = [p.retry.due for p in self._parts.values() if p.retry is not None]
        return min(dues) if dues else None

    def pending_dead_letters(self) -> int:
        return sum(len(p.pending) for p in self._parts.values())

    def mark_audited(self, offsets: dict[int, int]) -> None:
        """The audit lines of everything before these offsets reached the file."""
        for number, upto in offsets.items():
            part = self._parts.get(number)
            if part is not None and upto > part.audited_upto:
                part.audited_upto = upto

    def audited(self, numbers: list[int] | None = None) -> dict[int, int]:
        """Offsets safe to commit after an audit write failed: audited, not yet committed."""
        out = {}
        for number in self._parts if numbers is None else numbers:
            part = self._parts.get(number)
            if part is not None and part.audited_upto > part.committed:
                out[number] = part.audited_upto
        return out

    def to_commit(self, numbers: list[int] | None = None, force: bool = False) -> dict[int, int]:
        """Offsets to commit per partition: those that moved since the last commit.

        With `force`, every partition with something handled, moved or not.
        """
        out = {}
        for number in self._parts if numbers is None else numbers:
            part = self._parts.get(number)
            if part is None:
                continue
            upto = part.committable()
            if upto is None or (upto <= part.committed and not force):
                continue
            out[number] = upto
        return out

    def first_unhandled(self) -> dict[int, int | None]:
        return {n: p.first_unhandled() for n, p in self._parts.items()}

    def snapshot(self) -> dict[int, Any]:
        """A plain view, for logs and tests."""
        return {
            n: {"committable": p.committable(), "in_flight": p.in_flight()}
            for n, p in self._parts.items()
        }
