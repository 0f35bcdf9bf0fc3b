"""Dead letters that stand for the same original message: shown once, copies kept.

A tracker killed after the broker stored a dead letter but before its audit trail said so
sends the letter again on restart: two dead letters (two ids) for one failed order. They
are grouped by the original's topic, partition and offset; the first one read stands for
the group and the others are its copies. Letters whose original coordinates are not known
(some foreign kinds) are never grouped.
"""

from __future__ import annotations

from orderdesk.deadletters.entries import DeadLetterEntry

CopyKey = tuple[str, int, int]


def copy_key(entry: DeadLetterEntry) -> CopyKey | None:
    """The original message `entry` stands for, None when its coordinates are not known."""
    topic, partition, offset = entry.original_topic, entry.original_partition, entry.original_offset
    if not topic or partition is None or offset is None:
        return None
    return (topic, partition, offset)


class CopyIndex:
    """Groups entries by original message; `add` tells whether an entry is a copy."""

    def __init__(self) -> None:
        self._groups: dict[CopyKey, list[DeadLetterEntry]] = {}

    def add(self, entry: DeadLetterEntry) -> DeadLetterEntry | None:
        """Record `entry`; returns the entry standing for its group when `entry` is a copy.

        An entry with an id already in its group (the same letter read again) replaces it
        and is not a copy.
        """
        key = copy_key(entry)
        if key is None:
            return None
        group = self._groups.setdefault(key, [])
        for i, known in enumerate(group):
            if known.id == entry.id:
                group[i] = entry
                return None
        group.append(entry)
        return group[0] if len(group) > 1 else None

    def copies(self, entry: DeadLetterEntry) -> list[DeadLetterEntry]:
        """Every dead letter of `entry`'s original message, first read first (itself included)."""
        key = copy_key(entry)
        if key is None:
            return [entry]
        return list(self._groups.get(key, [entry]))

    def clear(self) -> None:
        self._groups.clear()
