"""`tracker.audit_every_message`: every arrival gets a `message.received` audit line first."""

from __future__ import annotations

from orderdesk.domain import AuditEvent
from orderdesk.tracker.service import TrackerService
from tests.unit.test_tracker_loop import (
    FailFirst,
    Harness,
    order_message,
    raw_message,
    run_drained,
)


def test_every_arrival_is_audited_before_its_outcome(monkeypatch, tmp_path):
    messages = [order_message(0, 0, 1), raw_message(0, 1, b"{not json"), order_message(0, 2, 3)]
    h = Harness(monkeypatch, tmp_path, {0: messages}, audit_every_message=True, max_retries=2)

    run_drained(TrackerService(h.settings, downstream=FailFirst({3}, 1)))

    seen = [(e.kafka_offset, e.event_type) for e in h.audit()]
    received = [offset for offset, event in seen if event is AuditEvent.MESSAGE_RECEIVED]
    assert received == [0, 1, 2]
    for offset in (0, 1, 2):
        first = next(event for o, event in seen if o == offset)
        assert first is AuditEvent.MESSAGE_RECEIVED, offset
    assert (2, AuditEvent.ORDER_RETRIED) in seen  # a retry is not a second arrival
    assert (1, AuditEvent.ORDER_REJECTED) in seen and (2, AuditEvent.ORDER_VALIDATED) in seen


def test_off_by_default(monkeypatch, tmp_path):
    h = Harness(monkeypatch, tmp_path, {0: [order_message(0, 0, 1)]})
    run_drained(TrackerService(h.settings))
    assert [e.event_type for e in h.audit()] == [AuditEvent.ORDER_VALIDATED]
