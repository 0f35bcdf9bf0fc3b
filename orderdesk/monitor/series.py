"""Time series for plots: fixed-size numpy ring buffers, Qt-free.

A ring buffer keeps the last `capacity` samples of several channels and hands them out as
one contiguous slice (no copy), so a plot can take them straight into `setData`. Memory
stays flat however long the window runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np


class RingBuffer:
    """Fixed-size multi-channel history; `view()` is always one contiguous slice.

    Every sample is written twice, at `i` and `i + capacity`, so the last `capacity`
    samples sit side by side in the doubled array and no copy is needed to plot them.
    """

    def __init__(self, capacity: int, channels: int) -> None:
        if capacity < 1 or channels < 1:
            raise ValueError("a ring buffer needs at least one sample and one channel")
        self.capacity = capacity
        self.channels = channels
        self._data = np.zeros((channels, 2 * capacity), dtype=np.float64)
        self._next = 0
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, row: Any) -> None:
        i = self._next
        self._data[:, i] = row
        self._data[:, i + self.capacity] = row
        self._next = (i + 1) % self.capacity
        self._count = min(self._count + 1, self.capacity)

    def view(self) -> np.ndarray:
        """The samples held, oldest first, shape (channels, len(self))."""
        end = self._next + self.capacity
        return self._data[:, end - self._count : end]

    def last(self) -> np.ndarray | None:
        return self.view()[:, -1] if self._count else None

    def set_last(self, row: Any) -> None:
        """Overwrite the newest sample (both of its copies)."""
        if not self._count:
            raise IndexError("the ring buffer is empty")
        i = (self._next - 1) % self.capacity
        self._data[:, i] = row
        self._data[:, i + self.capacity] = row

    def clear(self) -> None:
        self._next = 0
        self._count = 0


def window_delta(t: np.ndarray, values: np.ndarray, seconds: float) -> tuple[float, float]:
    """Growth of a cumulative series over the last `seconds`, and the time it took.

    Measured from the oldest sample inside the window (or the oldest at all) to the newest:
    `(value change, time span)`. Both are 0 with fewer than two samples.
    """
    if len(t) < 2:
        return 0.0, 0.0
    i = int(np.searchsorted(t, t[-1] - seconds))
    i = min(i, len(t) - 2)
    return float(values[-1] - values[i]), float(t[-1] - t[i])


def window_rate(t: np.ndarray, values: np.ndarray, seconds: float) -> float:
    """Per-second growth of a cumulative series over the last `seconds` (0 when unknown)."""
    delta, span = window_delta(t, values, seconds)
    return max(0.0, delta / span) if span > 0 else 0.0


class KeyedSeries:
    """One single-channel ring buffer per key (a partition number), aligned on one clock.

    Keys can appear while the series runs (a topic that grew); a key missing from a sample
    gets NaN, which a plot leaves as a gap.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.t = RingBuffer(capacity, 1)
        self._series: dict[int, RingBuffer] = {}

    def append(self, when: float, values: dict[int, float]) -> None:
        for key in values:
            if key not in self._series:
                buf = RingBuffer(self.capacity, 1)
                for _ in range(len(self.t)):  # the past of a new key is unknown
                    buf.append(np.nan)
                self._series[key] = buf
        self.t.append(when)
        for key, buf in self._series.items():
            buf.append(values.get(key, np.nan))

    def keys(self) -> list[int]:
        return sorted(self._series)

    def times(self) -> np.ndarray:
        return self.t.view()[0]

    def values(self, key: int) -> np.ndarray:
        return self._series[key].view()[0]

    def items(self) -> Iterable[tuple[int, np.ndarray]]:
        for key in self.keys():
            yield key, self.values(key)
