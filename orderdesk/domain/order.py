"""The order event: one self-contained JSON document per Kafka message.

The original system decodes each payload with Go's `encoding/json` into typed fields and
then validates it; OrderDesk reads payloads the same way (docs/contract.md has the details):

- JSON types are checked, never converted: a string, float or boolean where an integer
  belongs, a string where a number belongs, a number where a string belongs, an integer
  outside 64 bits: the payload is not an order.
- A missing field or a `null` reads as the field's zero value ("" / 0 / false / empty list
  / all-zero object), so `"items": null` breaks "at least one item" while
  `"inventory_status": null` is fine. Keys match field names exactly or, failing that,
  case-insensitively, as in Go.
- Deliberately stricter than the original: invalid UTF-8 and lone surrogates are refused
  (Go replaces them with U+FFFD). NaN and Infinity are not JSON; both refuse them.

Parsing is split in two steps that map to the two non-retryable failure reasons:
`parse_order_shape` decides whether the payload is an order at all, and
`Order.violations()` checks the business rules of the domain contract. `parse_order` runs
both and raises the matching error; no payload makes either raise anything else.
"""

from __future__ import annotations

import re
from datetime import datetime
from operator import attrgetter
from typing import Annotated, Any, ClassVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import from_json
from typing_extensions import TypedDict

from orderdesk.domain.failures import DeserializationError, OrderValidationError
from orderdesk.domain.jsontext import (
    JsonTextError,
    describe_invalid,
    flatten_deep_values,
    non_finite_problem,
)

SCHEMA_VERSION = "1.0"
EVENT_ORDER_CREATED = "order.created"
CONTENT_TYPE = "application/json"

#: Sums may differ by rounding; anything beyond a cent is an error.
MONEY_TOLERANCE = 0.01

#: The original's rule (Go RE2, where `$` is the end of the text), over the whole string.
_EMAIL = re.compile(r"[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}")

#: What Go's strings.TrimSpace trims: Unicode White_Space. Python's str.strip() would also
#: trim U+001C..U+001F, which are not white space for Go (nor for Unicode).
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)

#: Go's `int` on the 64-bit platforms the original runs on.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


def is_blank(text: str) -> bool:
    """True when `text` is empty once Unicode white space is trimmed (Go's TrimSpace)."""
    return not text.strip(_GO_SPACE)


def _fold(key: str) -> str:
    # Go's encoding/json falls back to a case-insensitive match (bytes.EqualFold, simple
    # Unicode folding): for ASCII field names that is lower case plus KELVIN SIGN -> k
    # (str.lower does that one) and LATIN SMALL LETTER LONG S -> s.
    return key.lower().replace("\u017f", "s")


