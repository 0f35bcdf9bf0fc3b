"""Order events for the producer: realistic, self-contained, reproducible, optionally faulty.

`OrderGenerator` draws a catalogue (products, prices, stock per warehouse) and a set of
returning customers once, from its seed (`catalogue`), renders every fixed piece of JSON
once (`rendering`), and then makes one event per `next_event()` call, or a batch of them
per `next_batch(n)` call (the producer's hot path).

Generating costs little per order because every choice is made ahead, a block at a time
(`_BLOCK` orders): the order ids and correlation ids (`ids`), each order's basket slot and
customer, which baskets get replaced after their use, and the message headers. An order is
then only joined from ready-made UTF-8 fragments: a pool of 256 baskets is kept ready, one
of them rebuilt after about every 64 orders so that stock keeps moving. A batch does even
the joining in C (`map`, `zip`), reading the clock once per segment of at most
`_SEGMENT` orders instead of once per order.

Deliberately faulty events take a slower path (`faults`): the valid order is decoded,
broken in exactly one way and encoded again, so each one is rejected for a single, named
reason. Which orders are faulty is drawn ahead too, as the gaps between them.

Everything random comes from one `random.Random(seed)` (and generators it seeds): the same
seed gives the same customers, items, order ids, correlation ids and faults in the same
order, whether the events are taken one at a time or in batches (only the timestamps,
taken from `clock`, differ). Two runs with the same seed therefore repeat their order ids.
"""

from __future__ import annotations

import math
import random
import sys
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import repeat

from orderdesk.config import ProducerSettings
from orderdesk.domain import headers as hdr
from orderdesk.domain.order import CONTENT_TYPE, EVENT_ORDER_CREATED, SCHEMA_VERSION
from orderdesk.producer import catalogue
from orderdesk.producer.faults import FAULT_KINDS, FaultKind, break_value
from orderdesk.producer.ids import ID_BATCH, IdSource, Timestamps
from orderdesk.producer.rendering import SOURCE, Fragments

__all__ = [
    "SOURCE",
    "FaultKind",
    "GeneratedEvent",
    "Header",
    "OrderBatch",
    "OrderGenerator",
    "OrderMessage",
]

#: As `Producer.produce` takes them (the generator itself only writes bytes).
Header = tuple[str, str | bytes | None]

_EVENT_TYPE_HEADER = (hdr.EVENT_TYPE, EVENT_ORDER_CREATED.encode())
_SCHEMA_VERSION_HEADER = (hdr.SCHEMA_VERSION, SCHEMA_VERSION.encode())
_CONTENT_TYPE_HEADER = (hdr.CONTENT_TYPE, CONTENT_TYPE.encode())
_CORRELATION_ID = hdr.CORRELATION_ID

