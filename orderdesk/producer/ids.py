"""Order ids, correlation ids and timestamps for the producer's hot path, made in batches.

Ids are cut out of one block of random bytes per batch; a timestamp's text is made again
only when the clock has moved to another millisecond (its date part once per second).
"""

from __future__ import annotations

import random
import time

#: Ids made at once: their text is cut out of one block, far cheaper than one at a time.
ID_BATCH = 1024

#: (order id, correlation id), ASCII bytes
Ids = tuple[bytes, bytes]

_UUID = 37  # 36 characters and a newline
#: Where the 32 hex digits of a UUID go in its text; the others are dashes and the version.
_DIGIT_AT = (*range(0, 8), *range(9, 13), *range(14, 18), *range(19, 23), *range(24, 36))
#: The variant (RFC 9562: bits 10xx) from any hex digit.
_VARIANT = bytes.maketrans(b"0123456789abcdef", b"89ab" * 4)


class IdSource:
    """Version 4 UUIDs and correlation ids, reproducible from a seed, made in batches."""

    def __init__(self, seed: int) -> None:
        self._source = random.Random(seed)

    def batch(self, n: int = ID_BATCH) -> list[Ids]:
        """The next `n` ids; a caller takes them from the end (`pop()`)."""
        return random_ids(self._source, n)


def random_ids(source: random.Random, n: int) -> list[Ids]:
    """`n` version 4 UUIDs and `n` correlation ids (32 hex digits, like a W3C trace id),
    as ASCII bytes.

    Every step works on the whole batch in C (`bytes.hex`, strided slice assignment,
    `split`), never one Python statement per id.
    """
    digits = source.randbytes(16 * n).hex().encode()
    text = bytearray(b"-" * (_UUID * n))
    for column, at in enumerate(_DIGIT_AT):
        text[at::_UUID] = digits[column::32]
    text[14::_UUID] = b"4" * n  # version
    text[19::_UUID] = digits[16::32].translate(_VARIANT)
    text[36::_UUID] = b"\n" * n
    uuids = bytes(text[:-1]).split(b"\n")
    traces = source.randbytes(16 * n).hex(b"\n", 16).encode("ascii").split(b"\n")
    return list(zip(uuids, traces, strict=True))


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
