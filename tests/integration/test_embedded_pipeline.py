"""The whole pipeline on each embedded broker: Tansu, and the mock cluster Windows falls back to.

The mock cluster is forced here (`ORDERDESK_EMBEDDED_BACKEND=mock` does the same for the
app), so the path Windows users take runs on every platform. The same checks for both:
the topics are there before any service starts, every order is accounted for, a
restarted tracker joins its group within a bound and reads on from its commits, and the
dead-letter desk reads what the tracker sent there.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from orderdesk.config import Settings, load_settings
from orderdesk.deadletters.reader import read_entries
from orderdesk.domain import LogEntry
from orderdesk.kafka import describe_cluster
from orderdesk.kafka.embedded import (
    BACKEND_ENV,
    MOCK_CONSUMER_PROPERTIES,
    EmbeddedBrokerError,
    InMemoryBroker,
    find_binary,
    start_embedded,
)
from orderdesk.producer.service import ProducerService
from orderdesk.tracker.service import TrackerResult, TrackerService


def _has_tansu() -> bool:
    try:
        find_binary()
    except EmbeddedBrokerError:
        return False
    return True


BACKENDS = [
    pytest.param(
        "tansu", marks=pytest.mark.skipif(not _has_tansu(), reason="no Tansu binary here")
    ),
    "mock",
]
#: How long a restarted tracker may take to get its partitions back. Tansu acts on the old
#: member's LeaveGroup and completes every join after half the 6 s session timeout (3.0 s
#: measured; waiting out the old session would be 6 s and more). The mock ignores
#: LeaveGroup, so the old session has to expire: 1.9 s with its 3 s session, 5 s with 6 s.
REJOIN_BOUND = {"tansu": 5.5, "mock": 4.0}
FIRST, SECOND = 120, 40


@pytest.fixture(params=BACKENDS)
def pipeline(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    tag = uuid.uuid4().hex[:8]
    settings = load_settings(
        overrides={
            "topics.orders": f"orders-{tag}",
            "topics.dlq": f"orders-{tag}-dlq",
            "tracker.group": f"tracker-{tag}",
            "tracker.retry_base_delay": 0.05,
            "tracker.retry_max_delay": 0.2,
            "producer.rate": 0,
            "producer.faulty_ratio": 0.2,
            "log_dir": str(tmp_path / "logs"),
        },
        environ={},
    )
    broker: InMemoryBroker = start_embedded(settings, backend=request.param)
    try:
        yield request.param, broker.configure(settings)
    finally:
        broker.stop()


def _produce(settings: Settings, count: int) -> int:
    producer = settings.producer.model_copy(update={"count": count})
    result = ProducerService(settings.model_copy(update={"producer": producer})).run()
    assert result.ok, result.error
    return result.faulty


def _drained_run(settings: Settings) -> tuple[TrackerResult, float | None]:
    """Run a tracker until it has handled and committed everything; seconds to its join."""
    started = time.monotonic()
    assigned: list[float] = []

    def on_log(entry: LogEntry) -> None:
        if entry.message == "partitions assigned" and not assigned:
            assigned.append(time.monotonic() - started)

    tracker = TrackerService(settings, on_log=on_log)
    tracker.drain()
    watchdog = threading.Timer(120, tracker.stop)
    watchdog.start()
    try:
        result = tracker.run()
    finally:
        watchdog.cancel()
    return result, assigned[0] if assigned else None


@pytest.mark.slow
def test_pipeline_on_the_embedded_broker(pipeline: tuple[str, Settings]) -> None:
    backend, settings = pipeline
    if backend == "mock":
        assert settings.kafka.consumer_properties == MOCK_CONSUMER_PROPERTIES
        assert settings.kafka.producer_properties == {}

    wanted = {settings.topics.orders, settings.topics.dlq}
    if backend == "mock":
        # It never answers CreateTopics, so the topics are made before any service asks.
        assert wanted <= describe_cluster(settings.kafka, timeout=10).topics

    faulty = _produce(settings, FIRST)
    first, _ = _drained_run(settings)
    assert wanted <= describe_cluster(settings.kafka, timeout=10).topics
    assert first.ok, first.error
    assert first.stats.received == FIRST
    assert first.stats.dead_lettered_total == faulty > 0

    # A restarted tracker joins within the bound and reads on from its commits.
    faulty += _produce(settings, SECOND)
    second, joined = _drained_run(settings)
    assert second.ok, second.error
    assert second.stats.received == SECOND
    assert joined is not None and joined < REJOIN_BOUND[backend], joined

    # The dead-letter desk reads every letter the tracker sent.
    entries = read_entries(settings.kafka, settings.topics.dlq, timeout=30)
    assert len(entries) == faulty


def test_the_backend_variable_forces_the_mock(monkeypatch) -> None:
    monkeypatch.setenv(BACKEND_ENV, "mock")
    broker = start_embedded(Settings())
    try:
        assert broker.backend == "librdkafka mock cluster"
        assert "mock cluster" in broker.notice
    finally:
        broker.stop()


def test_a_topic_named_after_the_mock_started_comes_with_the_first_order(tmp_path: Path) -> None:
    """The mock never answers CreateTopics: the services wait out the connection timeout,
    then the producer's first order creates the topic and the tracker reads it."""
    broker = start_embedded(Settings(), backend="mock")
    try:
        settings = broker.configure(
            load_settings(
                overrides={
                    "kafka.connect_timeout": 1,
                    "topics.orders": f"later-{uuid.uuid4().hex[:8]}",
                    "producer.rate": 0,
                    "log_dir": str(tmp_path / "logs"),
                },
                environ={},
            )
        )
        assert settings.topics.orders not in describe_cluster(settings.kafka, 10).topics
        _produce(settings, 20)
        result, _ = _drained_run(settings)
    finally:
        broker.stop()
    assert result.ok, result.error
    assert result.stats.received == 20
