"""The embedded broker: it starts, serves the same client code paths, and runs the pipeline."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition

from orderdesk.config import Settings, TopicSettings
from orderdesk.kafka import describe_cluster, ensure_topics, make_consumer, make_producer
from orderdesk.kafka.embedded import (
    BACKEND_ENV,
    EmbeddedBroker,
    EmbeddedBrokerError,
    MockClusterBroker,
    answers,
    bootstrap_configured,
    find_binary,
    resolve_broker,
)
from tests.support.waiting import unique_name

try:
    find_binary()
except EmbeddedBrokerError as exc:
    pytest.skip(f"no embedded broker binary here: {exc}", allow_module_level=True)


@pytest.fixture(scope="module")
def embedded() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as broker:
        yield broker


@pytest.fixture
def settings(embedded: EmbeddedBroker) -> Settings:
    return embedded.configure(Settings())


def test_starts_on_a_loopback_port_and_answers_metadata(settings: Settings) -> None:
    assert settings.embedded
    assert settings.kafka.bootstrap_servers.startswith("127.0.0.1:")
    info = describe_cluster(settings.kafka, timeout=10)
    assert info.broker_count == 1


def test_creates_topics_with_the_requested_partitions(settings: Settings) -> None:
    name = unique_name("embedded-create")
    created = ensure_topics(settings.kafka, [name], TopicSettings(partitions=3), timeout=10)
    assert created == [name]
    info = describe_cluster(settings.kafka, timeout=10)
    assert name in info.topics


def test_idempotent_produce_group_commit_and_exact_watermarks(settings: Settings) -> None:
    topic = unique_name("embedded-orders")
    ensure_topics(settings.kafka, [topic], TopicSettings(partitions=3), timeout=10)
    producer = make_producer(settings.kafka, **{"linger.ms": 20})
    count = 60
    for i in range(count):
        producer.produce(topic, key=f"k{i}".encode(), value=b"v", headers=[("h", b"1")])
    assert producer.flush(15) == 0

    group = unique_name("embedded-group")
    consumer = make_consumer(settings.kafka, group)
    consumer.subscribe([topic])
    seen: set[bytes] = set()
    deadline = time.monotonic() + 60
    while len(seen) < count and time.monotonic() < deadline:
        for msg in consumer.consume(100, 0.5):
            if msg.error() is None:
                seen.add(msg.key())
                consumer.store_offsets(msg)
    consumer.commit(asynchronous=False)
    parts = [TopicPartition(topic, p) for p in range(3)]
    committed = consumer.committed(parts, timeout=10)
    highs = [consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in parts]
    consumer.close()

    assert len(seen) == count
    # The high watermark is the end of the log, so lag and drain checks add up.
    assert sum(highs) == count
    assert [tp.offset for tp in committed] == highs


def test_stop_ends_the_process_and_frees_the_port() -> None:
    broker = EmbeddedBroker().start()
    bootstrap, pid = broker.bootstrap, broker.pid
    assert pid is not None and answers(bootstrap)
    broker.stop()
    assert not broker.running
    assert not answers(bootstrap, timeout=0.5)


def _alive(pid: str) -> bool:
    # A zombie is dead too: in a container nobody may reap the orphan.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal")
def test_broker_ends_when_orderdesk_is_killed() -> None:
    script = (
        "import sys, time\n"
        "from orderdesk.kafka.embedded import EmbeddedBroker\n"
        "broker = EmbeddedBroker().start()\n"
        "print(broker.pid, broker.bootstrap, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid_text, bootstrap = parent.stdout.readline().split()
    parent.kill()
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 15
    while _alive(pid_text) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid_text), "the broker outlived OrderDesk"
    assert not answers(bootstrap, timeout=0.5)


def test_rule_keeps_a_configured_or_running_broker() -> None:
    settings = Settings()
    kept, broker = resolve_broker(settings, explicitly_configured=True)
    assert broker is None and kept is settings

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        local = Settings.model_validate({"kafka": {"bootstrap_servers": f"127.0.0.1:{port}"}})
        kept, broker = resolve_broker(local, explicitly_configured=False)
    assert broker is None and kept is local


def test_rule_starts_the_embedded_broker_when_nothing_is_configured_or_running() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    unset = Settings.model_validate({"kafka": {"bootstrap_servers": f"127.0.0.1:{free}"}})
    resolved, broker = resolve_broker(unset, explicitly_configured=False, probe_timeout=0.5)
    assert broker is not None
    try:
        assert resolved.embedded
        assert resolved.kafka.bootstrap_servers == broker.bootstrap
    finally:
        broker.stop()


def test_bootstrap_configured_sources(tmp_path: Path) -> None:
    plain = Settings()
    assert not bootstrap_configured(None, None, plain, environ={})
    assert bootstrap_configured(None, "kafka:9092", plain, environ={})
    env = {"ORDERDESK_KAFKA__BOOTSTRAP_SERVERS": "kafka:9092"}
    assert bootstrap_configured(None, None, plain, environ=env)
    with_x = Settings.model_validate({"kafka": {"properties": {"bootstrap.servers": "k:1"}}})
    assert bootstrap_configured(None, None, with_x, environ={})
    config = tmp_path / "orderdesk.yaml"
    config.write_text("kafka:\n  bootstrap_servers: kafka:9092\n", encoding="utf-8")
    assert bootstrap_configured(config, None, plain, environ={})
    config.write_text("topics:\n  orders: o\n", encoding="utf-8")
    assert not bootstrap_configured(config, None, plain, environ={})


def test_mock_cluster_fallback_has_the_topics_up_front() -> None:
    settings = Settings()
    broker = MockClusterBroker([settings.topics.orders, settings.topics.dlq]).start()
    try:
        configured = broker.configure(settings)
        info = describe_cluster(configured.kafka, timeout=10)
        assert {settings.topics.orders, settings.topics.dlq} <= info.topics
        # Nothing to create, so the CreateTopics request the mock never answers is not sent.
        assert ensure_topics(configured.kafka, [settings.topics.orders], settings.topics) == []
    finally:
        broker.stop()
    assert not broker.running


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tansu", "mock"])
def test_headless_pipeline_with_embedded_broker_handles_every_order(
    tmp_path: Path, backend: str
) -> None:
    count = 300
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    env[BACKEND_ENV] = backend
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "orderdesk",
            "--producer",
            "--tracker",
            "--embedded",
            "--count",
            str(count),
            "--rate",
            "0",
            "--log-dir",
            str(tmp_path / "logs"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    producer = re.search(r"producer summary: (.*)", proc.stdout)
    tracker = re.search(r"tracker summary: (.*)", proc.stdout)
    assert producer and tracker, proc.stdout
    assert f"acknowledged={count}" in producer.group(1)
    assert re.search(rf"\breceived[=:]{count}\b", tracker.group(1)), tracker.group(1)
