"""Reading an order as the original system does (Go's encoding/json, then its Validate).

The SPEC's "Reading an order" section and docs/contract.md state the contract; the
`go_verdict` oracle below restates the original's rules independently of
`orderdesk.domain.order`, and hypothesis generates payloads around each rule and JSON type.
"""

from __future__ import annotations

import copy
import json
import math
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from orderdesk.domain import (
    DeserializationError,
    FailureReason,
    OrderValidationError,
    ProcessingFailure,
    parse_order,
)
from orderdesk.domain.text import compact_json, order_problems, pretty_json
from tests.unit.orders import VALID_ORDER, order_dict

VALID = "valid"
DESER = FailureReason.DESERIALIZATION_ERROR.value
INVALID = FailureReason.VALIDATION_ERROR.value

# -- the oracle: the original's model and rules, restated ----------------------------------

#: Unicode White_Space, what Go's unicode.IsSpace (and so strings.TrimSpace) trims.
GO_SPACE = set("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {
    chr(c) for c in range(0x2000, 0x200B)
}
INT64 = range(-(2**63), 2**63)

# The Go structs: field -> kind ("str", "int", "float", "bool", or a nested struct/list).
ITEM = {
    "item_id": "str",
    "item_name": "str",
    "quantity": "int",
    "unit_price": "float",
    "total_price": "float",
}
METADATA = dict.fromkeys(("timestamp", "version", "event_type", "source", "correlation_id"), "str")
CUSTOMER = dict.fromkeys(
    ("customer_id", "name", "email", "phone", "address", "loyalty_level"), "str"
)
STOCK = {
    "item_id": "str",
    "item_name": "str",
    "available_qty": "int",
    "reserved_qty": "int",
    "unit_price": "float",
    "in_stock": "bool",
    "warehouse": "str",
}
ORDER: dict[str, Any] = {
    "order_id": "str",
    "sequence": "int",
    "status": "str",
    "items": [ITEM],
    "sub_total": "float",
    "tax": "float",
    "shipping_fee": "float",
    "total": "float",
    "currency": "str",
    "payment_method": "str",
    "shipping_address": "str",
    "metadata": METADATA,
    "customer_info": CUSTOMER,
    "inventory_status": [STOCK],
}
ZERO = {"str": "", "int": 0, "float": 0.0, "bool": False}


class _NotAnOrder(Exception):
    pass


def go_decode(kind: Any, value: Any) -> Any:
    """What Go's encoding/json stores for `value` in a field of `kind` (null: zero)."""
    if isinstance(kind, list):
        if value is None:
            return []
        if not isinstance(value, list):
            raise _NotAnOrder
        return [go_decode(kind[0], v) for v in value]
    if isinstance(kind, dict):
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise _NotAnOrder
        out = {name: go_decode(k, None) for name, k in kind.items()}
        for key, v in value.items():
            name = key if key in kind else next((n for n in kind if n == key.lower()), None)
            if name is not None and v is not None:
                out[name] = go_decode(kind[name], v)
        return out
    if value is None:
        return ZERO[kind]
    ok = {
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool) and value in INT64,
        "float": isinstance(value, int | float) and not isinstance(value, bool) and _fits(value),
    }[kind]
    if not ok:
        raise _NotAnOrder
    return float(value) if kind == "float" else value


def _fits(number: float) -> bool:
    """Whether Go's strconv.ParseFloat reads the number without a range error."""
    try:
        return math.isfinite(float(number))
    except OverflowError:
        return False


EMAIL = re.compile(r"[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}")


def go_blank(text: str) -> bool:
    return all(c in GO_SPACE for c in text)


def go_rules_hold(o: dict[str, Any]) -> bool:
    """The original's Order.Validate(), on the decoded structs."""
    if go_blank(o["order_id"]) or o["sequence"] <= 0 or go_blank(o["status"]):
        return False
    if not o["items"]:
        return False
    total = 0.0
    for item in o["items"]:
        if go_blank(item["item_id"]) or go_blank(item["item_name"]):
            return False
        if item["quantity"] <= 0 or item["unit_price"] < 0:
            return False
        if abs(item["total_price"] - float(item["quantity"]) * item["unit_price"]) > 0.01:
            return False
        total += item["total_price"]
    if abs(o["sub_total"] - total) > 0.01:
        return False
    if abs(o["total"] - (o["sub_total"] + o["tax"] + o["shipping_fee"])) > 0.01:
        return False
    c = o["customer_info"]
    if go_blank(c["customer_id"]) or go_blank(c["name"]):
        return False
    return not (c["email"] and not EMAIL.fullmatch(c["email"]))


