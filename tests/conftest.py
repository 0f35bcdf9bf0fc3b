"""Fixtures shared by the whole test suite.

Kafka: tests marked ``kafka`` get a real broker through ``kafka_bootstrap``, started once
per session (see tests/broker.py), or the one named by ``ORDERDESK_TEST_BOOTSTRAP``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:  # tests/broker.py is a plain module beside this file
    sys.path.insert(0, str(TESTS_DIR))

BOOTSTRAP_ENV = "ORDERDESK_TEST_BOOTSTRAP"

TopicFactory = Callable[..., str]


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers this file's fixtures are meant for."""
    markers = [
        "kafka: needs the real Kafka broker started by the test session",
    ]
    registered = {line.split(":", 1)[0].strip() for line in config.getini("markers")}
    for line in markers:
        if line.split(":", 1)[0] not in registered:
            config.addinivalue_line("markers", line)


# -- Kafka ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """``host:port`` of a running Kafka broker: ``$ORDERDESK_TEST_BOOTSTRAP`` if set, else
    a broker started for this session and stopped at its end."""
    external = os.environ.get(BOOTSTRAP_ENV)
    if external:
        yield external
        return
    from broker import KafkaBroker

    with KafkaBroker() as broker:
        yield broker.bootstrap


@pytest.fixture(scope="session")
def kafka_admin(kafka_bootstrap: str) -> AdminClient:
    """An AdminClient on the session's broker."""
    from confluent_kafka.admin import AdminClient

    # librdkafka's log lines go through logging: pytest shows them with a failure only.
    logger = logging.getLogger("orderdesk.tests.kafka_admin")
    return AdminClient({"bootstrap.servers": kafka_bootstrap, "logger": logger})


def _topic_slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9._-]+", "-", text).strip("-.")[:60] or "topic"


def wait_for_topic(admin: AdminClient, name: str, partitions: int, timeout: float) -> None:
    """Block until the broker's metadata shows ``name`` with all partitions led."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"topic {name!r} not ready within {timeout:.0f}s")
        with contextlib.suppress(Exception):  # KafkaException while metadata settles
            topic = admin.list_topics(name, timeout=min(remaining, 5.0)).topics.get(name)
            if (
                topic is not None
                and topic.error is None
                and len(topic.partitions) == partitions
                and all(p.leader >= 0 for p in topic.partitions.values())
            ):
                return
        time.sleep(0.02)  # metadata lags the creation by a few milliseconds at most


@pytest.fixture
def topic_factory(
    kafka_admin: AdminClient, request: pytest.FixtureRequest
) -> Iterator[TopicFactory]:
    """Create uniquely named topics; deleted when the test ends.

    ``topic_factory(partitions=1, *, prefix=None, config=None, timeout=30.0) -> str``
    returns the name once the topic exists with every partition led.
    """
    from confluent_kafka.admin import NewTopic

    created: list[str] = []

    def create(
        partitions: int = 1,
        *,
        prefix: str | None = None,
        config: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> str:
        name = f"{_topic_slug(prefix or request.node.name)}-{uuid.uuid4().hex[:8]}"
        new = NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})
        kafka_admin.create_topics([new], operation_timeout=timeout)[name].result(timeout)
        created.append(name)
        wait_for_topic(kafka_admin, name, partitions, timeout)
        return name

    yield create
    if created:
        for future in kafka_admin.delete_topics(created, operation_timeout=10).values():
            with contextlib.suppress(Exception):  # best effort: the broker is throwaway
                future.result(15)
