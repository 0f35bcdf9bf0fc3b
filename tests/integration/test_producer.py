"""The producer service against a real broker: what it says it sent is what the topic holds."""

from __future__ import annotations

import socket
import threading
from collections import Counter, defaultdict

import pytest
from producer_support import (
    partition_count,
    producer_settings,
    read_topic,
    unique_topic,
    wait_until,
)

from orderdesk.config import ConfigError, load_settings
from orderdesk.domain import (
    CONTENT_TYPE,
    EVENT_ORDER_CREATED,
    SCHEMA_VERSION,
    FailureReason,
    LogEntry,
    ProcessingFailure,
    parse_order,
)
from orderdesk.domain import headers as hdr
from orderdesk.producer.generator import FaultKind, OrderGenerator
from orderdesk.producer.service import ProducerResult, ProducerService
from orderdesk.producer.stats import ProducerStats
from orderdesk.service.base import ServiceError

pytestmark = pytest.mark.kafka


def run_producer(
    settings_, stats: list[ProducerStats] | None = None, logs: list[LogEntry] | None = None
) -> ProducerResult:
    service = ProducerService(
        settings_,
        on_stats=None if stats is None else stats.append,
        on_log=None if logs is None else logs.append,
    )
    return service.run()


def test_n_orders_are_exactly_n_distinct_valid_orders(kafka_bootstrap: str) -> None:
    topic = unique_topic("producer-n")
    settings = producer_settings(kafka_bootstrap, topic, count=1200, seed=11)
    settings = settings.model_copy(
        update={"topics": settings.topics.model_copy(update={"partitions": 2})}
    )
    stats: list[ProducerStats] = []
    logs: list[LogEntry] = []

    result = run_producer(settings, stats, logs)

    assert result.ok
    assert (result.generated, result.acknowledged, result.failed) == (1200, 1200, 0)
    assert (result.unconfirmed, result.faulty) == (0, 0)
    assert partition_count(kafka_bootstrap, topic) == 2  # created by the service
    messages = read_topic(kafka_bootstrap, topic)
    assert len(messages) == 1200
    orders = [parse_order(m.value()) for m in messages]
    assert len({o.order_id for o in orders}) == 1200
    assert sorted(o.sequence for o in orders) == list(range(1, 1201))
    per_key: dict[bytes, list[int]] = defaultdict(list)
    partitions_of_key: dict[bytes, set[int]] = defaultdict(set)
    for msg, order in zip(messages, orders, strict=True):
        assert msg.key() == order.customer_info.customer_id.encode()
        headers = dict(msg.headers())
        assert headers[hdr.EVENT_TYPE] == EVENT_ORDER_CREATED.encode()
        assert headers[hdr.SCHEMA_VERSION] == SCHEMA_VERSION.encode()
        assert headers[hdr.CONTENT_TYPE] == CONTENT_TYPE.encode()
        assert headers[hdr.CORRELATION_ID] == order.metadata.correlation_id.encode()
        per_key[msg.key()].append(order.sequence)
        partitions_of_key[msg.key()].add(msg.partition())
    # One customer's orders stay in one partition, in the order they were placed.
    assert all(len(p) == 1 for p in partitions_of_key.values())
    assert all(seqs == sorted(seqs) for seqs in per_key.values())

    assert stats and stats[-1].acknowledged == 1200 and stats[-1].in_flight == 0
    messages_logged = [e.message for e in logs]
    assert any("created topic" in m for m in messages_logged)
    assert len(logs) < 10, messages_logged  # notable events only, never one per order


