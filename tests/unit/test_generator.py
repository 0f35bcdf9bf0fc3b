"""The order generator: valid orders by default, each deliberate fault caught for its reason."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderdesk.config import ProducerSettings
from orderdesk.domain import (
    CONTENT_TYPE,
    EVENT_ORDER_CREATED,
    SCHEMA_VERSION,
    DeserializationError,
    FailureReason,
    Order,
    OrderValidationError,
    parse_order,
)
from orderdesk.domain import headers as hdr
from orderdesk.domain.order import MONEY_TOLERANCE
from orderdesk.producer.generator import FaultKind, GeneratedEvent, OrderGenerator

FIXED_CLOCK = 1_795_000_000.25

#: The field each business-rule fault must be reported against, and nothing else.
VIOLATED_FIELD = {
    FaultKind.ITEM_TOTAL_MISMATCH: "].total_price",
    FaultKind.SUB_TOTAL_MISMATCH: "sub_total:",
    FaultKind.TOTAL_MISMATCH: "total: expected",
    FaultKind.BLANK_ORDER_ID: "order_id is required",
    FaultKind.BLANK_STATUS: "status is required",
    FaultKind.BLANK_CUSTOMER_ID: "customer_info.customer_id is required",
    FaultKind.BLANK_CUSTOMER_NAME: "customer_info.name is required",
    FaultKind.BLANK_ITEM_ID: "].item_id is required",
    FaultKind.NON_POSITIVE_QUANTITY: "].quantity must be > 0",
    FaultKind.NEGATIVE_PRICE: "].unit_price must be >= 0",
    FaultKind.BAD_EMAIL: "customer_info.email",
    FaultKind.NO_ITEMS: "items must hold at least one item",
    FaultKind.NON_POSITIVE_SEQUENCE: "sequence must be > 0",
}
NOT_AN_ORDER = {FaultKind.NOT_JSON, FaultKind.NOT_UTF8, FaultKind.WRONG_SHAPE}


def generator(seed: int | None = 7, **changes: object) -> OrderGenerator:
    return OrderGenerator(ProducerSettings(**changes), seed=seed, clock=lambda: FIXED_CLOCK)


def events(gen: OrderGenerator, n: int) -> list[GeneratedEvent]:
    return [gen.next_event() for _ in range(n)]


def assert_consistent(order: Order, prod: ProducerSettings) -> None:
    items_sum = 0.0
    for item in order.items:
        assert math.isclose(item.total_price, item.quantity * item.unit_price, abs_tol=0.005)
        items_sum += item.total_price
    assert abs(order.sub_total - items_sum) <= MONEY_TOLERANCE
    assert abs(order.tax - order.sub_total * prod.tax_rate) <= 0.005 + 1e-9
    assert order.shipping_fee == pytest.approx(prod.shipping_fee)
    assert abs(order.total - (order.sub_total + order.tax + order.shipping_fee)) <= 1e-6
    assert order.currency == prod.currency


def test_an_order_is_valid_self_contained_and_described_by_its_headers() -> None:
    gen = generator()
    event = gen.next_event()
    order = parse_order(event.value)

    assert event.fault is None
    assert order.sequence == event.sequence == 1
    assert order.order_id == event.order_id
    assert order.metadata.correlation_id == event.correlation_id
    assert order.metadata.event_type == EVENT_ORDER_CREATED
    assert order.metadata.version == SCHEMA_VERSION
    assert order.metadata.created_at == datetime.fromtimestamp(FIXED_CLOCK, UTC)
    assert event.key == order.customer_info.customer_id.encode()
    assert order.customer_info.name and order.customer_info.phone
    assert order.customer_info.loyalty_level in {"bronze", "silver", "gold", "platinum"}
    assert order.shipping_address == order.customer_info.address
    assert [i.item_id for i in order.inventory_status] == [i.item_id for i in order.items]
    for stock, item in zip(order.inventory_status, order.items, strict=True):
        assert stock.reserved_qty == item.quantity
        assert stock.unit_price == item.unit_price
        assert stock.in_stock == (stock.available_qty >= item.quantity)
        assert stock.warehouse in gen.warehouses
    assert dict(event.headers) == {
        hdr.EVENT_TYPE: EVENT_ORDER_CREATED.encode(),
        hdr.SCHEMA_VERSION: SCHEMA_VERSION.encode(),
        hdr.CORRELATION_ID: event.correlation_id.encode(),
        hdr.CONTENT_TYPE: CONTENT_TYPE.encode(),
    }


def test_order_ids_are_version_4_uuids() -> None:
    import uuid

    for event in events(generator(), 200):
        parsed = uuid.UUID(event.order_id)
        assert parsed.version == 4 and str(parsed) == event.order_id
        assert len(event.correlation_id) == 32
        int(event.correlation_id, 16)


def test_the_catalogue_and_customers_are_built_once_and_look_real() -> None:
    gen = generator(max_items=30)
    assert len(gen.products) >= 60
    assert len({p.sku for p in gen.products}) == len(gen.products)
    assert len({c.customer_id for c in gen.customers}) == len(gen.customers)
    assert gen.warehouses[0] == "PARIS-01"
    # Returning customers: some of them order again within a few hundred orders.
    keys = [e.key for e in events(gen, 500)]
    assert len(set(keys)) < len(keys)


def test_stock_runs_down_as_orders_are_placed() -> None:
    gen = generator()
    before = sum(map(sum, gen.stock))
    events(gen, 2000)
    assert sum(map(sum, gen.stock)) != before


@pytest.mark.parametrize("kind", sorted(VIOLATED_FIELD, key=str))
def test_each_broken_rule_is_a_validation_error_naming_only_that_rule(kind: FaultKind) -> None:
    gen = generator()
    for _ in range(30):  # a few baskets, customers and random variants of the fault
        event = gen.faulty_event(kind)
        assert event.fault is kind
        assert kind.reason is FailureReason.VALIDATION_ERROR
        with pytest.raises(OrderValidationError) as caught:
            parse_order(event.value)
        assert caught.value.reason is FailureReason.VALIDATION_ERROR
        assert len(caught.value.violations) == 1, caught.value.violations
        assert VIOLATED_FIELD[kind] in caught.value.violations[0]


@pytest.mark.parametrize("kind", sorted(NOT_AN_ORDER, key=str))
def test_each_unreadable_payload_is_a_deserialization_error(kind: FaultKind) -> None:
    gen = generator()
    for _ in range(30):
        event = gen.faulty_event(kind)
        assert kind.reason is FailureReason.DESERIALIZATION_ERROR
        with pytest.raises(DeserializationError) as caught:
            parse_order(event.value)
        assert caught.value.reason is FailureReason.DESERIALIZATION_ERROR
        if kind is FaultKind.NOT_UTF8:
            with pytest.raises(UnicodeDecodeError):
                event.value.decode("utf-8")
        elif kind is FaultKind.NOT_JSON:
            with pytest.raises(ValueError):
                json.loads(event.value)
        else:
            json.loads(event.value)
            assert "not an order" in caught.value.message


def test_every_fault_kind_is_covered_by_a_test() -> None:
    assert set(VIOLATED_FIELD) | NOT_AN_ORDER == set(FaultKind)


def test_a_faulty_event_keeps_its_key_headers_and_sequence() -> None:
    gen = generator()
    gen.next_event()
    event = gen.faulty_event(FaultKind.NOT_JSON)
    assert event.sequence == 2
    assert dict(event.headers)[hdr.CORRELATION_ID] == event.correlation_id.encode()
    assert event.key.startswith(b"CUST-")


# -- properties -----------------------------------------------------------------------------

seeds = st.integers(min_value=0, max_value=2**32)
producer_settings = st.builds(
    ProducerSettings,
    max_items=st.integers(1, 12),
    tax_rate=st.sampled_from([0.0, 0.055, 0.1, 0.2, 0.21]),
    shipping_fee=st.sampled_from([0.0, 2.5, 4.99, 12.0]),
    currency=st.sampled_from(["EUR", "USD", "CHF"]),
)
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(seed=seeds, prod=producer_settings, n=st.integers(1, 150))
def test_without_faults_every_event_is_a_valid_consistent_order(
    seed: int, prod: ProducerSettings, n: int
) -> None:
    gen = OrderGenerator(prod, seed=seed)
    order_ids = set()
    for expected_sequence, event in enumerate(events(gen, n), start=1):
        order = parse_order(event.value)
        assert event.fault is None
        assert order.sequence == event.sequence == expected_sequence
        assert 1 <= len(order.items) <= prod.max_items
        assert len({i.item_id for i in order.items}) == len(order.items)
        assert_consistent(order, prod)
        order_ids.add(order.order_id)
    assert len(order_ids) == n
    assert gen.generated == n


@FAST
@given(seed=seeds, ratio=st.floats(0.0, 1.0), n=st.integers(1, 80))
def test_a_seed_gives_the_same_stream(seed: int, ratio: float, n: int) -> None:
    first = events(generator(seed, faulty_ratio=ratio), n)
    second = events(generator(seed, faulty_ratio=ratio), n)
    assert first == second


@FAST
@given(seed=seeds, ratio=st.floats(0.0, 1.0))
def test_faulty_share_is_near_the_ratio_and_each_fault_is_caught(seed: int, ratio: float) -> None:
    n = 1500
    stream = events(generator(seed, faulty_ratio=ratio), n)
    faulty = [e for e in stream if e.fault is not None]
    # Binomial: five standard deviations, plus one event for the extreme ratios.
    assert abs(len(faulty) - n * ratio) <= 5 * math.sqrt(n * ratio * (1 - ratio)) + 1
    assert [e.sequence for e in stream] == list(range(1, n + 1))
    for event in stream:
        try:
            parse_order(event.value)
        except (DeserializationError, OrderValidationError) as exc:
            assert event.fault is not None and exc.reason is event.fault.reason
        else:
            assert event.fault is None


def test_at_ratio_one_every_kind_appears() -> None:
    kinds = {e.fault for e in events(generator(faulty_ratio=1.0), 800)}
    assert kinds == set(FaultKind)


def test_without_a_seed_two_generators_differ() -> None:
    a = OrderGenerator(ProducerSettings(), seed=None).next_event()
    b = OrderGenerator(ProducerSettings(), seed=None).next_event()
    assert a.order_id != b.order_id


@pytest.mark.parametrize("ratio", [0.0, 0.3])
def test_messages_are_the_events_without_the_event_object(ratio: float) -> None:
    ticks = iter(range(10**6))

    def clock() -> float:
        return 1_700_000_000 + next(ticks) / 7

    events = OrderGenerator(ProducerSettings(faulty_ratio=ratio), seed=11, clock=clock)
    expected = [events.next_event() for _ in range(300)]
    ticks = iter(range(10**6))
    messages = OrderGenerator(ProducerSettings(faulty_ratio=ratio), seed=11, clock=clock)
    got = [messages.next_message() for _ in range(300)]
    assert got == [(e.key, e.value, e.headers, e.fault) for e in expected]
    assert messages.generated == events.generated == 300


@pytest.mark.parametrize("ratio", [0.0, 0.3])
def test_a_batch_holds_the_messages_one_by_one_would_give(ratio: float) -> None:
    one_by_one = generator(11, faulty_ratio=ratio)
    expected = [one_by_one.next_message() for _ in range(3000)]
    batched = generator(11, faulty_ratio=ratio)
    got: list[tuple[bytes, bytes, list[object]]] = []
    faulty: list[int] = []
    for n in (1, 5, 256, 1000, 1738):  # within a block of ids, up to one, across two
        batch = batched.next_batch(n)
        faulty += [len(got) + at for at in batch.faults]
        messages = list(zip(batch.keys, batch.values(), batch.headers(), strict=True))
        assert messages == [batch.message(at) for at in range(n)]
        got += messages
    assert got == [m[:3] for m in expected]
    assert faulty == [i for i, m in enumerate(expected) if m[3] is not None]
    assert batched.generated == one_by_one.generated == 3000
