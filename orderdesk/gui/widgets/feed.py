"""The one hand-over from a worker thread to the GUI: a lock and a list, drained by a timer.

A worker never signals once per item: it puts items into a `Feed`, and a GUI timer takes
them in batches at its own pace, so tens of thousands of items a second cost the event
loop one drain per tick. A bounded feed keeps the newest items and counts what it dropped.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Drained(Generic[T]):
    """What a drain took: the items, oldest first, and how many were dropped before."""

    items: list[T] = field(default_factory=list)
    dropped: int = 0


class Feed(Generic[T]):
    """Thread-safe queue from one or more worker threads to the GUI thread.

    `capacity` bounds it: past it, the oldest item goes and is counted as dropped.
    Subclasses that hand over more than items (a latest snapshot, a flag) take `_lock`.
    """

    def __init__(self, capacity: int | None = None) -> None:
        self._lock = threading.Lock()
        self._items: deque[T] = deque(maxlen=capacity)
        self._dropped = 0

    def put(self, item: T) -> None:
        with self._lock:
            self._put(item)

    def extend(self, items: Iterable[T]) -> None:
        with self._lock:
            for item in items:
                self._put(item)

    def _put(self, item: T) -> None:
        if self._items.maxlen is not None and len(self._items) == self._items.maxlen:
            self._dropped += 1
        self._items.append(item)

    def drain(self, limit: int | None = None) -> Drained[T]:
        """Take up to `limit` items (all when None), oldest first, and the dropped count."""
        with self._lock:
            return self._drain(limit)

    def _drain(self, limit: int | None) -> Drained[T]:
        if limit is None or limit >= len(self._items):
            items = list(self._items)
            self._items.clear()
        else:
            items = [self._items.popleft() for _ in range(limit)]
        dropped, self._dropped = self._dropped, 0
        return Drained(items, dropped)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