class _Model(BaseModel):
    """A Go struct: typed fields, each with its zero value when the payload has none."""

    # Strict: JSON types are checked, not converted. NaN and infinities would slip past
    # every sum check (comparisons with NaN are false). Unknown fields are kept (and never
    # checked) so that the reader can tell whether one names a field case-insensitively.
    model_config = ConfigDict(extra="allow", frozen=True, strict=True, allow_inf_nan=False)

    #: Field names by their case-folded form.
    _folded: ClassVar[dict[str, str]] = {}
    #: The model class of each field that holds an object or a list of objects.
    _nested: ClassVar[dict[str, type[_Model]]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._folded = {_fold(name): name for name in cls.model_fields}
        cls._nested = {}
        for name, info in cls.model_fields.items():
            inner = get_args(info.annotation) or (info.annotation,)
            if isinstance(inner[0], type) and issubclass(inner[0], _Model):
                cls._nested[name] = inner[0]

    def _names_a_field_by_case(self) -> bool:
        extra = self.__pydantic_extra__
        return extra is not None and any(_fold(key) in self._folded for key in extra)

    @classmethod
    def _as_go_decodes(cls, data: Any) -> Any:
        """What encoding/json sets from the parsed JSON `data`, as input for this model.

        `null` leaves a field (or a whole object) at its zero value; a key that names no
        field exactly may name one case-insensitively, and the last key for a field wins;
        other keys are ignored. Values of the wrong type are left for pydantic to report.
        """
        if data is None:
            return {}
        if not isinstance(data, dict):
            return data
        decoded: dict[str, Any] = {}
        for key, value in data.items():
            name = key if key in cls.model_fields else cls._folded.get(_fold(key))
            if name is None or value is None:
                continue
            nested = cls._nested.get(name)
            if nested is None:
                decoded[name] = value
            elif isinstance(value, list):
                decoded[name] = [nested._as_go_decodes(element) for element in value]
            else:
                decoded[name] = nested._as_go_decodes(value)
        return decoded


class OrderItem(_Model):
    item_id: str = ""
    item_name: str = ""
    quantity: Int64 = 0
    unit_price: float = 0.0
    total_price: float = 0.0


class OrderMetadata(_Model):
    #: ISO 8601 UTC by the contract, but a string to the original: it never parses it.
    timestamp: str = ""
    version: str = ""
    event_type: str = ""
    source: str = ""
    correlation_id: str = ""

    @property
    def created_at(self) -> datetime | None:
        """`timestamp` as an aware datetime, or None when it is not ISO 8601 with a zone."""
        try:
            when = datetime.fromisoformat(self.timestamp)
        except ValueError:
            return None
        return when if when.tzinfo is not None else None


class CustomerInfo(_Model):
    customer_id: str = ""
    name: str = ""
    email: str = ""
    phone: str = ""
    address: str = ""
    loyalty_level: str = ""


class InventoryStatus(_Model):
    item_id: str = ""
    item_name: str = ""
    available_qty: Int64 = 0
    reserved_qty: Int64 = 0
    unit_price: float = 0.0
    in_stock: bool = False
    warehouse: str = ""


class Order(_Model):
    order_id: str = ""
    sequence: Int64 = 0
    status: str = ""
    items: list[OrderItem] = []
    sub_total: float = 0.0
    tax: float = 0.0
    shipping_fee: float = 0.0
    total: float = 0.0
    currency: str = ""
    payment_method: str = ""
    shipping_address: str = ""
    metadata: OrderMetadata = OrderMetadata()
    customer_info: CustomerInfo = CustomerInfo()
    inventory_status: list[InventoryStatus] = []

    def has_case_folded_keys(self) -> bool:
        """Whether a key the model kept as unknown names one of its fields by case only."""
        if not self.keeps_unknown_keys():  # nearly every order: no part to look into
            return False
        for part in self._parts():
            if part.__pydantic_extra__ and part._names_a_field_by_case():
                return True
        return False

    def keeps_unknown_keys(self) -> bool:
        """Whether the payload had a key that names no field exactly, at any level."""
        if (
            self.__pydantic_extra__
            or self.metadata.__pydantic_extra__
            or self.customer_info.__pydantic_extra__
        ):
            return True
        for item in self.items:
            if item.__pydantic_extra__:
                return True
        for stock in self.inventory_status:  # noqa: SIM110 - a loop is cheaper than any()
            if stock.__pydantic_extra__:
                return True
        return False

    def _parts(self) -> list[_Model]:
        parts: list[_Model] = [self, self.metadata, self.customer_info]
        parts += self.items
        parts += self.inventory_status
        return parts

    def violations(self) -> list[str]:
        """Every business rule this order breaks, each naming its field; empty when valid."""
        try:
            items = list(map(_FIELDS, self.items))
            if _rules_hold(self.__dict__, self.customer_info.__dict__, items):
                return []
            return self._violations()
        except (ArithmeticError, ValueError) as exc:  # defensive: fields are bounded
            return [f"the order's amounts cannot be checked: {exc}"]

    def _violations(self) -> list[str]:
        found: list[str] = []
        for name in ("order_id", "status"):
            if is_blank(getattr(self, name)):
                found.append(f"{name} is required")
        if is_blank(self.customer_info.customer_id):
            found.append("customer_info.customer_id is required")
        if is_blank(self.customer_info.name):
            found.append("customer_info.name is required")
        if self.sequence <= 0:
            found.append(f"sequence must be > 0, got {self.sequence}")
        if not self.items:
            found.append("items must hold at least one item")
        items_sum = 0.0
        for i, item in enumerate(self.items):
            where = f"items[{i}]"
            if is_blank(item.item_id):
                found.append(f"{where}.item_id is required")
            if is_blank(item.item_name):
                found.append(f"{where}.item_name is required")
            if item.quantity <= 0:
                found.append(f"{where}.quantity must be > 0, got {item.quantity}")
            if item.unit_price < 0:
                found.append(f"{where}.unit_price must be >= 0, got {item.unit_price:.2f}")
            # As the original: float64(quantity) * unit_price (an int64 always converts).
            expected = float(item.quantity) * item.unit_price
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
        if email and not _EMAIL.fullmatch(email):
            found.append(f"customer_info.email is not an e-mail address: {email!r}")
        return found


#: A model's fields by name.
_FIELDS = attrgetter("__dict__")


def _rules_hold(
    order: dict[str, Any], customer: dict[str, Any], items: list[dict[str, Any]]
) -> bool:
    """Whether an order keeps every business rule: `Order._violations` as one test.

    Nearly every order is valid, so this runs first and `_violations` words the rules only
    for an order that breaks one. The arguments are the fields by name of the order, its
    `customer_info` and each item: a model's `__dict__`, or the parsed JSON objects of a
    payload whose every value has its field's type (`check_order`).
    """
    space = _GO_SPACE
    if (
        not order["order_id"].strip(space)
        or not order["status"].strip(space)
        or not customer["customer_id"].strip(space)
        or not customer["name"].strip(space)
        or order["sequence"] <= 0
        or not items
    ):
        return False
    tolerance = MONEY_TOLERANCE
    items_sum = 0.0
    for item in items:
        quantity = item["quantity"]
        unit_price = item["unit_price"]
        total_price = item["total_price"]
        if (
            not item["item_id"].strip(space)
            or not item["item_name"].strip(space)
            or quantity <= 0
            or unit_price < 0
            or abs(total_price - float(quantity) * unit_price) > tolerance
        ):
            return False
        items_sum += total_price
    sub_total = order["sub_total"]
    if abs(sub_total - items_sum) > tolerance:
        return False
    if abs(order["total"] - (sub_total + order["tax"] + order["shipping_fee"])) > tolerance:
        return False
    email = customer["email"]
    return not email or _EMAIL.fullmatch(email) is not None


_EXPECTED = {
    "int_type": "an integer",
    "float_type": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "an array",
    "model_type": "an object",
    "model_attributes_type": "an object",
}


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a fraction" if value == value else "NaN"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _detail_text(detail: Any) -> str:
    kind = detail["type"]
    value = detail.get("input")
    if kind in ("less_than_equal", "greater_than_equal") and isinstance(value, int):
        return f"integer {value} does not fit in 64 bits"
    if kind == "float_type" and isinstance(value, int) and not isinstance(value, bool):
        return "integer too large for a 64-bit float"
    if kind == "finite_number":
        return "number out of range for a 64-bit float"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_json_kind(value)}"
    return str(detail["msg"])


