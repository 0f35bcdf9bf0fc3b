"""The tracker's loop against fake Kafka clients: ordering, pauses, commits, dead letters.

The fakes record every pause, resume, commit and dead-letter acknowledgement in one event
list, so the tests can check what happened before what.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, Message, TopicPartition

import orderdesk.tracker.service as tracker_module
from orderdesk.config import Settings, load_settings
from orderdesk.domain import (
    AuditEntry,
    AuditEvent,
    FailureReason,
    LogLevel,
    Order,
    ProcessingFailure,
)
from orderdesk.service.base import ServiceError
from orderdesk.tracker.service import TrackerService
from tests.unit.orders import order_dict

TOPIC = "orders"


def order_message(partition: int, offset: int, sequence: int) -> Message:
    value = json.dumps(order_dict(order_id=f"order-{sequence}", sequence=sequence)).encode()
    return Message(topic=TOPIC, partition=partition, offset=offset, key=b"k", value=value)


def raw_message(partition: int, offset: int, value: bytes | None) -> Message:
    return Message(topic=TOPIC, partition=partition, offset=offset, key=b"k", value=value)


class FakeConsumer:
    """Serves fixed messages per partition, honouring pause/resume; records commits."""

    def __init__(self, partitions: dict[int, list[Message]], events: list) -> None:
        self.partitions = partitions
        self.events = events
        self.cursor = dict.fromkeys(partitions, 0)
        self.paused: set[int] = set()
        self.commits: dict[int, int] = {}
        self.extra: list[Message] = []
        self.callbacks: dict[str, Callable] = {}
        self.assigned = False
        self.closed = False
        self.on_commit: Callable | None = None
        self.commit_results: list[list[TopicPartition]] = []

    # subscription and rebalance
    def subscribe(self, topics, on_assign, on_revoke, on_lost) -> None:
        self.callbacks = {"assign": on_assign, "revoke": on_revoke, "lost": on_lost}

    def revoke(self, numbers: list[int]) -> None:
        self.callbacks["revoke"](self, [TopicPartition(TOPIC, n) for n in numbers])

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        self._serve_commits()
        if not self.assigned:
            self.assigned = True
            self.callbacks["assign"](self, [TopicPartition(TOPIC, p) for p in self.partitions])
            return []
        out = list(self.extra)
        self.extra.clear()
        # Round-robin over partitions, in offset order within each: like librdkafka.
        progress = True
        while len(out) < num_messages and progress:
            progress = False
            for p, msgs in self.partitions.items():
                if p in self.paused or self.cursor[p] >= len(msgs):
                    continue
                out.append(msgs[self.cursor[p]])
                self.cursor[p] += 1
                progress = True
        if not out:
            time.sleep(min(timeout, 0.005))  # a real consume blocks; keep the fake's loop calm
        return out

    def pause(self, tps: list[TopicPartition]) -> None:
        for tp in tps:
            self.paused.add(tp.partition)
            self.events.append(("pause", tp.partition))

    def resume(self, tps: list[TopicPartition]) -> None:
        for tp in tps:
            self.paused.discard(tp.partition)
            self.events.append(("resume", tp.partition))

    def commit(self, offsets: list[TopicPartition], asynchronous: bool = True) -> None:
        for tp in offsets:
            self.commits[tp.partition] = tp.offset
            self.events.append(("commit", tp.partition, tp.offset))
        if asynchronous and self.on_commit is not None:
            self.commit_results.append(offsets)

    def poll(self, timeout: float) -> None:
        self._serve_commits()

    def _serve_commits(self) -> None:
        # Like librdkafka: commit results come back from a later poll or consume.
        results, self.commit_results = self.commit_results, []
        for offsets in results:
            self.on_commit(None, offsets)  # type: ignore[misc]

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(TOPIC, p) for p in self.partitions]

    def close(self) -> None:
        self.revoke(list(self.partitions))
        self.closed = True

    # what drain and lag ask
    def list_topics(self, topic: str, timeout: float) -> Any:
        parts = {p: None for p in self.partitions}
        return type("Meta", (), {"topics": {topic: type("T", (), {"partitions": parts})}})

    def get_watermark_offsets(self, tp: TopicPartition, timeout=None, cached=False):
        msgs = self.partitions[tp.partition]
        return (0, msgs[-1].offset() + 1 if msgs else 0)

    def committed(self, tps: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        return [
            TopicPartition(TOPIC, tp.partition, self.commits.get(tp.partition, -1001)) for tp in tps
        ]

    def position(self, tps: list[TopicPartition]) -> list[TopicPartition]:
        return [TopicPartition(TOPIC, tp.partition, -1001) for tp in tps]


class FakeDeadLetters:
    """Queues dead letters; acknowledges them on poll/flush, failing the first `fail` ones."""

    def __init__(self, events: list, fail: int = 0) -> None:
        self.events = events
        self.fail = fail
        self.queued: list = []
        self.sent: list = []
        self.on_delivery: Callable | None = None

    def __call__(self, settings: Settings, on_delivery: Callable, **extra: Any) -> FakeDeadLetters:
        self.on_delivery = on_delivery
        return self

    @property
    def in_flight(self) -> int:
        return len(self.queued)

    def send(self, letter) -> None:
        self.queued.append(letter)

    def poll(self, timeout: float = 0) -> int:
        return self.flush(timeout)

    def flush(self, timeout: float) -> int:
        queued, self.queued = self.queued, []
        for letter in queued:
            if self.fail > 0:
                self.fail -= 1
                self.events.append(("dlq-failed", letter.partition, letter.offset))
                self.on_delivery(letter, KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))
            else:
                self.sent.append(letter)
                self.events.append(("dlq-ack", letter.partition, letter.offset))
                self.on_delivery(letter, None)
        return 0

    def close(self, timeout: float) -> int:
        return self.flush(timeout)


class Harness:
    def __init__(self, monkeypatch, tmp_path: Path, partitions, dlq_failures=0, **tracker):
        self.events: list = []
        self.consumer = FakeConsumer(partitions, self.events)
        self.dlq = FakeDeadLetters(self.events, dlq_failures)

        def make_consumer(*args: Any, on_commit: Callable | None = None, **kwargs: Any):
            self.consumer.on_commit = on_commit
            return self.consumer

        monkeypatch.setattr(tracker_module, "make_consumer", make_consumer)
        monkeypatch.setattr(tracker_module, "ensure_topics", lambda *a, **k: [])
        monkeypatch.setattr(tracker_module, "DeadLetterProducer", self.dlq)
        overrides = {
            "topics.orders": TOPIC,
            "log_dir": str(tmp_path),
            "tracker.retry_base_delay": 0.01,
            "tracker.retry_max_delay": 0.02,
        }
        overrides.update({f"tracker.{k}": v for k, v in tracker.items()})
        self.settings = load_settings(overrides=overrides, environ={})
        self.tmp_path = tmp_path

    def audit(self) -> list[AuditEntry]:
        lines = (self.tmp_path / "tracker.events").read_bytes().splitlines()
        return [AuditEntry.model_validate_json(line) for line in lines]

    def final_offsets(self, partition: int) -> list[int]:
        final = (AuditEvent.ORDER_VALIDATED, AuditEvent.ORDER_REJECTED)
        return [
            e.kafka_offset
            for e in self.audit()
            if e.kafka_partition == partition and e.event_type in final
        ]


def run_drained(service: TrackerService, timeout: float = 30):
    service.drain()
    watchdog = threading.Timer(timeout, service.stop)
    watchdog.start()
    try:
        return service.run()
    finally:
        watchdog.cancel()


class FailFirst:
    """Fails the first `n` attempts of the orders whose sequence is in `sequences`."""

    def __init__(self, sequences: set[int], n: int) -> None:
        self.sequences = sequences
        self.n = n
        self.attempts: dict[int, int] = {}

    def __call__(self, order: Order) -> None:
        if order.sequence in self.sequences:
            seen = self.attempts[order.sequence] = self.attempts.get(order.sequence, 0) + 1
            if seen <= self.n:
                raise ProcessingFailure("warehouse busy", FailureReason.PROCESSING_ERROR)


def test_a_retry_holds_back_its_partition_only(monkeypatch, tmp_path):
    p0 = [order_message(0, i, i + 1) for i in range(4)]
    p1 = [order_message(1, i, 100 + i) for i in range(4)]
    h = Harness(monkeypatch, tmp_path, {0: p0, 1: p1}, max_retries=3)

    result = run_drained(TrackerService(h.settings, downstream=FailFirst({1}, 2)))

    assert h.final_offsets(0) == [0, 1, 2, 3]
    assert h.final_offsets(1) == [0, 1, 2, 3]
    audit = h.audit()
    first_p0 = next(
        i
        for i, e in enumerate(audit)
        if e.kafka_partition == 0 and e.event_type.value == "order.validated"
    )
    last_p1 = max(i for i, e in enumerate(audit) if e.kafka_partition == 1)
    assert last_p1 < first_p0, "partition 1 waited for partition 0's retry"
    assert [e.event_type for e in audit if e.kafka_partition == 0][:2] == [
        AuditEvent.ORDER_RETRIED,
        AuditEvent.ORDER_RETRIED,
    ]
    assert ("pause", 0) in h.events and ("resume", 0) in h.events
    assert ("pause", 1) not in h.events
    assert result.stats.retries == 2
    assert h.consumer.commits == {0: 4, 1: 4}


def test_a_stop_during_a_retry_wait_commits_nothing_past_it(monkeypatch, tmp_path):
    p0 = [order_message(0, i, i + 1) for i in range(3)]
    p1 = [order_message(1, i, 100 + i) for i in range(3)]
    h = Harness(monkeypatch, tmp_path, {0: p0, 1: p1}, retry_base_delay=600, retry_max_delay=600)
    seen = []
    service = TrackerService(
        h.settings, downstream=FailFirst({1}, 99), on_stats=seen.append, stats_interval=0.01
    )
    results = []
    thread = threading.Thread(target=lambda: results.append(service.run()))
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not (seen and seen[-1].valid == 3) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        service.stop()
        thread.join(30)
    assert not thread.is_alive()
    assert h.consumer.commits.get(0, 0) == 0
    assert h.consumer.commits[1] == 3
    assert [e.event_type for e in h.audit() if e.kafka_partition == 0] == [AuditEvent.ORDER_RETRIED]
    # Lag counts the order in retry and the two held behind it.
    assert results[0].stats.lag == 3


def test_offsets_are_committed_only_after_the_dead_letter_is_acknowledged(monkeypatch, tmp_path):
    p0 = [
        order_message(0, 0, 1),
        raw_message(0, 1, b"{not json"),
        order_message(0, 2, 3),
        raw_message(0, 3, None),
    ]
    h = Harness(monkeypatch, tmp_path, {0: p0})

    result = run_drained(TrackerService(h.settings))

    acked = {e[2]: i for i, e in enumerate(h.events) if e[0] == "dlq-ack"}
    for i, event in enumerate(h.events):
        if event[0] == "commit":
            for offset, at in acked.items():
                if event[2] > offset:
                    assert at < i, f"commit {event} before the dead letter of {offset}"
    assert h.consumer.commits == {0: 4}
    assert [letter.offset for letter in h.dlq.sent] == [1, 3]
    assert result.stats.dead_lettered == {"DESERIALIZATION_ERROR": 2}


def test_a_failed_dead_letter_is_sent_again_and_holds_the_commit(monkeypatch, tmp_path):
    p0 = [raw_message(0, 0, b"garbage"), order_message(0, 1, 2), order_message(0, 2, 3)]
    h = Harness(monkeypatch, tmp_path, {0: p0}, dlq_failures=2)
    logs = []

    result = run_drained(TrackerService(h.settings, on_log=logs.append))

    failed_at = [i for i, e in enumerate(h.events) if e[0] == "dlq-failed"]
    acked_at = next(i for i, e in enumerate(h.events) if e[0] == "dlq-ack")
    assert len(failed_at) == 2 and max(failed_at) < acked_at
    commits_before_ack = [e for e in h.events[:acked_at] if e[0] == "commit"]
    assert all(e[2] == 0 for e in commits_before_ack)
    assert h.consumer.commits == {0: 3}
    errors = [e for e in logs if e.level is LogLevel.ERROR]
    assert len(errors) == 2 and "dead letter" in errors[0].message
    dead = [e for e in h.audit() if e.event_type is AuditEvent.ORDER_DEAD_LETTERED]
    assert len(dead) == 1
    assert result.stats.dead_lettered == {"DESERIALIZATION_ERROR": 1}


def test_exhausted_retries_are_dead_lettered_with_the_attempts(monkeypatch, tmp_path):
    h = Harness(monkeypatch, tmp_path, {0: [order_message(0, 0, 1)]}, max_retries=4)

    run_drained(TrackerService(h.settings, downstream=FailFirst({1}, 99)))

    (letter,) = h.dlq.sent
    assert letter.message.failure_reason is FailureReason.PROCESSING_ERROR
    assert letter.message.retry_count == 4
    events = [e.event_type for e in h.audit()]
    assert events == [AuditEvent.ORDER_RETRIED] * 3 + [
        AuditEvent.ORDER_REJECTED,
        AuditEvent.ORDER_DEAD_LETTERED,
    ]


def test_an_unexpected_exception_is_a_retryable_unknown_error(monkeypatch, tmp_path):
    h = Harness(monkeypatch, tmp_path, {0: [order_message(0, 0, 1)]}, max_retries=2)

    def broken(order: Order) -> None:
        raise KeyError("warehouse")

    run_drained(TrackerService(h.settings, downstream=broken))

    (letter,) = h.dlq.sent
    assert letter.message.failure_reason is FailureReason.UNKNOWN_ERROR
    assert letter.message.retry_count == 2
    assert "KeyError" in letter.message.error_message
    assert "Traceback" in letter.message.error_stack


def test_revoked_partitions_are_committed_and_forgotten(monkeypatch, tmp_path):
    p0 = [order_message(0, i, i + 1) for i in range(3)]
    h = Harness(monkeypatch, tmp_path, {0: p0})
    service = TrackerService(h.settings)
    original = h.consumer.consume

    def consume_then_revoke(num_messages: int, timeout: float) -> list[Message]:
        msgs = original(num_messages, timeout)
        if h.consumer.cursor[0] == 3 and not msgs and ("revoked",) not in h.events:
            h.events.append(("revoked",))
            h.consumer.revoke([0])
            service.stop()
        return msgs

    h.consumer.consume = consume_then_revoke  # type: ignore[method-assign]
    result = service.run()
    revoked_at = h.events.index(("revoked",))
    assert ("commit", 0, 3) in h.events[revoked_at:]
    assert result.committed == {0: 3}


def test_a_fatal_consumer_error_ends_the_run_with_a_clear_message(monkeypatch, tmp_path):
    h = Harness(monkeypatch, tmp_path, {0: [order_message(0, 0, 1)]})
    h.consumer.extra.append(Message(error=KafkaError(KafkaError._FATAL, "fenced", fatal=True)))

    with pytest.raises(ServiceError, match=r"fatal Kafka consumer error.*fenced") as caught:
        TrackerService(h.settings).run()
    assert caught.value.result is not None
    assert h.consumer.closed


def test_partition_eof_and_transient_errors_do_not_stop_the_loop(monkeypatch, tmp_path):
    h = Harness(monkeypatch, tmp_path, {0: [order_message(0, 0, 1)]})
    h.consumer.extra += [
        Message(error=KafkaError(KafkaError._PARTITION_EOF)),
        Message(error=KafkaError(KafkaError._TRANSPORT, "broker down")),
    ]

    result = run_drained(TrackerService(h.settings))

    assert result.stats.valid == 1
    assert result.stats.last_error and "broker down" in result.stats.last_error
