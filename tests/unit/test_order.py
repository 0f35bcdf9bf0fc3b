"""The order contract: shape errors versus business-rule errors, and every rule."""

from __future__ import annotations

import json
from typing import Any

import pytest

from orderdesk.domain import (
    DeserializationError,
    FailureReason,
    Order,
    OrderValidationError,
    parse_order,
)
from tests.unit.orders import VALID_ORDER, order_dict


def payload(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


def rejection(data: dict[str, Any]) -> str:
    with pytest.raises(OrderValidationError) as info:
        parse_order(payload(data))
    assert info.value.reason is FailureReason.VALIDATION_ERROR
    return str(info.value)


def test_valid_order_parses() -> None:
    order = parse_order(payload(VALID_ORDER))
    assert order.order_id == VALID_ORDER["order_id"]
    assert order.items[1].total_price == 15.5
    assert order.metadata.created_at is not None
    assert order.metadata.created_at.tzinfo is not None


def test_round_trip_keeps_every_field() -> None:
    order = parse_order(payload(VALID_ORDER))
    again = Order.model_validate_json(order.model_dump_json())
    assert again == order
    assert set(json.loads(order.model_dump_json())) == set(VALID_ORDER)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (None, "tombstone"),
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b"[1, 2, 3]", "not an order"),
        (b'"just a string"', "not an order"),
    ],
)
def test_payloads_that_are_not_orders_are_deserialization_errors(
    raw: bytes | None, fragment: str
) -> None:
    with pytest.raises(DeserializationError) as info:
        parse_order(raw)
    assert info.value.reason is FailureReason.DESERIALIZATION_ERROR
    assert not info.value.reason.retryable
    assert fragment in str(info.value)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_amounts_are_not_orders(number: str) -> None:
    text = json.dumps(VALID_ORDER).replace('"total": 45.1', f'"total": {number}')
    with pytest.raises(DeserializationError, match="NaN and Infinity are not JSON numbers"):
        parse_order(text.encode())


def test_wrong_type_names_the_field() -> None:
    data = order_dict()
    data["items"][0]["quantity"] = "two"
    with pytest.raises(DeserializationError, match=r"items\.0\.quantity"):
        parse_order(payload(data))


def test_a_missing_field_reads_as_its_zero_value_as_in_go() -> None:
    data = order_dict()
    del data["customer_info"]["customer_id"]
    assert "customer_info.customer_id is required" in rejection(data)
    assert "order_id is required" in rejection({"hello": "world"})


@pytest.mark.parametrize("field", ["order_id", "status"])
def test_blank_top_level_fields_are_rejected(field: str) -> None:
    assert f"{field} is required" in rejection(order_dict(**{field: "   "}))


@pytest.mark.parametrize("field", ["customer_id", "name"])
def test_blank_customer_fields_are_rejected(field: str) -> None:
    data = order_dict()
    data["customer_info"][field] = ""
    assert f"customer_info.{field} is required" in rejection(data)


@pytest.mark.parametrize("sequence", [0, -4])
def test_sequence_must_be_positive(sequence: int) -> None:
    assert f"sequence must be > 0, got {sequence}" in rejection(order_dict(sequence=sequence))


def test_an_order_needs_items() -> None:
    data = order_dict(items=[], sub_total=0.0, total=9.6)
    assert "items must hold at least one item" in rejection(data)


@pytest.mark.parametrize("field", ["item_id", "item_name"])
def test_items_need_id_and_name(field: str) -> None:
    data = order_dict()
    data["items"][1][field] = " "
    assert f"items[1].{field} is required" in rejection(data)


def test_quantity_must_be_positive() -> None:
    data = order_dict()
    data["items"][0].update(quantity=0, total_price=0.0)
    data.update(sub_total=15.5, total=25.1)
    assert "items[0].quantity must be > 0, got 0" in rejection(data)


def test_unit_price_must_not_be_negative() -> None:
    data = order_dict()
    data["items"][0].update(unit_price=-1.0, total_price=-2.0)
    data.update(sub_total=13.5, total=23.1)
    assert "items[0].unit_price must be >= 0, got -1.00" in rejection(data)


def test_item_total_mismatch_gives_expected_and_actual() -> None:
    data = order_dict()
    data["items"][0]["total_price"] = 19.0
    message = rejection(data)
    assert "items[0].total_price: expected 20.00" in message
    assert "got 19.00" in message


def test_sub_total_mismatch_gives_expected_and_actual() -> None:
    message = rejection(order_dict(sub_total=30.0, total=39.6))
    assert "sub_total: expected 35.50 (sum of item totals), got 30.00" in message


def test_total_mismatch_gives_expected_and_actual() -> None:
    message = rejection(order_dict(total=50.0))
    assert "total: expected 45.10 (sub_total + tax + shipping_fee), got 50.00" in message


def test_sums_tolerate_a_cent_of_rounding() -> None:
    parse_order(payload(order_dict(total=45.105, sub_total=35.495)))


@pytest.mark.parametrize("email", ["alice", "alice@", "@example.com", "a b@example.com", "a@b"])
def test_bad_email_is_rejected(email: str) -> None:
    data = order_dict()
    data["customer_info"]["email"] = email
    assert "customer_info.email is not an e-mail address" in rejection(data)


def test_email_may_be_absent() -> None:
    data = order_dict()
    del data["customer_info"]["email"]
    parse_order(payload(data))


def test_every_broken_rule_is_reported_at_once() -> None:
    data = order_dict(order_id="", sequence=0, total=1.0)
    with pytest.raises(OrderValidationError) as info:
        parse_order(payload(data))
    assert len(info.value.violations) == 3


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    parse_order(payload(order_dict(gift_wrap=True)))


@pytest.mark.parametrize(
    ("reason", "retryable"),
    [
        (FailureReason.DESERIALIZATION_ERROR, False),
        (FailureReason.VALIDATION_ERROR, False),
        (FailureReason.PROCESSING_ERROR, True),
        (FailureReason.TIMEOUT_ERROR, True),
        (FailureReason.UNKNOWN_ERROR, True),
    ],
)
def test_which_failures_are_retried(reason: FailureReason, retryable: bool) -> None:
    assert reason.retryable is retryable