def describe_shape_error(error: ValidationError, limit: int = 3) -> str:
    """One line naming the fields where a payload does not have the shape of an order."""
    parts = []
    for detail in error.errors(include_url=False)[:limit]:
        loc = ".".join(str(p) for p in detail["loc"]) or "payload"
        parts.append(f"{loc}: {_detail_text(detail)}")
    more = error.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


#: Deeper than any place the order model reads (order, items, item, field value) and well
#: within pydantic's parser limit of 200 levels.
_KEEP_DEPTH = 16


def parse_order_shape(payload: bytes | str | None) -> Order:
    """Parse a payload into an `Order` without checking business rules.

    Raises `DeserializationError` when the payload is not an order at all, and nothing
    else, whatever the payload holds.
    """
    if payload is None:
        raise DeserializationError("payload is null (tombstone)")
    if not payload:
        raise DeserializationError("payload is empty")
    if isinstance(payload, str):
        try:
            raw = payload.encode("utf-8")
        except UnicodeEncodeError as exc:
            code = ord(payload[exc.start])
            raise DeserializationError(
                f"not valid JSON: lone surrogate U+{code:04X} in the text: not Unicode text"
            ) from None
    else:
        raw = payload if type(payload) is bytes else bytes(payload)
    try:
        return _read(raw)
    except DeserializationError:
        raise
    except Exception as exc:  # a reader bug must still end as a verdict, never a crash
        raise DeserializationError(f"not an order: unreadable ({type(exc).__name__})") from None


