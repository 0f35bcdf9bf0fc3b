"""Deliberately faulty events: each one broken in exactly one way, for one named reason.

This is the slow path, taken only by the faulty share of events: the valid order is
decoded, broken and encoded again.
"""

from __future__ import annotations

import json
import random
from enum import StrEnum
from typing import Any

from orderdesk.domain.failures import FailureReason


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


#: Every kind, in a fixed order: a random index picks one.
FAULT_KINDS = tuple(FaultKind)


def _dumps(order: Any) -> bytes:
    return json.dumps(order, ensure_ascii=False, separators=(",", ":")).encode()


def _cents(amount: float) -> int:
    return round(amount * 100)


def _resum(order: dict[str, Any]) -> None:
    """Make sub_total and total agree with the items again, after an item was changed."""
    sub = sum(_cents(item["total_price"]) for item in order["items"])
    order["sub_total"] = sub / 100
    order["total"] = (sub + _cents(order["tax"]) + _cents(order["shipping_fee"])) / 100


def break_value(value: bytes, fault: FaultKind, rng: random.Random) -> bytes:
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
            order["sequence"] = str(order["sequence"])  # a string where an integer belongs
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
