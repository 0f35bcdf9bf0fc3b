"""Helpers for the tracker's integration tests: feed payloads, run, read what it wrote."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from orderdesk.audit.writer import TRACKER_EVENTS
from orderdesk.config import Settings, load_settings
from orderdesk.domain import AuditEntry, DeadLetterMessage
from orderdesk.tracker.service import TrackerResult, TrackerService
from tests.support.waiting import wait_until as wait_until
from tests.unit.orders import order_dict

TIMEOUT = 60.0

Payload = tuple[bytes | None, bytes | None]  # key, value


def tracker_settings(
    bootstrap: str, topic: str, dlq: str, log_dir: Path, **tracker: Any
) -> Settings:
    overrides: dict[str, Any] = {
        "kafka.bootstrap_servers": bootstrap,
        "topics.orders": topic,
        "topics.dlq": dlq,
        "tracker.group": f"tracker-{uuid.uuid4().hex[:8]}",
        "tracker.retry_base_delay": 0.05,
        "tracker.retry_max_delay": 0.2,
        "log_dir": str(log_dir),
    }
    overrides.update({f"tracker.{k}": v for k, v in tracker.items()})
    return load_settings(overrides=overrides, environ={})


def valid_payload(sequence: int, **changes: Any) -> bytes:
    return json.dumps(order_dict(order_id=str(uuid.uuid4()), sequence=sequence, **changes)).encode()


def produce(
    bootstrap: str,
    topic: str,
    payloads: Iterable[Payload],
    partition: int | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> list[Message]:
    """Produce with a plain client and wait for every acknowledgement."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    delivered: list[Message] = []
    failed: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        (failed.append(err) if err is not None else delivered.append(msg))

    for key, value in payloads:
        kwargs: dict[str, Any] = {"key": key, "value": value, "on_delivery": on_delivery}
        if partition is not None:
            kwargs["partition"] = partition
        if headers:
            kwargs["headers"] = headers
        producer.produce(topic, **kwargs)
        producer.poll(0)
    assert producer.flush(TIMEOUT) == 0
    assert failed == []
    return delivered


def run_drained(tracker: TrackerService, timeout: float = TIMEOUT) -> TrackerResult:
    """Run until every message on the topic is handled and committed (stop on time-out)."""
    tracker.drain()
    watchdog = threading.Timer(timeout, tracker.stop)
    watchdog.start()
    try:
        return tracker.run()
    finally:
        watchdog.cancel()


class Background:
    """A tracker running on a thread, for tests that watch it while it runs."""

    def __init__(self, tracker: TrackerService) -> None:
        self.tracker = tracker
        self.result: TrackerResult | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="tracker-under-test")

    def _run(self) -> None:
        try:
            self.result = self.tracker.run()
        except BaseException as exc:
            self.error = exc

    def __enter__(self) -> Background:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, timeout: float = TIMEOUT) -> TrackerResult:
        self.tracker.stop()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "tracker did not stop"
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def read_audit(log_dir: Path) -> list[AuditEntry]:
    path = log_dir / TRACKER_EVENTS
    if not path.exists():
        return []
    with path.open("rb") as f:
        return [AuditEntry.model_validate_json(line) for line in f if line.strip()]


def read_topic(bootstrap: str, topic: str, count: int | None = None) -> list[Message]:
    """Every message on `topic` (or the first `count`), read without a consumer group offset."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in meta.partitions
        }
        want = sum(ends.values()) if count is None else count
        consumer.assign([TopicPartition(topic, p, 0) for p in meta.partitions])
        out: list[Message] = []
        deadline = time.monotonic() + TIMEOUT
        while len(out) < want and time.monotonic() < deadline:
            for msg in consumer.consume(500, 0.5):
                if msg.error() is None:
                    out.append(msg)
        assert len(out) >= want, f"read {len(out)} of {want} messages from {topic}"
        return out
    finally:
        consumer.close()


def dead_letters(bootstrap: str, dlq: str) -> list[tuple[Message, DeadLetterMessage]]:
    return [
        (m, DeadLetterMessage.model_validate_json(m.value())) for m in read_topic(bootstrap, dlq)
    ]


def committed_and_ends(bootstrap: str, group: str, topic: str) -> tuple[dict, dict]:
    """The group's committed offsets and the topic's end offsets, per partition."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        tps = [TopicPartition(topic, p) for p in meta.partitions]
        committed = {tp.partition: tp.offset for tp in consumer.committed(tps, timeout=10)}
        ends = {tp.partition: consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in tps}
        # A partition that never had a message has nothing to commit.
        committed = {p: (o if o >= 0 else 0) for p, o in committed.items()}
        return committed, ends
    finally:
        consumer.close()
