"""Backoff schedule and the simulated stock reservation."""

from __future__ import annotations

import json

import pytest

from orderdesk.config import load_settings
from orderdesk.domain import FailureReason, ProcessingFailure, parse_order
from orderdesk.tracker.retry import Backoff
from orderdesk.tracker.service import StockReservation
from tests.unit.orders import order_dict


def test_delay_doubles_from_the_base_up_to_the_cap():
    backoff = Backoff(base=1.0, cap=30.0, max_attempts=10)
    assert [backoff.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(10_000) == 30


def test_attempts_count_the_first_one():
    backoff = Backoff(base=0.05, cap=1, max_attempts=3)
    assert not backoff.exhausted(1)
    assert not backoff.exhausted(2)
    assert backoff.exhausted(3)


def test_failed_attempts_start_at_one():
    with pytest.raises(ValueError):
        Backoff(1, 2, 3).delay(0)


def test_defaults_come_from_the_settings():
    settings = load_settings(environ={})
    assert Backoff.from_settings(settings.tracker) == Backoff(1.0, 30.0, 3)


ORDER = parse_order(json.dumps(order_dict()))


def _outcomes(reservation: StockReservation, n: int) -> list[str | None]:
    out: list[str | None] = []
    for _ in range(n):
        try:
            reservation(ORDER)
            out.append(None)
        except ProcessingFailure as exc:
            assert exc.reason.retryable
            out.append(exc.reason.value)
    return out


def test_no_failure_rate_never_fails():
    assert set(_outcomes(StockReservation(0.0, seed=1), 500)) == {None}


def test_failures_follow_the_rate_and_the_seed():
    first = _outcomes(StockReservation(0.3, seed=42), 2000)
    assert first == _outcomes(StockReservation(0.3, seed=42), 2000)
    failures = [x for x in first if x]
    assert 450 < len(failures) < 750
    assert {FailureReason.PROCESSING_ERROR.value, FailureReason.TIMEOUT_ERROR.value} == set(
        failures
    )


def test_a_rate_of_one_always_fails():
    assert None not in _outcomes(StockReservation(1.0, seed=3), 200)
