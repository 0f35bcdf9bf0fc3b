"""The shared text helpers: counts in words, JSON for people, payload problems, timestamps."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from orderdesk.domain.text import compact_json, from_millis, order_problems, plural, pretty_json
from tests.unit.orders import order_dict


def test_plural() -> None:
    assert plural(1, "problem") == "1 problem"
    assert plural(0, "problem") == "0 problems"
    assert plural(2, "entry", "entries") == "2 entries"
    assert plural(1_000, "message") == "1,000 messages"


def test_json_for_people_leaves_other_text_alone() -> None:
    assert pretty_json('{"a":1}') == '{\n  "a": 1\n}'
    assert compact_json('{\n  "a": 1\n}') == '{"a":1}'
    assert pretty_json("not json") == compact_json("not json") == "not json"
    assert compact_json('{"name": "Zoë"}') == '{"name":"Zoë"}'


def test_order_problems_names_each_broken_rule() -> None:
    assert order_problems(json.dumps(order_dict()).encode()) == []
    assert order_problems("{not json")
    problems = order_problems(json.dumps(order_dict(status=" ", sequence=0)))
    assert len(problems) == 2


def test_from_millis() -> None:
    assert from_millis(1_700_000_000_123) == datetime(2023, 11, 14, 22, 13, 20, 123000, UTC)
    assert from_millis(None) is None and from_millis(0) is None and from_millis(-1) is None