def _read(raw: bytes) -> Order:
    try:
        order = Order.model_validate_json(raw)
    except ValidationError as exc:
        details = exc.errors(include_url=False)
        if details[0]["type"] == "json_invalid":
            return _read_invalid(raw, str(details[0]["msg"]).removeprefix("Invalid JSON: "))
        # A null, or a wrong type: decide by Go's rules.
        return _read_as_go(raw)
    if order.has_case_folded_keys():
        return _read_as_go(raw)
    # pydantic's parser takes NaN and Infinity in fields the order does not know, and in
    # all but the last of repeated keys, which it does not check. (bytes.find is faster
    # than `in`.)
    if raw.find(b"NaN") >= 0 or raw.find(b"Infinity") >= 0:
        problem = non_finite_problem(raw)
        if problem:
            raise DeserializationError(f"not valid JSON: {problem}")
    return order


def _read_invalid(raw: bytes, message: str) -> Order:
    if not message.startswith("recursion limit exceeded"):
        raise DeserializationError(f"not valid JSON: {describe_invalid(raw, message)}")
    # Deep nesting (pydantic's parser stops at 200 levels, Go's at 10,000): check the whole
    # text without recursion, cut what lies too deep to matter, and read the rest.
    try:
        flat = flatten_deep_values(raw, _KEEP_DEPTH)
    except JsonTextError as problem:
        raise DeserializationError(f"not valid JSON: {problem}") from None
    return _read(flat)


def _read_as_go(raw: bytes) -> Order:
    problem = non_finite_problem(raw)  # NaN in a number field: not JSON at all
    if problem:
        raise DeserializationError(f"not valid JSON: {problem}")
    try:
        return Order.model_validate(Order._as_go_decodes(from_json(raw)))
    except ValidationError as exc:
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


def check_order(payload: bytes | str | None) -> None:
    """Raise what `parse_order` raises for `payload`, without building the `Order`.

    For a caller that only needs the verdict. A payload in the producer's plain form
    (every field there under its own name, with its own JSON type, no null) is parsed into
    plain objects and judged by the same rules; any other is left to `parse_order`.
    """
    if type(payload) is not bytes or not _plainly_valid(payload):
        parse_order(payload)


def _plain_form(model: type[_Model]) -> Any:
    """A TypedDict of the model's fields, with their types and bounds: every field
    required, no null, no unknown key (so no zero value to fill in, no key to fold)."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        kind: Any = info.annotation
        if isinstance(kind, type) and issubclass(kind, _Model):
            kind = _plain_form(kind)
        elif get_origin(kind) is list:
            kind = list[_plain_form(get_args(kind)[0])]  # type: ignore[misc]
        fields[name] = Annotated[kind, *info.metadata] if info.metadata else kind
    form = TypedDict(f"Plain{model.__name__}", fields)  # type: ignore[misc]
    form.__pydantic_config__ = ConfigDict(  # type: ignore[attr-defined]
        extra="forbid", strict=True, allow_inf_nan=False
    )
    return form


#: An order in the producer's plain form, as plain objects; pydantic checks the types.
#: Made on first use: it takes milliseconds, and most processes that import the model
#: (the desktop app, the command line) never check a payload this way.
_plain_order: TypeAdapter[Any] | None = None


def _plain_order_form() -> TypeAdapter[Any]:
    global _plain_order
    _plain_order = TypeAdapter(_plain_form(Order))
    return _plain_order


def _plainly_valid(raw: bytes) -> bool:
    """True when `raw` is an order in plain form that keeps every rule; False when that
    is not certain (it may still be a valid order: `parse_order` decides)."""
    try:
        data = (_plain_order or _plain_order_form()).validate_json(raw)
        # As in `_read`: all but the last of repeated keys are not checked.
        if raw.find(b"NaN") >= 0 or raw.find(b"Infinity") >= 0:
            return False
        return _rules_hold(data, data["customer_info"], data["items"])
    except Exception:  # any doubt: parse_order decides
        return False
