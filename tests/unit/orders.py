"""A valid order payload to start from in unit tests; each test breaks one thing."""

from __future__ import annotations

import copy
from typing import Any

VALID_ORDER: dict[str, Any] = {
    "order_id": "6f1c2d0e-8a4b-4c1e-9d2f-0a1b2c3d4e5f",
    "sequence": 1,
    "status": "pending",
    "items": [
        {
            "item_id": "SKU-1",
            "item_name": "Espresso cup",
            "quantity": 2,
            "unit_price": 10.0,
            "total_price": 20.0,
        },
        {
            "item_id": "SKU-2",
            "item_name": "Coffee beans 1 kg",
            "quantity": 1,
            "unit_price": 15.5,
            "total_price": 15.5,
        },
    ],
    "sub_total": 35.5,
    "tax": 7.1,
    "shipping_fee": 2.5,
    "total": 45.1,
    "currency": "EUR",
    "payment_method": "credit_card",
    "shipping_address": "1 rue de Rivoli, 75001 Paris",
    "metadata": {
        "timestamp": "2026-11-25T12:00:00Z",
        "version": "1.0",
        "event_type": "order.created",
        "source": "orderdesk-producer",
        "correlation_id": "c0ffee00-0000-4000-8000-000000000001",
    },
    "customer_info": {
        "customer_id": "CUST-0001",
        "name": "Alice Martin",
        "email": "alice.martin@example.com",
        "phone": "+33 1 23 45 67 89",
        "address": "1 rue de Rivoli, 75001 Paris",
        "loyalty_level": "gold",
    },
    "inventory_status": [
        {
            "item_id": "SKU-1",
            "item_name": "Espresso cup",
            "available_qty": 40,
            "reserved_qty": 2,
            "unit_price": 10.0,
            "in_stock": True,
            "warehouse": "PARIS-01",
        }
    ],
}


def order_dict(**changes: Any) -> dict[str, Any]:
    """A deep copy of the valid order with top-level fields replaced."""
    data = copy.deepcopy(VALID_ORDER)
    data.update(changes)
    return data
