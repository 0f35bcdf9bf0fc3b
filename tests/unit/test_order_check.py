"""`check_order`, the tracker's verdict without the `Order`: `parse_order`'s verdict, in the
same words, for every payload, and the producer's plain orders decided without it."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from orderdesk.config import ProducerSettings
from orderdesk.domain import DeserializationError, OrderValidationError, check_order, parse_order
from orderdesk.domain import order as order_module
from orderdesk.producer.generator import OrderGenerator
from tests.unit.orders import VALID_ORDER, order_dict
from tests.unit.test_order_reading import (
    FIELD_PATHS,
    FIT,
    blank_text,
    email_text,
    encoded,
    json_values,
    money,
    with_field,
)


def outcome(read: Any, payload: bytes | str | None) -> tuple[str, Any]:
    try:
        read(payload)
    except OrderValidationError as exc:
        return "invalid", tuple(exc.violations)
    except DeserializationError as exc:
        return "not an order", exc.message
    return "valid", None


def assert_same(payload: bytes | str | None) -> None:
    assert outcome(check_order, payload) == outcome(parse_order, payload)


@pytest.fixture
def without_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """`parse_order` fails the test: the payload must be decided without the model."""

    def refuse(payload: object) -> None:
        raise AssertionError("the payload went to parse_order")

    monkeypatch.setattr(order_module, "parse_order", refuse)


def test_a_plain_valid_order_is_decided_without_the_model(without_the_model: None) -> None:
    check_order(encoded(VALID_ORDER))
    shuffled = dict(random.Random(3).sample(list(VALID_ORDER.items()), len(VALID_ORDER)))
    check_order(encoded(shuffled))


def test_the_producers_orders_are_decided_without_the_model(without_the_model: None) -> None:
    gen = OrderGenerator(ProducerSettings(faulty_ratio=0.0), seed=11)
    for _ in range(300):
        check_order(gen.next_event().value)


def test_generated_orders_with_faults_get_the_readers_verdict() -> None:
    gen = OrderGenerator(ProducerSettings(faulty_ratio=0.5), seed=12)
    outcomes = set()
    for _ in range(1500):
        payload = gen.next_event().value
        assert_same(payload)
        outcomes.add(outcome(parse_order, payload)[0])
    assert outcomes == {"valid", "invalid", "not an order"}


@pytest.mark.parametrize(
    "payload",
    [
        None,
        b"",
        b"null",
        b"{}",
        b"[]",
        b"\xff",
        "text",
        encoded(VALID_ORDER).decode(),
        bytearray(encoded(VALID_ORDER)),
        # Repeated keys: pydantic checks only the last one; NaN is never JSON.
        encoded(VALID_ORDER).replace(b'"tax": 7.1', b'"tax": NaN, "tax": 7.1'),
        encoded(VALID_ORDER).replace(b'"tax": 7.1', b'"tax": -Infinity, "tax": 7.1'),
        encoded(VALID_ORDER).replace(b'"tax": 7.1', b'"tax": "x", "tax": 7.1'),
        encoded(VALID_ORDER).replace(b'"tax": 7.1', b'"TAX": 1.0, "tax": 7.1'),
        encoded(VALID_ORDER).replace(b'"tax": 7.1', b'"tax": 7.1, "Tax": 1.0'),
        encoded(VALID_ORDER).replace(b'"status": "pending"', b'"status": "", "status": "x"'),
        # A value pydantic's parser reads as infinity, where a number belongs and where not.
        encoded(VALID_ORDER).replace(b'"tax": 7.1', b'"tax": 1e400'),
        encoded(VALID_ORDER).replace(b'"tax": 7.1', b'"tax": 7.1, "tip": 1e400'),
        # Integers where a number belongs, null, a missing or an unknown field.
        encoded(with_field(("tax",), 7)),
        encoded(with_field(("items", 0, "unit_price"), 10)),
        encoded(with_field(("items", 0, "unit_price"), 2**70)),
        encoded(with_field(("inventory_status",), None)),
        encoded(with_field(("metadata",), None)),
        encoded({k: v for k, v in VALID_ORDER.items() if k != "currency"}),
        encoded({k: v for k, v in VALID_ORDER.items() if k != "items"}),
        encoded(order_dict(gift_card="x")),
        encoded(order_dict(ORDER_ID="x")),
        encoded(with_field(("items", 0, "quantity"), 2**63)),
        encoded(with_field(("items", 0, "quantity"), -(2**63))),
        encoded(with_field(("sequence",), 0)),
        encoded(with_field(("sequence",), 2**63 - 1)),
        encoded(with_field(("items",), [])),
        encoded(with_field(("customer_info", "email"), "a@b.com\n")),
        encoded(with_field(("customer_info", "email"), "")),
        json.dumps(VALID_ORDER, indent=2).encode(),
        encoded(VALID_ORDER).replace(b'"pending"', b'"\\ud800"'),
        encoded(VALID_ORDER).replace(b'"pending"', b'"pend\xc3\xa9"'),
        encoded(VALID_ORDER).replace(b'"pending"', b'"pend\xe9"'),
        encoded(VALID_ORDER) + b" x",
    ],
)
def test_the_verdict_and_its_words_are_the_readers(payload: Any) -> None:
    assert_same(payload)


@FIT
@given(path=st.sampled_from(FIELD_PATHS), value=json_values)
def test_any_value_in_any_field_gets_the_readers_verdict(
    path: tuple[str | int, ...], value: Any
) -> None:
    assert_same(encoded(with_field(path, value)))


@FIT
@given(
    quantity=st.integers(-3, 10**6) | st.sampled_from([2**53 + 1, 2**63 - 1]),
    unit_price=money,
    delta=st.sampled_from([0.0, 0.009, -0.009, 0.0100001, -0.0100001, 0.011, -0.011, 1.0]),
    tax=money,
    off=st.sampled_from([0.0, 0.0099, 0.0101, -0.011]),
)
@example(quantity=1, unit_price=0.1, delta=0.01, tax=0.0, off=0.0)
@example(quantity=2**63 - 1, unit_price=1e308, delta=0.0, tax=0.0, off=0.0)
def test_money_rules_give_the_readers_verdict(
    quantity: int, unit_price: float, delta: float, tax: float, off: float
) -> None:
    data = order_dict()
    total_price = float(quantity) * unit_price + delta
    if not math.isfinite(total_price):
        total_price = 0.0
    item = data["items"][0]
    item.update(quantity=quantity, unit_price=unit_price, total_price=total_price)
    sub_total = total_price + data["items"][1]["total_price"] + off
    total = sub_total + tax + 2.5
    data.update(
        sub_total=sub_total, tax=tax, shipping_fee=2.5, total=total if math.isfinite(total) else 0.0
    )
    assert_same(encoded(data))


@FIT
@given(
    field=st.sampled_from(
        [
            ("order_id",),
            ("status",),
            ("customer_info", "customer_id"),
            ("customer_info", "name"),
            ("items", 0, "item_id"),
            ("items", 1, "item_name"),
        ]
    ),
    text=blank_text,
)
def test_blank_fields_get_the_readers_verdict(field: tuple[str | int, ...], text: str) -> None:
    assert_same(encoded(with_field(field, text)))


@FIT
@given(email=email_text | st.emails())
def test_the_email_rule_gives_the_readers_verdict(email: str) -> None:
    assert_same(encoded(with_field(("customer_info", "email"), email)))