def go_verdict(data: Any) -> str:
    try:
        decoded = go_decode(ORDER, data)
    except _NotAnOrder:
        return DESER
    return VALID if go_rules_hold(decoded) else INVALID


def verdict(payload: bytes | str | None) -> str:
    """OrderDesk's verdict; any exception other than the two failures fails the test."""
    try:
        parse_order(payload)
    except (DeserializationError, OrderValidationError) as exc:
        return exc.reason.value
    return VALID


def encoded(data: Any) -> bytes:
    return json.dumps(data, allow_nan=False).encode()


def with_field(path: tuple[str | int, ...], value: Any, base: Any = None) -> Any:
    data = copy.deepcopy(VALID_ORDER if base is None else base)
    target = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return data


def without_field(path: tuple[str | int, ...]) -> Any:
    data = copy.deepcopy(VALID_ORDER)
    target = data
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return data


def test_the_oracle_agrees_on_the_valid_order() -> None:
    assert go_verdict(VALID_ORDER) == verdict(encoded(VALID_ORDER)) == VALID


# -- JSON types: checked, not converted ------------------------------------------------------

WRONG_TYPES = [
    (("sequence",), "1"),
    (("sequence",), 1.0),
    (("sequence",), True),
    (("sequence",), 2**63),
    (("sequence",), -(2**63) - 1),
    (("items", 0, "quantity"), "2"),
    (("items", 0, "quantity"), 2.0),
    (("items", 0, "quantity"), 10**400),
    (("items", 0, "unit_price"), "10.0"),
    (("items", 0, "unit_price"), True),
    (("items", 0, "unit_price"), 10**400),
    (("inventory_status", 0, "in_stock"), "yes"),
    (("inventory_status", 0, "in_stock"), 1),
    (("inventory_status", 0, "available_qty"), 40.5),
    (("metadata", "timestamp"), 1_764_000_000),
    (("order_id",), 42),
    (("customer_info", "email"), ["a@b.co"]),
    (("items",), {}),
    (("items", 0), []),
    (("metadata",), "2026-11-25"),
    (("customer_info",), []),
]


@pytest.mark.parametrize(("path", "value"), WRONG_TYPES)
def test_a_wrong_json_type_is_not_an_order(path: tuple[str | int, ...], value: Any) -> None:
    data = with_field(path, value)
    assert go_verdict(data) == DESER
    with pytest.raises(DeserializationError) as info:
        parse_order(encoded(data))
    where = ".".join(str(p) for p in path)
    assert where in str(info.value)


@pytest.mark.parametrize("text", ["1.0", "2e0", "1E0", "-0.0"])
def test_a_float_literal_is_never_an_integer(text: str) -> None:
    raw = encoded(VALID_ORDER).replace(b'"sequence": 1', b'"sequence": ' + text.encode())
    assert verdict(raw) == DESER


def test_integers_read_where_a_number_belongs_and_the_64_bit_edges_are_exact() -> None:
    assert verdict(encoded(with_field(("tax",), 7))) == INVALID  # an int is a number: 7 != 7.1
    assert verdict(encoded(with_field(("shipping_fee",), 10**30))) == INVALID
    top = with_field(("sequence",), 2**63 - 1)
    assert verdict(encoded(top)) == go_verdict(top) == VALID
    assert verdict(b'{"sequence": -0}') == INVALID  # -0 is the integer 0


def test_a_huge_quantity_is_a_verdict_not_a_crash() -> None:
    data = order_dict()
    data["items"][0].update(quantity=10**400, unit_price=0.0, total_price=0.0)
    with pytest.raises(DeserializationError, match="does not fit in 64 bits"):
        parse_order(encoded(data))
    data["items"][0].update(quantity=2**63 - 1, unit_price=1e308)
    assert verdict(encoded(data)) == INVALID  # the product is infinite: the total is wrong


# -- null and absent fields: Go's zero values ------------------------------------------------