#: Orders whose choices are drawn at once (one block of ids).
_BLOCK = ID_BATCH
#: Baskets ready to be ordered; each use replaces its basket with probability 1/64, so
#: stock keeps moving while building a basket costs little per order. A small pool keeps
#: what each order reads in the CPU caches (measured: 256 beat 1024 inside the producer).
#: A basket slot is one random byte; a replacement one byte below 4.
_BASKETS = 256
_RENEW = bytes(1 if b < _BASKETS // 64 else 0 for b in range(256))
#: Returning customers: a customer is one of 4096 slots (12 random bits), shared out so
#: that some customers order far more than others (the first customers the most).
_CUSTOMER_SLOTS = 1 << 12
#: The high byte of two random bytes cut to 4 bits: 12 bits (little-endian).
_HIGH_NIBBLE = bytes(b & 0x0F for b in range(256))
#: A batch reads the clock at least once per this many orders.
_SEGMENT = 64
#: Where the JSON of an order starts and ends; between these the generator joins the order
#: id, the sequence, a basket, a customer, the timestamp and the correlation id.
_HEAD = b'{"order_id":"'
_SEQUENCE = b'","sequence":'
_END = b'"}}'
_NEVER = sys.maxsize


@dataclass(slots=True)
class GeneratedEvent:
    """One Kafka message to send: key, value and headers, and what it was meant to be."""

    key: bytes
    value: bytes
    headers: list[Header]
    order_id_bytes: bytes
    correlation_id_bytes: bytes
    #: The generator's running count, from 1; a faulty event may carry another in its value.
    sequence: int
    #: None for a valid order.
    fault: FaultKind | None = None

    @property
    def order_id(self) -> str:
        return self.order_id_bytes.decode("ascii")

    @property
    def correlation_id(self) -> str:
        return self.correlation_id_bytes.decode("ascii")


#: What the producer sends: key, value, headers, and the fault (None for a valid order).
OrderMessage = tuple[bytes, bytes, list[Header], FaultKind | None]


def _customer_slots(n: int) -> list[int]:
    """Customer indices for `_CUSTOMER_SLOTS` slots: customer i gets the share of a skewed
    draw (the square of a uniform one) that falls on it, so the first order most often."""
    bounds = [round(_CUSTOMER_SLOTS * math.sqrt(i / n)) for i in range(n + 1)]
    slots: list[int] = []
    for i in range(n):
        slots += [i] * (bounds[i + 1] - bounds[i])
    return slots


class OrderGenerator:
    """A seeded stream of order events built from a fixed catalogue and customer base."""

    def __init__(
        self,
        settings: ProducerSettings,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.seed = seed
        self._rng = rng = random.Random(seed)
        self._clock = clock
        self._sequence = 0
        self._faulty_ratio = settings.faulty_ratio
        self._millisecond = -1
        self._stamp_text = b""
        self._timestamps = Timestamps()

        # The order of the draws below is the seed's output: keep it.
        self.warehouses = catalogue.warehouses(settings.default_warehouse)
        self.products = catalogue.make_products(rng, settings.max_items)
        self.customers = catalogue.make_customers(rng)
        #: Units in stock, [product][warehouse].
        self.stock = [[rng.randint(20, 400) for _ in self.warehouses] for _ in self.products]
        self._fragments = fragments = Fragments(
            settings, self.products, self.customers, self.warehouses
        )
        parts = fragments.customer_parts
        who = _customer_slots(len(parts))
        self._customer_keys = [parts[i][0] for i in who]
        self._customer_json = [parts[i][1] for i in who]
        self._metadata_tail = fragments.metadata_tail
        self._baskets = [self._basket() for _ in range(_BASKETS)]
        self._id_source = IdSource(rng.getrandbits(128))
        self._choices = random.Random(rng.getrandbits(128))
        #: Fault kinds and how to break each faulty event, apart from the baskets' draws,
        #: so that taking events one by one or in batches draws the same.
        self._fault_rng = random.Random(rng.getrandbits(128))
        self._next_fault = self._fault_gap()
        # The current block of choices; `_at` is the next order's place in it.
        self._at = _BLOCK
        self._order_ids: list[bytes] = []
        self._correlation_ids: list[bytes] = []
        self._slots: list[int] = []
        self._who: list[int] = []
        self._renew = b""

    def _basket(self) -> bytes:
        return self._fragments.basket(self._rng.random, self.stock)

    def _new_block(self) -> None:
        self._at = 0
        self._order_ids, self._correlation_ids = self._id_source.batch(_BLOCK)
        choices = self._choices
        self._slots = list(choices.randbytes(_BLOCK))
        draws = bytearray(choices.randbytes(2 * _BLOCK))
        draws[1::2] = draws[1::2].translate(_HIGH_NIBBLE)
        who = array("H", draws)
        if sys.byteorder == "big":
            who.byteswap()  # the same stream on every machine
        self._who = who.tolist()
        self._renew = choices.randbytes(_BLOCK).translate(_RENEW)

    def _fault_gap(self) -> int:
        """Orders to the next faulty one (1: the next order): each order is faulty with
        probability `faulty_ratio`, on its own."""
        ratio = self._faulty_ratio
        if ratio >= 1.0:
            return 1
        if ratio <= 0.0:
            return _NEVER
        gap = math.log(1.0 - self._fault_rng.random()) / math.log1p(-ratio)
        return 1 + int(min(gap, _NEVER / 2))

    def _stamp(self) -> bytes:
        """The metadata from the timestamp's value to the correlation id's value."""
        millisecond = int(self._clock() * 1000)
        if millisecond != self._millisecond:
            # Made again only when the clock moved to another millisecond.
            self._millisecond = millisecond
            self._stamp_text = self._timestamps.text(millisecond) + self._metadata_tail
        return self._stamp_text

    def _break(self, value: bytes) -> tuple[FaultKind, bytes]:
        """The scheduled fault: its kind, and `value` broken that way; schedules the next."""
        rng = self._fault_rng
        fault = FAULT_KINDS[int(rng.random() * len(FAULT_KINDS))]
        value = break_value(value, fault, rng)
        self._next_fault += self._fault_gap()
        return fault, value

    @property
    def generated(self) -> int:
        """Events generated so far (the last sequence number)."""
        return self._sequence

    def next_event(self) -> GeneratedEvent:
        """The next event: a valid order, or with probability `faulty_ratio` a faulty one."""
        key, value, headers, fault = self.next_message()
        at = self._at - 1
        return GeneratedEvent(
            key,
            value,
            headers,
            self._order_ids[at],
            self._correlation_ids[at],
            self._sequence,
            fault,
        )

    def next_message(self) -> OrderMessage:
        """`next_event()` as the producer sends it, without the event object.

        The same seed gives the same messages as `next_event()` gives events.
        """
        key, value, headers = self._valid_message()
        if self._sequence == self._next_fault:
            fault, value = self._break(value)
            return key, value, headers, fault
        return key, value, headers, None

    def faulty_event(self, fault: FaultKind) -> GeneratedEvent:
        """The next event, broken in the way `fault` names (its key and headers stay valid)."""
        key, value, headers = self._valid_message()
        if self._sequence == self._next_fault:
            self._next_fault += self._fault_gap()
        at = self._at - 1
        return GeneratedEvent(
            key,
            break_value(value, fault, self._fault_rng),
            headers,
            self._order_ids[at],
            self._correlation_ids[at],
            self._sequence,
            fault,
        )

    def _valid_message(self) -> tuple[bytes, bytes, list[Header]]:
        at = self._at
        if at == _BLOCK:
            self._new_block()
            at = 0
        self._at = at + 1
        self._sequence = sequence = self._sequence + 1
        slot = self._slots[at]
        who = self._who[at]
        value = b"".join(
            (
                _HEAD,
                self._order_ids[at],
                _SEQUENCE,
                b"%d" % sequence,
                self._baskets[slot],
                self._customer_json[who],
                self._stamp(),
                self._correlation_ids[at],
                _END,
            )
        )
        if self._renew[at]:
            self._baskets[slot] = self._basket()
        headers: list[Header] = [
            _EVENT_TYPE_HEADER,
            _SCHEMA_VERSION_HEADER,
            (_CORRELATION_ID, self._correlation_ids[at]),
            _CONTENT_TYPE_HEADER,
        ]
        return self._customer_keys[who], value, headers

    def next_batch(self, n: int) -> OrderBatch:
        """The next `n` messages, as `next_message()` would give them one by one."""
        batch = OrderBatch(self._sequence + 1)
        while n > 0:
            if self._at == _BLOCK:
                self._new_block()
            chunk = min(n, _BLOCK - self._at)
            self._fill(batch, chunk)
            n -= chunk
        return batch

    def _fill(self, batch: OrderBatch, n: int) -> None:
        """Add `n` messages from the current block, which holds at least `n` more."""
        start = self._at
        end = self._at = start + n
        first = self._sequence + 1
        self._sequence += n
        slots = self._slots
        renew = self._renew
        baskets = self._baskets
        chosen = batch.baskets
        stamps = batch.stamps
        at = start
        while at < end:
            stop = min(end, at + _SEGMENT)
            renewed = renew.find(1, at, stop)
            if renewed >= 0:
                stop = renewed + 1
            chosen += map(baskets.__getitem__, slots[at:stop])
            stamps += [self._stamp()] * (stop - at)
            if renewed >= 0:
                baskets[slots[renewed]] = self._basket()
            at = stop
        who = self._who[start:end]
        batch.keys += map(self._customer_keys.__getitem__, who)
        batch.customers += map(self._customer_json.__getitem__, who)
        batch.order_ids += self._order_ids[start:end]
        batch.correlation_ids += self._correlation_ids[start:end]
        while self._next_fault < first + n:
            at = self._next_fault - batch.first_sequence
            batch.broken[at] = self._break(batch.message(at)[1])[1]
            batch.faults.append(at)


class OrderBatch:
    """Messages that `OrderGenerator.next_batch` made together.

    `keys` holds every message's key. The values and the header lists are made as
    `values()` and `headers()` are read, in step (read each once, in order): so only the
    message being sent takes memory, which a batch of ready values would take from the
    CPU caches, and no header list lives long enough for the garbage collector to look
    at it. `message(i)` makes the i-th message again, for a caller that lost it.
    """

    __slots__ = (
        "baskets",
        "broken",
        "correlation_ids",
        "customers",
        "faults",
        "first_sequence",
        "keys",
        "order_ids",
        "stamps",
    )

    def __init__(self, first_sequence: int) -> None:
        self.first_sequence = first_sequence
        self.keys: list[bytes] = []
        #: Positions of the deliberately faulty messages, and their broken values.
        self.faults: list[int] = []
        self.broken: dict[int, bytes] = {}
        # The pieces of each value that differ from one order to the next.
        self.order_ids: list[bytes] = []
        self.baskets: list[bytes] = []
        self.customers: list[bytes] = []
        self.stamps: list[bytes] = []
        self.correlation_ids: list[bytes] = []

    def __len__(self) -> int:
        return len(self.keys)

    def values(self) -> Iterator[bytes]:
        first = self.first_sequence
        values = map(
            b"".join,
            zip(
                repeat(_HEAD),
                self.order_ids,
                repeat(_SEQUENCE),
                map(b"%d".__mod__, range(first, first + len(self.keys))),
                self.baskets,
                self.customers,
                self.stamps,
                self.correlation_ids,
                repeat(_END),
            ),
        )
        if not self.broken:
            return values
        made = list(values)
        for at, value in self.broken.items():
            made[at] = value
        return iter(made)

    def headers(self) -> Iterator[list[Header]]:
        return map(
            list,
            zip(
                repeat(_EVENT_TYPE_HEADER),
                repeat(_SCHEMA_VERSION_HEADER),
                zip(repeat(_CORRELATION_ID), self.correlation_ids),
                repeat(_CONTENT_TYPE_HEADER),
            ),
        )

    def message(self, at: int) -> tuple[bytes, bytes, list[Header]]:
        """Key, value and headers of the message at position `at`, made again."""
        value = self.broken.get(at)
        if value is None:
            value = b"".join(
                (
                    _HEAD,
                    self.order_ids[at],
                    _SEQUENCE,
                    b"%d" % (self.first_sequence + at),
                    self.baskets[at],
                    self.customers[at],
                    self.stamps[at],
                    self.correlation_ids[at],
                    _END,
                )
            )
        headers: list[Header] = [
            _EVENT_TYPE_HEADER,
            _SCHEMA_VERSION_HEADER,
            (_CORRELATION_ID, self.correlation_ids[at]),
            _CONTENT_TYPE_HEADER,
        ]
        return self.keys[at], value, headers