def test_faulty_events_are_counted_and_every_kind_reaches_the_topic(kafka_bootstrap: str) -> None:
    topic = unique_topic("producer-faulty")
    settings = producer_settings(kafka_bootstrap, topic, count=1500, faulty_ratio=0.25, seed=5)

    result = run_producer(settings)

    assert result.ok and result.acknowledged == 1500
    # The same seed regenerates the same stream: each correlation id names its fault.
    replay = OrderGenerator(settings.producer, seed=5)
    expected = {e.correlation_id: e.fault for e in (replay.next_event() for _ in range(1500))}
    messages = read_topic(kafka_bootstrap, topic)
    assert len(messages) == 1500
    bad: Counter[FaultKind] = Counter()
    for msg in messages:
        fault = expected[dict(msg.headers())[hdr.CORRELATION_ID].decode()]
        try:
            parse_order(msg.value())
        except ProcessingFailure as exc:
            assert fault is not None and exc.reason is fault.reason
            bad[fault] += 1
        else:
            assert fault is None
    assert sum(bad.values()) == result.faulty > 0
    assert set(bad) == set(FaultKind)
    reasons = {k.reason for k in bad}
    assert reasons == {FailureReason.DESERIALIZATION_ERROR, FailureReason.VALIDATION_ERROR}


def test_stop_flushes_and_everything_acknowledged_is_on_the_topic(kafka_bootstrap: str) -> None:
    topic = unique_topic("producer-stop")
    settings = producer_settings(kafka_bootstrap, topic)  # rate 0, no count: until stopped
    stats: list[ProducerStats] = []
    service = ProducerService(settings, on_stats=stats.append, stats_interval=0.05)
    outcome: list[ProducerResult] = []
    thread = threading.Thread(target=lambda: outcome.append(service.run()))
    thread.start()
    try:
        wait_until(lambda: bool(stats) and stats[-1].acknowledged >= 3000, what="3000 acks")
    finally:
        service.stop()
        thread.join(60)
    assert not thread.is_alive()
    (result,) = outcome
    assert result.ok and result.unconfirmed == 0
    assert result.acknowledged >= 3000
    assert len(read_topic(kafka_bootstrap, topic)) == result.acknowledged


def test_a_stop_request_ends_a_slow_paced_run_without_waiting_for_the_next_order(
    kafka_bootstrap: str,
) -> None:
    # One order now, the next in 100 s: the stop must not wait for it.
    settings = producer_settings(kafka_bootstrap, unique_topic("producer-slow"), rate=0.01)
    stats: list[ProducerStats] = []
    service = ProducerService(settings, on_stats=stats.append, stats_interval=0.05)
    outcome: list[ProducerResult] = []
    thread = threading.Thread(target=lambda: outcome.append(service.run()))
    thread.start()
    try:
        wait_until(lambda: bool(stats) and stats[-1].acknowledged == 1, what="first ack")
    finally:
        service.stop()
        thread.join(30)
    assert not thread.is_alive()
    assert outcome[0].generated == outcome[0].acknowledged == 1


def test_count_and_duration_bound_a_paced_run(kafka_bootstrap: str) -> None:
    settings = producer_settings(
        kafka_bootstrap, unique_topic("producer-paced"), rate=200, count=40, duration=60
    )
    result = run_producer(settings)
    assert result.ok and result.generated == 40
    settings = producer_settings(
        kafka_bootstrap, unique_topic("producer-duration"), rate=50, duration=0.3
    )
    result = run_producer(settings)
    assert result.ok and 0 < result.generated <= 50


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_broker_is_a_service_error_naming_it() -> None:
    port = closed_port()
    settings = load_settings(
        overrides={
            "kafka.bootstrap_servers": f"127.0.0.1:{port}",
            "kafka.connect_timeout": 1.5,
            "producer.count": 5,
        },
        environ={},
    )
    with pytest.raises(ServiceError, match=f"127.0.0.1:{port}") as caught:
        ProducerService(settings).run()
    assert caught.value.result is None


def test_a_bad_client_property_is_a_config_error() -> None:
    settings = load_settings(
        overrides={"kafka.properties": {"no.such.property": "1"}, "producer.count": 1},
        environ={},
    )
    with pytest.raises(ConfigError, match=r"no\.such\.property"):
        ProducerService(settings).run()