def test_null_inventory_is_an_empty_list_and_null_items_break_the_item_rule() -> None:
    assert verdict(encoded(order_dict(inventory_status=None))) == VALID
    with pytest.raises(OrderValidationError, match="items must hold at least one item"):
        parse_order(encoded(order_dict(items=None)))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("order_id",), INVALID),
        (("sequence",), INVALID),
        (("metadata",), VALID),
        (("customer_info",), INVALID),
        (("customer_info", "email"), VALID),
        (("metadata", "timestamp"), VALID),
        (("items", 0), INVALID),
        (("tax",), INVALID),
    ],
)
def test_null_and_absence_both_read_as_the_zero_value(
    path: tuple[str | int, ...], expected: str
) -> None:
    assert verdict(encoded(with_field(path, None))) == go_verdict(with_field(path, None))
    assert verdict(encoded(with_field(path, None))) == expected
    if not isinstance(path[-1], int):
        assert verdict(encoded(without_field(path))) == expected


def test_a_json_null_document_is_an_all_zero_order() -> None:
    with pytest.raises(OrderValidationError, match="order_id is required"):
        parse_order(b"null")
    assert verdict(b"{}") == INVALID


def test_keys_match_case_insensitively_and_the_last_one_wins() -> None:
    data = order_dict()
    data["ORDER_ID"] = data.pop("order_id")
    data["Customer_Info"] = data.pop("customer_info")
    data["\u017ftatus"] = data.pop("status")  # LATIN SMALL LETTER LONG S folds to s
    assert verdict(encoded(data)) == VALID
    assert parse_order(encoded(data)).order_id == VALID_ORDER["order_id"]
    blanked = order_dict(ORDER_ID="  ")  # after "order_id": it wins
    with pytest.raises(OrderValidationError, match="order_id is required"):
        parse_order(encoded(blanked))
    assert verdict(encoded(order_dict(Sequence="1"))) == DESER


# -- the e-mail rule -------------------------------------------------------------------------

GOOD_EMAILS = ["a@b.co", "A.B-c+d%e_f@x-y.example.COM", "a@b..com", "a@-.co", "1@2.xy"]
BAD_EMAILS = [
    "a@b.c",
    "a@b",
    "alice",
    "@b.co",
    "a@.co",
    "é@b.com",
    "a@bü.com",
    "a@b.com\n",
    "\na@b.com",
    " a@b.com",
    "a@b.com ",
    "a\u200b@b.com",
    "a@b@c.com",
    "a@b.c0m",
    "a@b.com\x00",
    "a b@c.com",
    "a@b_c.com",
]


@pytest.mark.parametrize("email", GOOD_EMAILS)
def test_addresses_the_original_accepts(email: str) -> None:
    data = order_dict()
    data["customer_info"]["email"] = email
    assert verdict(encoded(data)) == go_verdict(data) == VALID


@pytest.mark.parametrize("email", BAD_EMAILS)
def test_addresses_the_original_rejects(email: str) -> None:
    data = order_dict()
    data["customer_info"]["email"] = email
    with pytest.raises(OrderValidationError, match=r"customer_info\.email"):
        parse_order(encoded(data))
    assert go_verdict(data) == INVALID


# -- blank means empty after trimming Unicode white space --------------------------------------


@pytest.mark.parametrize("text", ["\x1c", "\x1f", "\u200b", "\ufeff", "\x00"])
def test_separators_and_invisible_characters_are_not_blank(text: str) -> None:
    assert verdict(encoded(order_dict(order_id=text))) == VALID


@pytest.mark.parametrize("text", ["", " ", "\t\n\r\v\f", "\x85", "\xa0", "\u3000", "\u2028 "])
def test_white_space_is_blank(text: str) -> None:
    assert verdict(encoded(order_dict(status=text))) == INVALID


# -- JSON text: NaN, ranges, encodings, nesting ---------------------------------------------


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("where", ['"total": {}', '"tip": {}'])
def test_nan_and_infinity_are_not_json_anywhere(literal: str, where: str) -> None:
    text = json.dumps(VALID_ORDER).replace('"total": 45.1', where.format(literal))
    with pytest.raises(DeserializationError, match="not JSON numbers"):
        parse_order(text)


def test_a_number_beyond_a_double_is_refused_where_a_number_belongs_only() -> None:
    raw = encoded(VALID_ORDER)
    with pytest.raises(DeserializationError, match="out of range"):
        parse_order(raw.replace(b'"tax": 7.1', b'"tax": 1e400'))
    # Go's decoder skips the value of a field it does not know; so does OrderDesk.
    assert verdict(raw.replace(b'"tax": 7.1', b'"tax": 7.1, "tip": 1e400')) == VALID
    assert verdict(raw.replace(b'"tax": 7.1', b'"tax": 7.1, "tip": 1e-400')) == VALID


