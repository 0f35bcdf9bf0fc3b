"""The order event: one self-contained JSON document per Kafka message.

Parsing is split in two steps that map to the two non-retryable failure reasons:
`Order.model_validate_json` (pydantic's Rust parser) decides whether the payload is an
order at all, and `Order.violations()` checks the business rules of the domain contract.
`parse_order` runs both and raises the matching error.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, ValidationError

from orderdesk.domain.failures import DeserializationError, OrderValidationError

SCHEMA_VERSION = "1.0"
EVENT_ORDER_CREATED = "order.created"
CONTENT_TYPE = "application/json"

#: Sums may differ by rounding; anything beyond a cent is an error.
MONEY_TOLERANCE = 0.01

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


class _Model(BaseModel):
    # Unknown fields are ignored so that newer producers do not break older trackers.
    # NaN and infinities would slip past every sum check (comparisons with NaN are false).
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class OrderItem(_Model):
    item_id: str
    item_name: str
    quantity: int
    unit_price: float
    total_price: float


class OrderMetadata(_Model):
    timestamp: datetime
    version: str
    event_type: str
    source: str
    correlation_id: str


class CustomerInfo(_Model):
    customer_id: str
    name: str
    email: str = ""
    phone: str = ""
    address: str = ""
    loyalty_level: str = ""


class InventoryStatus(_Model):
    item_id: str
    item_name: str
    available_qty: int
    reserved_qty: int
    unit_price: float
    in_stock: bool
    warehouse: str


class Order(_Model):
    order_id: str
    sequence: int
    status: str
    items: list[OrderItem]
    sub_total: float
    tax: float
    shipping_fee: float
    total: float
    currency: str
    payment_method: str
    shipping_address: str
    metadata: OrderMetadata
    customer_info: CustomerInfo
    inventory_status: list[InventoryStatus] = []

    def violations(self) -> list[str]:
        """Every business rule this order breaks, each naming its field; empty when valid."""
        found: list[str] = []
        for name in ("order_id", "status"):
            if not getattr(self, name).strip():
                found.append(f"{name} is required")
        if not self.customer_info.customer_id.strip():
            found.append("customer_info.customer_id is required")
        if not self.customer_info.name.strip():
            found.append("customer_info.name is required")
        if self.sequence <= 0:
            found.append(f"sequence must be > 0, got {self.sequence}")
        if not self.items:
            found.append("items must hold at least one item")
        items_sum = 0.0
        for i, item in enumerate(self.items):
            where = f"items[{i}]"
            if not item.item_id.strip():
                found.append(f"{where}.item_id is required")
            if not item.item_name.strip():
                found.append(f"{where}.item_name is required")
            if item.quantity <= 0:
                found.append(f"{where}.quantity must be > 0, got {item.quantity}")
            if item.unit_price < 0:
                found.append(f"{where}.unit_price must be >= 0, got {item.unit_price:.2f}")
            expected = item.quantity * item.unit_price
            if abs(item.total_price - expected) > MONEY_TOLERANCE:
                found.append(
                    f"{where}.total_price: expected {expected:.2f} "
                    f"(quantity {item.quantity} x unit_price {item.unit_price:.2f}), "
                    f"got {item.total_price:.2f}"
                )
            items_sum += item.total_price
        if abs(self.sub_total - items_sum) > MONEY_TOLERANCE:
            found.append(
                f"sub_total: expected {items_sum:.2f} (sum of item totals), "
                f"got {self.sub_total:.2f}"
            )
        expected_total = self.sub_total + self.tax + self.shipping_fee
        if abs(self.total - expected_total) > MONEY_TOLERANCE:
            found.append(
                f"total: expected {expected_total:.2f} (sub_total + tax + shipping_fee), "
                f"got {self.total:.2f}"
            )
        email = self.customer_info.email
        if email and not _EMAIL.match(email):
            found.append(f"customer_info.email is not an e-mail address: {email!r}")
        return found


def describe_shape_error(error: ValidationError, limit: int = 3) -> str:
    """One line naming the fields where a payload does not have the shape of an order."""
    parts = []
    for detail in error.errors(include_url=False)[:limit]:
        loc = ".".join(str(p) for p in detail["loc"]) or "payload"
        parts.append(f"{loc}: {detail['msg']}")
    more = error.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def parse_order_shape(payload: bytes | str | None) -> Order:
    """Parse a payload into an `Order` without checking business rules.

    Raises `DeserializationError` when the payload is not an order at all.
    """
    if payload is None:
        raise DeserializationError("payload is null (tombstone)")
    if not payload:
        raise DeserializationError("payload is empty")
    try:
        return Order.model_validate_json(payload)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors(include_url=False)):
            raise DeserializationError(f"not valid JSON: {_json_reason(exc)}") from None
        raise DeserializationError(f"not an order: {describe_shape_error(exc)}") from None


def parse_order(payload: bytes | str | None) -> Order:
    """Parse and validate a payload.

    Raises `DeserializationError` when it is not an order, `OrderValidationError`
    (with every broken rule) when it is an order that breaks a business rule.
    """
    order = parse_order_shape(payload)
    problems = order.violations()
    if problems:
        raise OrderValidationError(problems)
    return order


def _json_reason(exc: ValidationError) -> str:
    msg = exc.errors(include_url=False)[0]["msg"]
    return msg.removeprefix("Invalid JSON: ")
