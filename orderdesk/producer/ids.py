"""Order ids, correlation ids and timestamps for the producer's hot path, made in batches.

Ids are cut out of one block of random bytes per batch; a timestamp's text is made again
only when the clock has moved to another millisecond (its date part once per second).
"""

from __future__ import annotations

import time

import numpy as np

#: Ids made at once: their text is cut out of one array, far cheaper than one at a time.
ID_BATCH = 1024

#: (order id, as bytes, correlation id, as bytes)
Ids = tuple[str, bytes, str, bytes]

_HEX_VALUE = np.zeros(256, np.uint8)
_HEX_VALUE[np.frombuffer(b"0123456789abcdef", np.uint8)] = np.arange(16, dtype=np.uint8)
_UUID_VARIANT = np.frombuffer(b"89ab" * 4, np.uint8)


class IdSource:
    """Version 4 UUIDs and correlation ids, reproducible from a seed, made in batches."""

    def __init__(self, seed: int) -> None:
        self._source = np.random.default_rng(seed)

    def batch(self, n: int = ID_BATCH) -> list[Ids]:
        """The next `n` ids; a caller takes them from the end (`pop()`)."""
        return random_ids(self._source, n)


def random_ids(source: np.random.Generator, n: int) -> list[Ids]:
    """`n` version 4 UUIDs and `n` correlation ids (32 hex digits, like a W3C trace id),
    each as text and as bytes.

    Every step works on the whole batch in C (numpy, `bytes.hex`, `split`), never one
    Python statement per id.
    """
    digits = np.frombuffer(source.bytes(16 * n).hex().encode(), np.uint8).reshape(n, 32)
    text = np.empty((n, 37), np.uint8)
    text[:, [8, 13, 18, 23]] = ord("-")
    text[:, 0:8] = digits[:, 0:8]
    text[:, 9:13] = digits[:, 8:12]
    text[:, 14] = ord("4")  # version
    text[:, 15:18] = digits[:, 13:16]
    text[:, 19] = _UUID_VARIANT[_HEX_VALUE[digits[:, 16]]]  # variant bits 10xx
    text[:, 20:23] = digits[:, 17:20]
    text[:, 24:36] = digits[:, 20:32]
    text[:, 36] = ord("\n")
    uuids = text.tobytes()[:-1]
    traces = source.bytes(16 * n).hex("\n", 16)
    return list(
        zip(
            uuids.decode("ascii").split("\n"),
            uuids.split(b"\n"),
            traces.split("\n"),
            traces.encode("ascii").split(b"\n"),
            strict=True,
        )
    )


class Timestamps:
    """ISO 8601 UTC text to the millisecond, as bytes; the date and time of day are made
    once per second. Callers keep the last text and ask again when the millisecond moved."""

    def __init__(self) -> None:
        self._second = -1
        self._second_text = ""

    def text(self, millisecond: int) -> bytes:
        second, ms = divmod(millisecond, 1000)
        if second != self._second:
            self._second = second
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._second_text}.{ms:03d}Z".encode()
