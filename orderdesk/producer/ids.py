"""Order ids, correlation ids and timestamps for the producer's hot path, made in batches.

Ids are cut out of one block of random bytes per batch; a timestamp's text is made again
only when the clock has moved to another millisecond (its date part once per second).
"""

from __future__ import annotations

import binascii
import random
import time

#: Ids made at once: their text is cut out of one block, far cheaper than one at a time.
ID_BATCH = 1024

#: Random bytes of one id.
_BYTES = 16
#: Hex digits in groups of four, each group followed by a dash: 40 characters per UUID,
#: whose dashes at these places go (after the first, sixth and seventh group) ...
_DROP_AT = (4, 29, 34)
#: ... and the last becomes the end of the id.
_END_AT = 39
_RECORD = 40
#: Where the version and the variant digits of a UUID fall in its record.
_VERSION_AT, _VARIANT_AT = 15, 20
#: The variant (RFC 9562: bits 10xx) from any hex digit.
_VARIANT = bytes.maketrans(b"0123456789abcdef", b"89ab" * 4)


class IdSource:
    """Version 4 UUIDs and correlation ids, reproducible from a seed, made in batches."""

    def __init__(self, seed: int) -> None:
        self._source = random.Random(seed)

    def batch(self, n: int = ID_BATCH) -> tuple[list[bytes], list[bytes]]:
        """The next `n` order ids and `n` correlation ids, in the order to use them."""
        return random_ids(self._source, n)


def random_ids(source: random.Random, n: int) -> tuple[list[bytes], list[bytes]]:
    """`n` version 4 UUIDs and `n` correlation ids (32 hex digits, like a W3C trace id),
    as ASCII bytes.

    Every step works on the whole batch in C (`binascii.hexlify`, strided slice
    assignment, `replace`, `split`), never one Python statement per id.
    """
    text = bytearray(binascii.hexlify(source.randbytes(_BYTES * n), b"-", 2))
    text += b"-"
    for at in _DROP_AT:
        text[at::_RECORD] = b"_" * n
    text[_VERSION_AT::_RECORD] = b"4" * n
    text[_VARIANT_AT::_RECORD] = text[_VARIANT_AT::_RECORD].translate(_VARIANT)
    text[_END_AT::_RECORD] = b"\n" * n
    del text[-1]
    uuids = bytes(text).replace(b"_", b"").split(b"\n")
    traces = binascii.hexlify(source.randbytes(_BYTES * n), b"\n", _BYTES).split(b"\n")
    return uuids, traces


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
