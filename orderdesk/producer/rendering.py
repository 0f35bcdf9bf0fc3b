"""The JSON of an order, rendered in ready-made UTF-8 fragments.

Every piece that does not change from one order to the next (a customer, an item line at
each quantity, an inventory entry's fixed parts, the metadata's constant fields) is rendered
once; a basket (status, items, sums, payment, inventory status) is joined from those pieces
with stock taken as it goes. Money is counted in integer cents, which keeps every sum exact.
Keys come in a fixed order that differs from the listing in the domain contract (metadata
last), which JSON readers ignore.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from orderdesk.config import ProducerSettings
from orderdesk.domain.order import EVENT_ORDER_CREATED, SCHEMA_VERSION
from orderdesk.producer.catalogue import (
    OTHER_PAYMENT_METHODS,
    QUANTITIES,
    STATUSES,
    Customer,
    Product,
    weighted,
)

SOURCE = "orderdesk-producer"


#: A JSON string literal, UTF-8 kept as is: `json.dumps(value, ensure_ascii=False)` for a
#: str, without its call overhead (the C encoder it uses).
js = json.encoder.encode_basestring


def money(cents: int) -> str:
    """JSON number for an amount in cents: exact, and as short as the float's repr."""
    return repr(cents / 100)


class Fragments:
    """The pre-rendered pieces of every order, and the basket built from them."""

    def __init__(
        self,
        settings: ProducerSettings,
        products: list[Product],
        customers: list[Customer],
        warehouses: list[str],
    ) -> None:
        s = settings
        self.products = products
        self.warehouses = warehouses
        self.shipping_cents = round(s.shipping_fee * 100)
        self._tax_rate = s.tax_rate
        #: (key, JSON from shipping_address to the metadata's timestamp value), per customer.
        self.customer_parts = [
            (
                c.customer_id.encode(),
                (
                    f',"shipping_address":{js(c.address)},"customer_info":{{'
                    f'"customer_id":{js(c.customer_id)},"name":{js(c.name)},'
                    f'"email":{js(c.email)},"phone":{js(c.phone)},'
                    f'"address":{js(c.address)},"loyalty_level":{js(c.loyalty_level)}}},'
                    f'"metadata":{{"timestamp":"'
                ).encode(),
            )
            for c in customers
        ]
        max_qty = max(q for q, _ in QUANTITIES)
        # item_lines[product][quantity] = (JSON of the item line, its total in cents)
        self._item_lines: list[list[tuple[str, int]]] = []
        self._inventory_heads: list[str] = []
        self._inventory_tails: list[list[list[str]]] = []
        for p in products:
            head = f'{{"item_id":{js(p.sku)},"item_name":{js(p.name)},'
            price = money(p.price_cents)
            lines = [("", 0)]
            for q in range(1, max_qty + 1):
                total = q * p.price_cents
                lines.append(
                    (
                        f'{head}"quantity":{q},"unit_price":{price},"total_price":{money(total)}}}',
                        total,
                    )
                )
            self._item_lines.append(lines)
            self._inventory_heads.append(f'{head}"available_qty":')
            # [warehouse][in_stock] -> from unit_price to the end of the entry
            self._inventory_tails.append(
                [
                    [
                        f',"unit_price":{price},"in_stock":{flag},"warehouse":{js(w)}}}'
                        for flag in ("false", "true")
                    ]
                    for w in warehouses
                ]
            )
        self._statuses = [f',"status":"{st}","items":[' for st in weighted(STATUSES)]
        self._payment_tails = [
            f',"shipping_fee":{money(self.shipping_cents)},"currency":{js(s.currency)},'
            f'"payment_method":{js(m)},"inventory_status":['
            for m in (*([s.default_payment_method] * 60), *weighted(OTHER_PAYMENT_METHODS))
        ]
        self._quantities = weighted(QUANTITIES)
        # Most orders hold one to three lines.
        self._line_counts = tuple(
            n for n in range(1, s.max_items + 1) for _ in range(max(1, 12 // (n * n)))
        )
        #: From the end of the timestamp's value to the correlation id's value.
        self.metadata_tail = (
            f'","version":"{SCHEMA_VERSION}","event_type":"{EVENT_ORDER_CREATED}",'
            f'"source":"{SOURCE}","correlation_id":"'
        ).encode()

    def basket(self, rand: Callable[[], float], stock: list[list[int]]) -> bytes:
        """JSON of an order from its status to its inventory status, stock taken as it goes.

        Half the baskets ship from the default warehouse. Stock runs down with every basket;
        a warehouse that runs out of a product is restocked.
        """
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
            level = stock[p]
            available = level[warehouse]
            in_stock = available >= q
            level[warehouse] = available - q if in_stock else available + 250
            inventory.append(
                f"{self._inventory_heads[p]}{available},"
                f'"reserved_qty":{q}{self._inventory_tails[p][warehouse][in_stock]}'
            )
        tax_cents = round(sub_cents * self._tax_rate)
        total_cents = sub_cents + tax_cents + self.shipping_cents
        return "".join(
            (
                self._statuses[int(rand() * len(self._statuses))],
                ",".join(items),
                f'],"sub_total":{money(sub_cents)},"tax":{money(tax_cents)},'
                f'"total":{money(total_cents)}',
                self._payment_tails[int(rand() * len(self._payment_tails))],
                ",".join(inventory),
                "]",
            )
        ).encode()