def test_nan_as_text_is_only_text() -> None:
    assert verdict(encoded(order_dict(status="NaN Infinity"))) == VALID


@pytest.mark.parametrize("where", ["order_id", "gift_note"])
def test_invalid_utf8_is_refused_with_its_offset(where: str) -> None:
    text = json.dumps(order_dict(**{where: "caf\u00e9"}), ensure_ascii=False)
    raw = text.encode().replace("é".encode(), b"\xe9")
    with pytest.raises(DeserializationError, match=r"not UTF-8 text: invalid byte 0xe9 at offset"):
        parse_order(raw)


@pytest.mark.parametrize("escape", ["\\ud800", "\\udc00", "\\ud800x", "\\ud800\\u0041"])
def test_a_lone_surrogate_is_named_as_such(escape: str) -> None:
    text = json.dumps(order_dict(gift_note="NOTE")).replace("NOTE", escape)
    with pytest.raises(DeserializationError, match="lone surrogate") as info:
        parse_order(text.encode())
    assert "hex escape" not in str(info.value)


def test_a_surrogate_pair_is_one_character() -> None:
    text = json.dumps(order_dict(status="NOTE")).replace("NOTE", "\\ud83d\\ude00")
    assert parse_order(text).status == "\U0001f600"


def test_text_holding_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(DeserializationError, match="lone surrogate U\\+D800"):
        parse_order(json.dumps(order_dict(status="x")).replace('"x"', '"\ud800"'))


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [199, 255, 1000, 9_999])
def test_deep_nesting_in_an_ignored_field_does_not_reject_an_order(depth: int) -> None:
    text = json.dumps(order_dict(extra="HOLE")).replace('"HOLE"', _nested(depth))
    assert verdict(text) == VALID
    item_level = copy.deepcopy(VALID_ORDER)
    item_level["items"][0]["extra"] = "HOLE"
    assert verdict(json.dumps(item_level).replace('"HOLE"', _nested(depth - 2))) == VALID


def test_nesting_beyond_the_original_limit_is_refused() -> None:
    text = json.dumps(order_dict(extra="HOLE")).replace('"HOLE"', _nested(10_000))
    with pytest.raises(DeserializationError, match="nested deeper than 10000 levels"):
        parse_order(text)


def test_deep_nesting_in_a_known_field_is_a_type_error() -> None:
    text = json.dumps(order_dict(order_id="HOLE")).replace('"HOLE"', _nested(300))
    with pytest.raises(DeserializationError, match="order_id: expected a string, got an array"):
        parse_order(text)


@pytest.mark.parametrize(
    "tail",
    ["[1,]", '{"a" 1}', "[1 2]", "01", "[", '"\x01"', "tru", "[1]]", "{,}", "1 2"],
)
def test_broken_json_deep_in_an_ignored_field_is_still_refused(tail: str) -> None:
    text = json.dumps(order_dict(extra="HOLE")).replace('"HOLE"', "[" * 300 + tail + "]" * 300)
    assert verdict(text) == DESER


def test_what_the_deep_reader_keeps_reads_the_same() -> None:
    deep = copy.deepcopy(VALID_ORDER)
    deep["extra"] = "HOLE"
    deep["status"] = "  "
    text = json.dumps(deep).replace('"HOLE"', _nested(400))
    with pytest.raises(OrderValidationError, match="status is required"):
        parse_order(text)


# -- no payload makes the reader raise anything but a verdict -------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(kind: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    out: list[tuple[str | int, ...]] = [prefix] if prefix else []
    if isinstance(kind, dict):
        for name, sub in kind.items():
            out += _paths(sub, (*prefix, name))
    elif isinstance(kind, list):
        out += _paths(kind[0], (*prefix, 0))
    return out


FIELD_PATHS = _paths(ORDER)

FIT = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FIT
@given(path=st.sampled_from(FIELD_PATHS), value=json_values)
def test_any_value_in_any_field_gets_the_original_verdict(
    path: tuple[str | int, ...], value: Any
) -> None:
    data = with_field(path, value)
    assert verdict(encoded(data)) == go_verdict(data)


