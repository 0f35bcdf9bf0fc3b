"""Bulk republish checks every payload first, and sends what the user chose from it."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from PySide6.QtWidgets import QMessageBox

from orderdesk.config import Settings, load_settings
from orderdesk.deadletters.entries import entry_from_record
from orderdesk.deadletters.ledger import ReplayRecord
from orderdesk.deadletters.republish import ReplayRequest, ReplaySummary
from orderdesk.domain.text import order_problems
from orderdesk.gui.deadletters.bulk import BulkConfirmation
from orderdesk.gui.deadletters.inbox import DeadLetterInbox
from orderdesk.gui.deadletters.plan import plan_bulk
from tests.unit.dlq_records import broken_order, order_payload, orderdesk_record

TIMEOUT_MS = 60_000


def _settings(tmp_path: Path, bootstrap: str = "127.0.0.1:1", **topics: str) -> Settings:
    overrides = {"kafka.bootstrap_servers": bootstrap, "log_dir": str(tmp_path / "logs")}
    overrides.update({f"topics.{k}": v for k, v in topics.items()})
    return load_settings(overrides=overrides, environ={})


def _mix(dlq: str = "orders-dlq", orders: str = "orders"):
    """Three fixed (valid) orders, two still broken, one that is not JSON."""
    payloads = [order_payload() for _ in range(3)] + [broken_order(), broken_order()]
    records = [
        orderdesk_record(p, original_topic=orders, original_offset=i)
        for i, p in enumerate(payloads)
    ]
    records.append(orderdesk_record("{not json", original_topic=orders, original_offset=5))
    return [
        entry_from_record(dlq, 0, i, key, value, headers, 1_700_000_000_000)
        for i, (key, value, headers, _msg) in enumerate(records)
    ]


@pytest.fixture
def inbox(qtbot, tmp_path: Path):
    widget = DeadLetterInbox(_settings(tmp_path), autostart=False)
    qtbot.addWidget(widget)
    yield widget
    widget.shutdown()
    widget.wait_stopped()


def test_the_plan_sorts_valid_invalid_and_refused(inbox: DeadLetterInbox) -> None:
    entries = _mix()
    inbox.ledger.append(
        ReplayRecord(entries[0].id, entries[0].dlq_topic, "2026-12-01T10:00:00+00:00", 1,
                     "orders", 0, 7)
    )  # fmt: skip
    requests = [ReplayRequest(e) for e in entries]
    from orderdesk.deadletters.republish import Republisher

    guards = Republisher(inbox.settings, inbox.ledger)
    plan = plan_bulk(requests, guards.refusal, again=False)
    assert (len(plan.valid), len(plan.invalid), len(plan.refused)) == (2, 3, 1)
    assert dict(plan.invalid_groups())["total"] == 2
    assert plan.refused_groups() == [("republished before", 1)]
    again = plan_bulk(requests, guards.refusal, again=True)
    assert (len(again.valid), len(again.invalid), len(again.refused)) == (3, 3, 0)
    # Valid only: the two valid ones, and the refused one (reported as refused again).
    assert [r.entry.id for r in plan.requests(include_invalid=False)] == [
        entries[1].id, entries[2].id, entries[0].id,
    ]  # fmt: skip


def test_the_confirmation_says_what_will_happen(qtbot, inbox: DeadLetterInbox, monkeypatch):
    entries = _mix()
    inbox.model.add_entries(entries)
    inbox.table.selectAll()
    seen: dict[str, object] = {}

    def click_valid_only(box: QMessageBox) -> int:
        assert isinstance(box, BulkConfirmation)
        seen["text"] = box.text()
        seen["info"] = box.informativeText()
        seen["valid"] = box.valid_button.text()
        seen["all"] = box.all_button.text()
        box.valid_button.click()
        return 0

    started: list[list[ReplayRequest]] = []
    monkeypatch.setattr(QMessageBox, "exec", click_valid_only)
    monkeypatch.setattr(inbox, "_start", lambda requests, again: started.append(requests) or True)
    assert inbox.republish_selected()
    assert seen["text"] == "Republish 6 selected dead letters to orders?"
    info = str(seen["info"])
    assert "3 valid orders." in info
    assert "3 payloads still not a valid order: total (2)" in info
    assert "refused" not in info
    assert seen["valid"] == "Republish the 3 valid ones"
    assert seen["all"] == "Also the invalid ones (6)"
    sent = started[0]
    assert len(sent) == 3 and all(not order_problems(r.entry.payload_bytes) for r in sent)


@pytest.mark.kafka
def test_only_the_valid_ones_go_and_the_counts_match(
    qtbot, kafka_bootstrap: str, topic_factory, tmp_path: Path
) -> None:
    orders, dlq = topic_factory(1, prefix="bulk-orders"), topic_factory(1, prefix="bulk-dlq")
    entries = _mix(dlq, orders)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for entry in entries:
        producer.produce(dlq, value=json.dumps(entry.message.model_dump(mode="json")))
    assert producer.flush(30) == 0
    inbox = DeadLetterInbox(_settings(tmp_path, kafka_bootstrap, orders=orders, dlq=dlq))
    qtbot.addWidget(inbox)
    try:
        qtbot.waitUntil(lambda: inbox.is_caught_up and inbox.model.rowCount() == 6,
                        timeout=TIMEOUT_MS)  # fmt: skip
        inbox.table.selectAll()
        planned = []

        def valid_only(plans, targets):
            planned.append(plans[0])
            return plans[0].requests(include_invalid=False), False

        inbox.confirm_bulk = valid_only
        with qtbot.waitSignal(inbox.republish_finished, timeout=TIMEOUT_MS) as done:
            assert inbox.republish_selected()
        summary: ReplaySummary = done.args[0]
        plan = planned[0]
        assert (len(plan.valid), len(plan.invalid), len(plan.refused)) == (3, 3, 0)
        assert (summary.acknowledged, summary.refused, summary.failed) == (3, 0, 0)
        assert "3 of 3 republished" in inbox.summary.text()
        qtbot.waitUntil(lambda: not inbox.republishing, timeout=TIMEOUT_MS)
    finally:
        inbox.shutdown()
        inbox.wait_stopped()
    # What reached the orders topic: exactly the three valid orders, which the tracker takes.
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "auto.offset.reset": "earliest",
                         "group.id": f"bulk-{uuid.uuid4().hex}"})  # fmt: skip
    got = []
    try:
        consumer.subscribe([orders])
        deadline = time.monotonic() + 30
        while len(got) < 3 and time.monotonic() < deadline:
            got += [m for m in consumer.consume(10, timeout=0.5) if m.error() is None]
        got += [m for m in consumer.consume(10, timeout=2.0) if m.error() is None]
    finally:
        consumer.close()
    assert len(got) == 3
    assert all(order_problems(m.value()) == [] for m in got)
