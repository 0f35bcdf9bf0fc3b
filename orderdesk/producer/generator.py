"""Order events for the producer: realistic, self-contained, reproducible, optionally faulty.

`OrderGenerator` builds a catalogue (products, prices, stock per warehouse) and a set of
returning customers once, from its seed, and then makes one event per `next_event()` call.

Generating is on the producer's hot path, so per order it only joins ready-made UTF-8
fragments: every customer's JSON is rendered once, and a pool of 256 baskets (status,
items, sums, payment, inventory status) is kept ready, one of them rebuilt after about
every 64 orders so that stock keeps moving. Money is counted in integer cents, which keeps
every sum exact. Ids are drawn 1024 at a time. Keys come in a fixed order that differs from
the listing in the domain contract (metadata last), which JSON readers ignore.

Deliberately faulty events take a slower path: the valid order is decoded, broken in
exactly one way and encoded again, so each one is rejected for a single, named reason.

Everything random comes from one `random.Random(seed)`: the same seed gives the same
customers, items, order ids and correlation ids in the same order (only the timestamps,
taken from `clock`, differ). Two runs with the same seed therefore repeat their order ids.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from orderdesk.config import ProducerSettings
from orderdesk.domain import headers as hdr
from orderdesk.domain.failures import FailureReason
from orderdesk.domain.order import CONTENT_TYPE, EVENT_ORDER_CREATED, SCHEMA_VERSION

SOURCE = "orderdesk-producer"

Header = tuple[str, bytes]

_EVENT_TYPE_HEADER = (hdr.EVENT_TYPE, EVENT_ORDER_CREATED.encode())
_SCHEMA_VERSION_HEADER = (hdr.SCHEMA_VERSION, SCHEMA_VERSION.encode())
_CONTENT_TYPE_HEADER = (hdr.CONTENT_TYPE, CONTENT_TYPE.encode())


class FaultKind(StrEnum):
    """Ways a deliberately faulty event is bad; each maps to the failure the tracker reports."""

    NOT_JSON = "not_json"
    NOT_UTF8 = "not_utf8"
    WRONG_SHAPE = "wrong_shape"
    ITEM_TOTAL_MISMATCH = "item_total_mismatch"
    SUB_TOTAL_MISMATCH = "sub_total_mismatch"
    TOTAL_MISMATCH = "total_mismatch"
    BLANK_ORDER_ID = "blank_order_id"
    BLANK_STATUS = "blank_status"
    BLANK_CUSTOMER_ID = "blank_customer_id"
    BLANK_CUSTOMER_NAME = "blank_customer_name"
    BLANK_ITEM_ID = "blank_item_id"
    NON_POSITIVE_QUANTITY = "non_positive_quantity"
    NEGATIVE_PRICE = "negative_price"
    BAD_EMAIL = "bad_email"
    NO_ITEMS = "no_items"
    NON_POSITIVE_SEQUENCE = "non_positive_sequence"

    @property
    def reason(self) -> FailureReason:
        """The failure reason the tracker must give this event."""
        if self in _NOT_AN_ORDER:
            return FailureReason.DESERIALIZATION_ERROR
        return FailureReason.VALIDATION_ERROR


_NOT_AN_ORDER = frozenset({FaultKind.NOT_JSON, FaultKind.NOT_UTF8, FaultKind.WRONG_SHAPE})


@dataclass(slots=True)
class GeneratedEvent:
    """One Kafka message to send: key, value and headers, and what it was meant to be."""

    key: bytes
    value: bytes
    headers: list[Header]
    order_id: str
    correlation_id: str
    #: The generator's running count, from 1; a faulty event may carry another in its value.
    sequence: int
    #: None for a valid order.
    fault: FaultKind | None = None


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    price_cents: int


@dataclass(frozen=True)
class Customer:
    customer_id: str
    name: str
    email: str
    phone: str
    address: str
    city: str
    loyalty_level: str


# name, category, price in euros
_BASE_PRODUCTS: tuple[tuple[str, str, float], ...] = (
    ("Wireless Mouse", "electronics", 24.90),
    ("Mechanical Keyboard", "electronics", 89.00),
    ("USB-C Hub", "electronics", 39.99),
    ("27-inch Monitor", "electronics", 249.00),
    ("Noise-Cancelling Headphones", "electronics", 179.50),
    ("Webcam HD", "electronics", 59.90),
    ("Portable SSD 1 TB", "electronics", 109.00),
    ("Phone Charger 30 W", "electronics", 19.99),
    ("Bluetooth Speaker", "electronics", 49.00),
    ("E-Reader", "electronics", 129.99),
    ("Espresso Machine", "kitchen", 199.00),
    ("Chef's Knife", "kitchen", 64.50),
    ("Cast Iron Pan", "kitchen", 42.00),
    ("Electric Kettle", "kitchen", 34.90),
    ("Coffee Beans 1 kg", "kitchen", 21.40),
    ("Tea Assortment", "kitchen", 12.80),
    ("Cutting Board", "kitchen", 18.00),
    ("Blender", "kitchen", 79.00),
    ("Running Shoes", "sport", 119.00),
    ("Yoga Mat", "sport", 29.90),
    ("Water Bottle", "sport", 14.50),
    ("Cycling Helmet", "sport", 69.00),
    ("Tennis Racket", "sport", 95.00),
    ("Backpack 30 L", "sport", 74.99),
    ("Desk Lamp", "home", 36.00),
    ("Office Chair", "home", 229.00),
    ("Throw Blanket", "home", 39.00),
    ("Scented Candle", "home", 16.90),
    ("Plant Pot", "home", 11.50),
    ("Wall Clock", "home", 27.00),
    ("Notebook A5", "stationery", 6.90),
    ("Fountain Pen", "stationery", 48.00),
    ("Sticky Notes", "stationery", 3.20),
    ("Desk Organizer", "stationery", 22.50),
    ("Board Game", "toys", 44.90),
    ("Puzzle 1000 pieces", "toys", 19.90),
    ("Building Blocks Set", "toys", 59.99),
    ("Paperback Novel", "books", 9.50),
    ("Cookbook", "books", 27.90),
    ("Travel Guide", "books", 18.50),
)
_VARIANTS = ("", " (black)", " (white)", " (blue)", " (grey)", " (red)", " (green)", " XL")

_FIRST_NAMES = (
    "Camille", "Léa", "Manon", "Chloé", "Inès", "Jade", "Louise", "Emma", "Sarah", "Julie",
    "Lucas", "Hugo", "Louis", "Gabriel", "Arthur", "Jules", "Nathan", "Théo", "Paul", "Adam",
    "Amélie", "Hélène", "Noé", "Mathis", "Sofia", "Yasmine", "Karim", "Mehdi", "Anaïs", "Zoé",
)  # fmt: skip
_LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert",
    "Bonnet", "François", "Martinez", "Legrand",
)  # fmt: skip
_STREETS = (
    "rue de la Paix", "avenue Victor Hugo", "boulevard Saint-Michel", "rue du Moulin",
    "place de la République", "rue des Lilas", "chemin des Vignes", "rue Pasteur",
    "avenue Jean Jaurès", "rue de la Gare", "allée des Tilleuls", "quai de la Loire",
)  # fmt: skip
# city, postcode prefix, warehouse that serves it (None: the default warehouse)
_CITIES: tuple[tuple[str, str, str | None], ...] = (
    ("Paris", "750", None),
    ("Lyon", "690", "LYON-01"),
    ("Marseille", "130", "MARSEILLE-01"),
    ("Toulouse", "310", "TOULOUSE-01"),
    ("Lille", "590", "LILLE-01"),
    ("Bordeaux", "330", "BORDEAUX-01"),
    ("Nantes", "440", None),
    ("Strasbourg", "670", None),
    ("Rennes", "350", None),
    ("Montpellier", "340", "MARSEILLE-01"),
)
_EMAIL_DOMAINS = ("example.com", "mail.example.org", "example.net", "shop.example.fr")
# (level, weight): most customers are new, a few are long-standing.
_LOYALTY = (("bronze", 50), ("silver", 30), ("gold", 15), ("platinum", 5))
_STATUSES = (("pending", 70), ("paid", 30))
_OTHER_PAYMENT_METHODS = (("paypal", 20), ("debit_card", 15), ("bank_transfer", 5))
_QUANTITIES = ((1, 55), (2, 25), (3, 10), (4, 6), (5, 4))
_CUSTOMERS = 500
_ASCII = str.maketrans("éèêëàâäîïôöûüçÉ", "eeeeaaaiioouucE")


def _weighted(pairs: tuple[tuple[Any, int], ...]) -> tuple[Any, ...]:
    """A lookup table where each value appears `weight` times: one random index picks one."""
    return tuple(value for value, weight in pairs for _ in range(weight))


def _js(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _money(cents: int) -> str:
    """JSON number for an amount in cents: exact, and as short as the float's repr."""
    return repr(cents / 100)


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
        self._rng = random.Random(seed)
        self._clock = clock
        self._sequence = 0
        self._faulty_ratio = settings.faulty_ratio
        self._shipping_cents = round(settings.shipping_fee * 100)
        self._tax_rate = settings.tax_rate
        self._millisecond = -1
        self._second = -1
        self._second_text = ""
        self._timestamp_text = b""

        self.warehouses = self._warehouses(settings.default_warehouse)
        self.products = self._make_products(settings.max_items)
        self.customers = self._make_customers()
        #: Units in stock, [product][warehouse].
        self.stock = [[self._rng.randint(20, 400) for _ in self.warehouses] for _ in self.products]
        self._render_fragments()
        # Returning customers: a skewed draw, so some customers order far more than others.
        self._customer_draws = [
            self._customer_parts[int(u * u * len(self._customer_parts))]
            for u in (self._rng.random() for _ in range(1 << _CUSTOMER_BITS))
        ]
        self._baskets = [self._basket() for _ in range(_BASKETS)]
        #: Ids not used yet, taken from the end; drawn from a generator seeded by this one.
        self._ids: list[tuple[str, bytes, str, bytes]] = []
        self._id_source = np.random.default_rng(self._rng.getrandbits(128))
        if not self._faulty_ratio:
            # No faults asked for: spare the hot path a random draw and a call per event.
            self.next_event = self._valid_event  # type: ignore[method-assign]

    # -- set-up, once -------------------------------------------------------------------------

    @staticmethod
    def _warehouses(default: str) -> list[str]:
        names = [default]
        for _, _, warehouse in _CITIES:
            if warehouse is not None and warehouse not in names:
                names.append(warehouse)
        return names

    def _make_products(self, max_items: int) -> list[Product]:
        rng = self._rng
        products: list[Product] = []
        # Enough products for an order of max_items distinct lines to be a small draw.
        wanted = max(len(_BASE_PRODUCTS), 2 * max_items)
        variant = 0
        while len(products) < wanted:
            suffix = _VARIANTS[variant % len(_VARIANTS)]
            for name, category, euros in _BASE_PRODUCTS:
                if len(products) == wanted:
                    break
                # Variants cost a little more or less than the base model.
                factor = 1.0 if variant == 0 else rng.uniform(0.9, 1.15)
                cents = max(1, round(euros * 100 * factor))
                sku = f"SKU-{category[:3].upper()}-{len(products) + 1:04d}"
                products.append(Product(sku, name + suffix, category, cents))
            variant += 1
        return products

    def _make_customers(self) -> list[Customer]:
        rng = self._rng
        loyalty = _weighted(_LOYALTY)
        customers = []
        for i in range(1, _CUSTOMERS + 1):
            first = rng.choice(_FIRST_NAMES)
            last = rng.choice(_LAST_NAMES)
            city, postcode, _ = rng.choice(_CITIES)
            local = f"{first}.{last}".lower().translate(_ASCII).replace(" ", "")
            email = f"{local}{rng.randint(1, 99)}@{rng.choice(_EMAIL_DOMAINS)}"
            phone = "+33 {} {:02d} {:02d} {:02d} {:02d}".format(
                rng.choice((6, 7)), *(rng.randint(0, 99) for _ in range(4))
            )
            address = (
                f"{rng.randint(1, 180)} {rng.choice(_STREETS)}, "
                f"{postcode}{rng.randint(1, 20):02d} {city}, France"
            )
            customers.append(
                Customer(
                    customer_id=f"CUST-{i:05d}",
                    name=f"{first} {last}",
                    email=email,
                    phone=phone,
                    address=address,
                    city=city,
                    loyalty_level=rng.choice(loyalty),
                )
            )
        return customers

    def _render_fragments(self) -> None:
        """Render once every piece of JSON that does not change from one order to the next."""
        s = self.settings
        # (key, JSON from shipping_address to the metadata's timestamp value)
        self._customer_parts = [
            (
                c.customer_id.encode(),
                (
                    f',"shipping_address":{_js(c.address)},"customer_info":{{'
                    f'"customer_id":{_js(c.customer_id)},"name":{_js(c.name)},'
                    f'"email":{_js(c.email)},"phone":{_js(c.phone)},'
                    f'"address":{_js(c.address)},"loyalty_level":{_js(c.loyalty_level)}}},'
                    f'"metadata":{{"timestamp":"'
                ).encode(),
            )
            for c in self.customers
        ]
        max_qty = max(q for q, _ in _QUANTITIES)
        # item_lines[product][quantity] = (JSON of the item line, its total in cents)
        self._item_lines: list[list[tuple[str, int]]] = []
        self._inventory_heads = []
        self._inventory_tails = []
        for p in self.products:
            head = f'{{"item_id":{_js(p.sku)},"item_name":{_js(p.name)},'
            price = _money(p.price_cents)
            lines = [("", 0)]
            for q in range(1, max_qty + 1):
                total = q * p.price_cents
                lines.append(
                    (
                        f'{head}"quantity":{q},"unit_price":{price},'
                        f'"total_price":{_money(total)}}}',
                        total,
                    )
                )
            self._item_lines.append(lines)
            self._inventory_heads.append(f'{head}"available_qty":')
            # [warehouse][in_stock] -> from unit_price to the end of the entry
            self._inventory_tails.append(
                [
                    [
                        f',"unit_price":{price},"in_stock":{flag},"warehouse":{_js(w)}}}'
                        for flag in ("false", "true")
                    ]
                    for w in self.warehouses
                ]
            )
        self._statuses = [f',"status":"{st}","items":[' for st in _weighted(_STATUSES)]
        self._payment_tails = [
            f',"shipping_fee":{_money(self._shipping_cents)},"currency":{_js(s.currency)},'
            f'"payment_method":{_js(m)},"inventory_status":['
            for m in (*([s.default_payment_method] * 60), *_weighted(_OTHER_PAYMENT_METHODS))
        ]
        self._quantities = _weighted(_QUANTITIES)
        # Most orders hold one to three lines.
        self._line_counts = tuple(
            n for n in range(1, s.max_items + 1) for _ in range(max(1, 12 // (n * n)))
        )
        self._metadata_tail = (
            f'","version":"{SCHEMA_VERSION}","event_type":"{EVENT_ORDER_CREATED}",'
            f'"source":"{SOURCE}","correlation_id":"'
        ).encode()

    def _basket(self) -> bytes:
        """JSON of an order from its status to its inventory status, stock taken as it goes.

        Half the baskets ship from the default warehouse. Stock runs down with every basket;
        a warehouse that runs out of a product is restocked.
        """
        rand = self._rng.random
        warehouse = 0 if rand() < 0.5 else int(rand() * len(self.warehouses))
        n_products = len(self.products)
        lines = self._line_counts[int(rand() * len(self._line_counts))]
        chosen: list[int] = []
        while len(chosen) < lines:
            p = int(rand() * n_products)
            if p not in chosen:
                chosen.append(p)
        items = []
        inventory = []
        sub_cents = 0
        quantities = self._quantities
        for p in chosen:
            q = quantities[int(rand() * len(quantities))]
            line, cents = self._item_lines[p][q]
            items.append(line)
            sub_cents += cents
            level = self.stock[p]
            available = level[warehouse]
            in_stock = available >= q
            level[warehouse] = available - q if in_stock else available + 250
            inventory.append(
                f"{self._inventory_heads[p]}{available},"
                f'"reserved_qty":{q}{self._inventory_tails[p][warehouse][in_stock]}'
            )
        tax_cents = round(sub_cents * self._tax_rate)
        total_cents = sub_cents + tax_cents + self._shipping_cents
        return "".join(
            (
                self._statuses[int(rand() * len(self._statuses))],
                ",".join(items),
                f'],"sub_total":{_money(sub_cents)},"tax":{_money(tax_cents)},'
                f'"total":{_money(total_cents)}',
                self._payment_tails[int(rand() * len(self._payment_tails))],
                ",".join(inventory),
                "]",
            )
        ).encode()

    # -- per event ----------------------------------------------------------------------------

    @property
    def generated(self) -> int:
        """Events generated so far (the last sequence number)."""
        return self._sequence

    def next_event(self) -> GeneratedEvent:
        """The next event: a valid order, or with probability `faulty_ratio` a faulty one."""
        rng = self._rng
        if self._faulty_ratio and rng.random() < self._faulty_ratio:
            return self.faulty_event(_FAULT_KINDS[int(rng.random() * len(_FAULT_KINDS))])
        return self._valid_event()

    def faulty_event(self, fault: FaultKind) -> GeneratedEvent:
        """The next event, broken in the way `fault` names (its key and headers stay valid)."""
        event = self._valid_event()
        event.fault = fault
        event.value = _break(event.value, fault, self._rng)
        return event

    def _valid_event(self) -> GeneratedEvent:
        self._sequence = sequence = self._sequence + 1
        rng = self._rng
        # One draw picks the basket, whether to replace it after this use, and the customer.
        draw = rng.getrandbits(_DRAW_BITS)
        slot = draw & _BASKET_MASK
        basket = self._baskets[slot]
        key, customer = self._customer_draws[draw >> _CUSTOMER_SHIFT]
        ids = self._ids
        if not ids:
            ids = self._ids = _random_ids(self._id_source, _ID_BATCH)
        order_id, order_id_bytes, correlation_id, correlation = ids.pop()
        # The timestamp's text is made again only when the clock moved to another millisecond.
        millisecond = int(self._clock() * 1000)
        if millisecond != self._millisecond:
            self._timestamp_text = self._timestamp(millisecond)
        value = b"".join(
            (
                b'{"order_id":"',
                order_id_bytes,
                b'","sequence":',
                b"%d" % sequence,
                basket,
                customer,
                self._timestamp_text,
                self._metadata_tail,
                correlation,
                b'"}}',
            )
        )
        if not draw & _REFRESH_MASK:
            self._baskets[slot] = self._basket()
        return GeneratedEvent(
            key,
            value,
            [
                _EVENT_TYPE_HEADER,
                _SCHEMA_VERSION_HEADER,
                (_CORRELATION_ID, correlation),
                _CONTENT_TYPE_HEADER,
            ],
            order_id,
            correlation_id,
            sequence,
        )

    def _timestamp(self, millisecond: int) -> bytes:
        self._millisecond = millisecond
        second, ms = divmod(millisecond, 1000)
        if second != self._second:
            self._second = second
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._second_text}.{ms:03d}Z".encode()


#: Baskets ready to be ordered; each use replaces its basket with probability 1/64, so
#: stock keeps moving while building a basket costs little per order. A small pool keeps
#: what each order reads in the CPU caches (measured: 256 beat 1024 inside the producer).
#: The bits of one random draw per order: basket slot, refresh or not, customer.
_BASKET_BITS, _REFRESH_BITS, _CUSTOMER_BITS = 8, 6, 12
_BASKETS = 1 << _BASKET_BITS
_BASKET_MASK = _BASKETS - 1
_REFRESH_MASK = ((1 << _REFRESH_BITS) - 1) << _BASKET_BITS
_CUSTOMER_SHIFT = _BASKET_BITS + _REFRESH_BITS
_DRAW_BITS = _CUSTOMER_SHIFT + _CUSTOMER_BITS
#: Ids made at once: their text is cut out of one array, far cheaper than one at a time.
_ID_BATCH = 1024
_CORRELATION_ID = hdr.CORRELATION_ID
_HEX_VALUE = np.zeros(256, np.uint8)
_HEX_VALUE[np.frombuffer(b"0123456789abcdef", np.uint8)] = np.arange(16, dtype=np.uint8)
_UUID_VARIANT = np.frombuffer(b"89ab" * 4, np.uint8)


def _random_ids(source: np.random.Generator, n: int) -> list[tuple[str, bytes, str, bytes]]:
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


_FAULT_KINDS = tuple(FaultKind)


# -- faults: the slow path, taken only by the faulty share of events ----------------------------


def _dumps(order: Any) -> bytes:
    return json.dumps(order, ensure_ascii=False, separators=(",", ":")).encode()


def _cents(amount: float) -> int:
    return round(amount * 100)


def _resum(order: dict[str, Any]) -> None:
    """Make sub_total and total agree with the items again, after an item was changed."""
    sub = sum(_cents(item["total_price"]) for item in order["items"])
    order["sub_total"] = sub / 100
    order["total"] = (sub + _cents(order["tax"]) + _cents(order["shipping_fee"])) / 100


def _break(value: bytes, fault: FaultKind, rng: random.Random) -> bytes:
    """The valid order `value`, broken in exactly the way `fault` names."""
    if fault is FaultKind.NOT_JSON:
        # A writer that died half-way: an object cut short is never valid JSON.
        return value[: max(1, int(len(value) * rng.uniform(0.1, 0.9)))]
    order = json.loads(value)
    if fault is FaultKind.NOT_UTF8:
        # A legacy system writing Latin-1: the customer's name is no longer UTF-8.
        order["customer_info"]["name"] = "\x00NAME\x00"
        encoded = _dumps(order)
        return encoded.replace(b"\\u0000NAME\\u0000", "René Lefèvre".encode("latin-1"))
    if fault is FaultKind.WRONG_SHAPE:
        shape = rng.randrange(3)
        if shape == 0:
            return _dumps([order])
        if shape == 1:
            del order["customer_info"]
            return _dumps(order)
        order["items"][0]["quantity"] = "two"
        return _dumps(order)
    item = order["items"][rng.randrange(len(order["items"]))]
    step = rng.choice((1.0, 5.0, 10.0, -0.5))
    if fault is FaultKind.ITEM_TOTAL_MISMATCH:
        item["total_price"] = round(item["total_price"] + step, 2)
        _resum(order)  # only the item line is wrong, not the sums over it
    elif fault is FaultKind.SUB_TOTAL_MISMATCH:
        order["sub_total"] = round(order["sub_total"] + step, 2)
        order["total"] = round(order["total"] + step, 2)
    elif fault is FaultKind.TOTAL_MISMATCH:
        order["total"] = round(order["total"] + step, 2)
    elif fault is FaultKind.BLANK_ORDER_ID:
        order["order_id"] = rng.choice(("", "   "))
    elif fault is FaultKind.BLANK_STATUS:
        order["status"] = ""
    elif fault is FaultKind.BLANK_CUSTOMER_ID:
        order["customer_info"]["customer_id"] = rng.choice(("", " "))
    elif fault is FaultKind.BLANK_CUSTOMER_NAME:
        order["customer_info"]["name"] = rng.choice(("", "  "))
    elif fault is FaultKind.BLANK_ITEM_ID:
        item["item_id"] = ""
    elif fault is FaultKind.NON_POSITIVE_QUANTITY:
        item["quantity"] = rng.choice((0, -1, -3))
        item["total_price"] = round(item["quantity"] * item["unit_price"], 2)
        _resum(order)
    elif fault is FaultKind.NEGATIVE_PRICE:
        item["unit_price"] = -item["unit_price"]
        item["total_price"] = round(item["quantity"] * item["unit_price"], 2)
        _resum(order)
    elif fault is FaultKind.BAD_EMAIL:
        email = order["customer_info"]["email"]
        order["customer_info"]["email"] = rng.choice(
            (email.replace("@", " at "), email.split("@")[0] + "@", "not-an-email")
        )
    elif fault is FaultKind.NO_ITEMS:
        order["items"] = []
        order["inventory_status"] = []
        order["sub_total"] = 0.0
        order["tax"] = 0.0
        order["total"] = order["shipping_fee"]
    elif fault is FaultKind.NON_POSITIVE_SEQUENCE:
        order["sequence"] = rng.choice((0, -1, -order["sequence"]))
    return _dumps(order)
