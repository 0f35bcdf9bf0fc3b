"""Kafka clients built from the settings, and the cluster operations the services share."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from orderdesk.config import ConfigError, KafkaSettings, TopicSettings
from orderdesk.kafka.errors import error_text

log = logging.getLogger("orderdesk.kafka")
#: librdkafka's own log lines, when a client is given it as `logger`, instead of raw stderr;
#: the application decides what to show (error callbacks already report what matters): the
#: desktop app its live log, the command line nothing.
librdkafka_log = logging.getLogger("orderdesk.kafka.librdkafka")
#: Seconds during which a librdkafka line like one already logged is dropped.
REPEAT_SECONDS = 10.0


class RepeatedLines(logging.Filter):
    """Lets a line through once per `seconds`, lines that differ only in their numbers
    counted as one: librdkafka logs a refused connection at every reconnect, a consumer
    several times a second."""

    def __init__(self, seconds: float = REPEAT_SECONDS, keep: int = 256) -> None:
        super().__init__()
        self.seconds = seconds
        self._keep = keep
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = _NUMBERS.sub("#", record.getMessage())
        now = time.monotonic()
        with self._lock:
            last = self._seen.get(key)
            if last is not None and now - last < self.seconds:
                return False
            self._seen[key] = now
            if len(self._seen) > self._keep:
                horizon = now - self.seconds
                self._seen = {k: t for k, t in self._seen.items() if t > horizon}
        return True

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


_NUMBERS = re.compile(r"\d+")
#: The filter on `librdkafka_log`, shared by every client of the process.
repeated_lines = RepeatedLines()
librdkafka_log.addFilter(repeated_lines)


class BrokerUnavailable(RuntimeError):
    """The cluster did not answer within the connection timeout."""


@dataclass(frozen=True)
class ClusterInfo:
    bootstrap_servers: str
    cluster_id: str | None
    broker_count: int
    topics: frozenset[str]
    #: Partitions of each topic, as the metadata said.
    partition_counts: Mapping[str, int] = field(default_factory=dict)


def admin_client(kafka: KafkaSettings) -> AdminClient:
    # Its connection failures surface as BrokerUnavailable; raw log lines would repeat them.
    conf: dict[str, Any] = {**kafka.as_librdkafka_dict(), "logger": librdkafka_log}
    return AdminClient(conf)


def producer_config(kafka: KafkaSettings, **extra: Any) -> dict[str, Any]:
    """Idempotent, fully acknowledged producer configuration; `extra` wins over defaults."""
    conf = {
        # Java's partitioner (murmur2 of the key; no key: any partition), not librdkafka's
        # CRC32 default: a key then lives on the same partition whether a Java (Spring,
        # Connect, kafka-clients) producer or OrderDesk wrote it.
        "partitioner": "murmur2_random",
        "enable.idempotence": True,
        "acks": "all",
        "compression.type": "lz4",
        # Fail a delivery rather than retry for ever when the cluster is gone.
        "message.timeout.ms": 60_000,
        # A flat-out producer fills whatever queue it has: 20,000 orders (~20 MB) keep
        # the batches full without the 100,000-message default's memory.
        "queue.buffering.max.messages": 20_000,
    }
    conf.update(kafka.as_librdkafka_dict())
    conf.update(kafka.producer_properties)
    conf.update(extra)
    return conf


def consumer_config(kafka: KafkaSettings, group: str, **extra: Any) -> dict[str, Any]:
    """At-least-once consumer configuration: offsets are stored and committed by hand."""
    conf = {
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": False,
        # Prefetch a tracker that falls behind can hold: 16 MB, not the 64 MB default.
        "queued.max.messages.kbytes": 16_384,
    }
    conf.update(kafka.as_librdkafka_dict())
    conf.update(kafka.consumer_properties)
    conf.update(extra)
    return conf


def make_producer(kafka: KafkaSettings, **extra: Any) -> Producer:
    # librdkafka's log goes to Python logging, not raw to the terminal (`librdkafka_log`).
    return Producer({"logger": librdkafka_log, **producer_config(kafka, **extra)})


def make_consumer(kafka: KafkaSettings, group: str, **extra: Any) -> Consumer:
    return Consumer({"logger": librdkafka_log, **consumer_config(kafka, group, **extra)})


def check_client_config(kafka: KafkaSettings) -> None:
    """Raise `ConfigError` (one line) if librdkafka refuses a property of either client.

    Builds a producer and a consumer without bootstrap servers, so nothing connects; takes
    a few milliseconds. Lets the command line report a bad `-X` before any work starts.
    """
    quiet = {"logger": librdkafka_log}
    for kind, conf in (
        ("producer", producer_config(kafka)),
        ("consumer", consumer_config(kafka, "orderdesk-config-check")),
    ):
        conf.pop("bootstrap.servers", None)
        try:
            client = (
                Producer({**conf, **quiet}) if kind == "producer" else Consumer({**conf, **quiet})
            )
        except KafkaException as exc:
            raise ConfigError(f"Kafka {kind} configuration: {error_text(exc)}") from None
        if isinstance(client, Consumer):
            client.close()


def describe_cluster(kafka: KafkaSettings, timeout: float | None = None) -> ClusterInfo:
    """Ask the cluster for its metadata; raises `BrokerUnavailable` when it does not answer."""
    timeout = kafka.connect_timeout if timeout is None else timeout
    admin = admin_client(kafka)
    try:
        meta = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise BrokerUnavailable(
            f"no answer from Kafka at {kafka.bootstrap_servers} within {timeout:g} s "
            f"({error_text(exc)})"
        ) from None
    return ClusterInfo(
        bootstrap_servers=kafka.bootstrap_servers,
        cluster_id=meta.cluster_id,
        broker_count=len(meta.brokers),
        topics=frozenset(meta.topics),
        partition_counts={name: len(t.partitions) for name, t in meta.topics.items()},
    )


def ensure_topics(
    kafka: KafkaSettings,
    names: Iterable[str],
    topics: TopicSettings,
    timeout: float | None = None,
) -> list[str]:
    """Create the named topics that do not exist yet; returns those it created.

    A broker that auto-creates topics, or refuses CreateTopics, is not an error: the
    topic then comes into being on first use.
    """
    timeout = kafka.connect_timeout if timeout is None else timeout
    info = describe_cluster(kafka, timeout)
    missing = [n for n in dict.fromkeys(names) if n not in info.topics]
    if not missing:
        return []
    admin = admin_client(kafka)
    futures = admin.create_topics(
        [NewTopic(n, topics.partitions, topics.replication_factor) for n in missing],
        request_timeout=timeout,
    )
    created = []
    for name, future in futures.items():
        try:
            future.result(timeout)
            created.append(name)
        except TimeoutError:
            # concurrent.futures' TimeoutError is an OSError: left alone, callers would take
            # it for a file error. The mock cluster never answers CreateTopics.
            log.warning("could not create topic %s: no answer within %g s", name, timeout)
        except KafkaException as exc:
            code = exc.args[0].code() if exc.args else None
            if code != KafkaError.TOPIC_ALREADY_EXISTS:
                log.warning("could not create topic %s: %s", name, error_text(exc))
    return created