def _recase(key: str, mask: int) -> str:
    return "".join(c.upper() if mask >> i & 1 else c for i, c in enumerate(key))


@FIT
@given(path=st.sampled_from(FIELD_PATHS), mask=st.integers(0, 2**20), value=json_values)
def test_a_field_named_in_another_case_gets_the_original_verdict(
    path: tuple[str | int, ...], mask: int, value: Any
) -> None:
    if isinstance(path[-1], int):
        return
    data = without_field(path)
    target = data
    for step in path[:-1]:
        target = target[step]
    target[_recase(str(path[-1]), mask)] = value
    assert verdict(encoded(data)) == go_verdict(data)


money = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False) | st.sampled_from(
    [0.0, 0.005, 0.009, 0.01, 0.011, 0.015, 1e308, -1e308, 5e-324]
)


@FIT
@given(
    quantity=st.integers(-3, 10**6) | st.sampled_from([2**53 + 1, 2**63 - 1]),
    unit_price=money,
    delta=st.sampled_from([0.0, 0.009, -0.009, 0.0100001, -0.0100001, 0.011, -0.011, 1.0]),
    tax=money,
    off=st.sampled_from([0.0, 0.0099, 0.0101, -0.011]),
)
@example(quantity=1, unit_price=0.1, delta=0.01, tax=0.0, off=0.0)
def test_money_rules_around_their_boundaries(
    quantity: int, unit_price: float, delta: float, tax: float, off: float
) -> None:
    data = order_dict()
    total_price = float(quantity) * unit_price + delta
    if not math.isfinite(total_price):
        total_price = 0.0
    data["items"] = [
        {
            "item_id": "SKU-1",
            "item_name": "x",
            "quantity": quantity,
            "unit_price": unit_price,
            "total_price": total_price,
        }
    ]
    sub_total = total_price + off
    total = sub_total + tax + 2.5
    data.update(
        sub_total=sub_total, tax=tax, shipping_fee=2.5, total=total if math.isfinite(total) else 0.0
    )
    assert verdict(encoded(data)) == go_verdict(data)


blank_text = st.text(
    alphabet="ab \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u2000\u200b\u3000\ufeff", max_size=4
)


@FIT
@given(field=st.sampled_from(["order_id", "status"]), text=blank_text)
def test_blank_is_what_go_trims(field: str, text: str) -> None:
    data = order_dict(**{field: text})
    assert verdict(encoded(data)) == go_verdict(data)


email_text = st.text(alphabet="aZ09._%+-@é \n\u200b", max_size=12)


@FIT
@given(email=email_text | st.emails())
def test_email_rule_is_the_originals(email: str) -> None:
    data = order_dict()
    data["customer_info"]["email"] = email
    assert verdict(encoded(data)) == go_verdict(data)


@FIT
@given(raw=st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_no_bytes_make_the_reader_raise(raw: bytes) -> None:
    verdict(raw)
    verdict(encoded(VALID_ORDER)[: len(raw)] + raw)


@FIT
@given(data=json_values)
def test_any_json_document_gets_the_original_verdict(data: Any) -> None:
    assert verdict(encoded(data)) == go_verdict(data)


def test_every_failure_carries_a_retry_decision() -> None:
    for raw in (None, b"", b"[]", b"{}"):
        with pytest.raises(ProcessingFailure) as info:
            parse_order(raw)
        assert not info.value.reason.retryable


def _huge_quantity() -> str:
    data = order_dict()
    data["items"][0].update(quantity=10**400, unit_price=0.0, total_price=0.0)
    return json.dumps(data)


@FIT
@given(
    text=st.text(max_size=64)
    | st.sampled_from(
        [
            _huge_quantity(),
            "[" * 100_000 + "]" * 100_000,  # deeper than the json module's recursion limit
            '{"a":' * 50_000 + "1" + "}" * 50_000,
            json.dumps(VALID_ORDER).replace('"pending"', '"\ud800"'),
        ]
    )
)
def test_the_editor_and_command_line_helpers_give_a_verdict_for_any_text(text: str) -> None:
    problems = order_problems(text)
    assert isinstance(problems, list)
    assert isinstance(pretty_json(text), str)
    assert isinstance(compact_json(text), str)


def test_the_huge_quantity_is_explained_where_a_payload_is_edited() -> None:
    (problem,) = order_problems(_huge_quantity())
    assert "items.0.quantity: integer" in problem and "does not fit in 64 bits" in problem
