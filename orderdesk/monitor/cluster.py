"""The cluster view of a pipeline, read from the brokers, whoever runs the services.

`ClusterReader.sample()` asks the cluster, with the admin API only, for
- the end offsets of every partition of the orders topic and of the dead-letter topic
  (their growth is the produce rate),
- the tracker group's committed offsets (their growth is the committed rate; against the
  end offsets, the lag),
- the group's members (client id, host, assigned partitions) and state.

The reader never joins the group and never commits: watching a pipeline does not change
it. `PipelineSeries` keeps the samples as time series (numpy ring buffers) and works out
the rates over a sliding window; `PipelineStatus` is one moment of it, as `orderdesk
status` prints it.
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from confluent_kafka import (
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from orderdesk.config import KafkaSettings, Settings
from orderdesk.kafka import admin_client
from orderdesk.kafka.errors import error_text
from orderdesk.monitor.series import KeyedSeries, RingBuffer, window_delta, window_rate

#: Seconds over which rates are worked out.
RATE_WINDOW = 5.0
#: Seconds between two samples when the view refreshes by itself.
REFRESH_INTERVAL = 1.5
#: Samples kept: ten minutes at the refresh interval.
HISTORY = 400


@dataclass(frozen=True)
class Member:
    """One member of the tracker group, as the group coordinator describes it."""

    client_id: str
    host: str
    member_id: str
    partitions: tuple[int, ...] = ()
    instance_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "host": self.host,
            "partitions": list(self.partitions),
            "member_id": self.member_id,
            "instance_id": self.instance_id,
        }


@dataclass(frozen=True)
class ClusterSample:
    """What the cluster said at one moment about one pipeline."""

    #: `time.monotonic()` when the end offsets were read, and the same moment in epoch seconds.
    at: float
    wall: float
    #: Orders topic: partition -> (low watermark, end offset).
    orders: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: Dead-letter topic: partition -> end offset.
    dlq: dict[int, int] = field(default_factory=dict)
    #: The group's committed offsets on the orders topic (partitions without one left out).
    committed: dict[int, int] = field(default_factory=dict)
    members: tuple[Member, ...] = ()
    #: The group's state as Kafka names it (STABLE, EMPTY, PREPARING_REBALANCE, ...).
    state: str = "UNKNOWN"
    #: Why part of the sample is missing, when it is.
    error: str | None = None

    def lag(self) -> dict[int, int]:
        """Orders on each partition that the group has not committed yet.

        A partition without a committed offset counts from its low watermark: the tracker
        starts there (`auto.offset.reset=earliest`).
        """
        return {
            p: max(0, high - self.committed.get(p, low))
            for p, (low, high) in sorted(self.orders.items())
        }

    @property
    def lag_total(self) -> int:
        return sum(self.lag().values())

    @property
    def produced_total(self) -> int:
        return sum(high for _, high in self.orders.values())

    @property
    def committed_total(self) -> int:
        return sum(self.committed.get(p, low) for p, (low, _) in self.orders.items())

    @property
    def dead_lettered_total(self) -> int:
        return sum(self.dlq.values())


class ClusterReader:
    """Reads `ClusterSample`s of one pipeline: orders topic, dead-letter topic, group."""

    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        dlq_topic: str,
        group: str,
        timeout: float | None = None,
        admin: AdminClient | None = None,
    ) -> None:
        self.kafka = kafka
        self.topic = topic
        self.dlq_topic = dlq_topic
        self.group = group
        self.timeout = kafka.connect_timeout if timeout is None else timeout
        self._admin = admin if admin is not None else admin_client(kafka)

    @classmethod
    def from_settings(cls, settings: Settings, timeout: float | None = None) -> ClusterReader:
        return cls(
            settings.kafka,
            settings.topics.orders,
            settings.topics.dlq,
            settings.tracker.group,
            timeout=timeout,
        )

    def sample(self) -> ClusterSample:
        """One round of questions to the cluster; never raises for a cluster problem.

        What could not be read is left empty and `error` says why.
        """
        errors: list[str] = []
        try:
            meta = self._admin.list_topics(timeout=self.timeout)
        except KafkaException as exc:
            now = time.monotonic()
            return ClusterSample(
                at=now,
                wall=time.time(),
                error=f"no answer from Kafka at {self.kafka.bootstrap_servers}: {error_text(exc)}",
            )
        parts: dict[str, list[int]] = {}
        for name in (self.topic, self.dlq_topic):
            topic = meta.topics.get(name)
            if topic is None or topic.error is not None:
                errors.append(f"topic {name} does not exist")
                parts[name] = []
            else:
                parts[name] = sorted(topic.partitions)
        groups = self._admin.describe_consumer_groups([self.group], request_timeout=self.timeout)
        offsets = None
        if parts[self.topic]:
            request = [TopicPartition(self.topic, p) for p in parts[self.topic]]
            offsets = self._admin.list_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(self.group, request)],
                request_timeout=self.timeout,
            )
        # The end offsets last, and timed: the rates divide their growth by this clock.
        before = time.monotonic()
        orders, dlq = self._end_offsets(parts, errors)
        at = (before + time.monotonic()) / 2
        wall = time.time()
        committed = {} if offsets is None else self._committed(offsets[self.group], errors)
        members, state = self._describe(groups[self.group], errors)
        return ClusterSample(
            at=at,
            wall=wall,
            orders=orders,
            dlq=dlq,
            committed=committed,
            members=members,
            state=state,
            error="; ".join(errors) or None,
        )

    def _end_offsets(
        self, parts: dict[str, list[int]], errors: list[str]
    ) -> tuple[dict[int, tuple[int, int]], dict[int, int]]:
        request: dict[TopicPartition, OffsetSpec] = {}
        for p in parts[self.topic]:
            request[TopicPartition(self.topic, p, 0)] = OffsetSpec.earliest()
        for p in parts[self.dlq_topic]:
            request[TopicPartition(self.dlq_topic, p, 1)] = OffsetSpec.latest()
        # The same partition cannot be asked twice in one request: the orders topic's ends
        # go in a second one.
        latest = {TopicPartition(self.topic, p): OffsetSpec.latest() for p in parts[self.topic]}
        orders: dict[int, tuple[int, int]] = {}
        dlq: dict[int, int] = {}
        if not request:
            return orders, dlq
        try:
            lows = self._admin.list_offsets(request, request_timeout=self.timeout)
            highs = self._admin.list_offsets(latest, request_timeout=self.timeout) if latest else {}
            low_by_part = {}
            for tp, future in lows.items():
                offset = future.result().offset
                if tp.topic == self.topic:
                    low_by_part[tp.partition] = offset
                else:
                    dlq[tp.partition] = offset
            for tp, future in highs.items():
                orders[tp.partition] = (low_by_part.get(tp.partition, 0), future.result().offset)
        except KafkaException as exc:
            errors.append(f"cannot read end offsets: {error_text(exc)}")
            return {}, {}
        return orders, dlq

    def _committed(self, future: Future[Any], errors: list[str]) -> dict[int, int]:
        try:
            result = future.result()
        except KafkaException as exc:
            errors.append(f"cannot read the group's offsets: {error_text(exc)}")
            return {}
        return {
            tp.partition: tp.offset
            for tp in result.topic_partitions
            if tp.topic == self.topic and tp.offset >= 0 and tp.error is None
        }

    def _describe(self, future: Future[Any], errors: list[str]) -> tuple[tuple[Member, ...], str]:
        try:
            group = future.result()
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError) and err.code() == KafkaError.GROUP_ID_NOT_FOUND:
                return (), "DEAD"
            errors.append(f"cannot describe group {self.group}: {error_text(exc)}")
            return (), "UNKNOWN"
        members = []
        for m in group.members:
            assigned = m.assignment.topic_partitions if m.assignment is not None else []
            members.append(
                Member(
                    client_id=m.client_id,
                    host=(m.host or "").lstrip("/"),
                    member_id=m.member_id,
                    partitions=tuple(
                        sorted(tp.partition for tp in assigned if tp.topic == self.topic)
                    ),
                    instance_id=m.group_instance_id,
                )
            )
        members.sort(key=lambda m: (m.partitions[:1] or (1 << 30,), m.client_id, m.member_id))
        state = getattr(group.state, "name", str(group.state))
        return tuple(members), state


class PipelineNames(Protocol):
    """The names a status reports: a `ClusterReader` has them."""

    topic: str
    dlq_topic: str
    group: str


# Channels of `PipelineSeries.samples`.
T, PRODUCED, COMMITTED, DEAD, LAG, PRODUCED_RATE, COMMITTED_RATE, DEAD_RATE, SUCCESS = range(9)
CHANNELS = 9


@dataclass(frozen=True)
class PipelineStatus:
    """The pipeline at one moment, with rates over the window before it."""

    topic: str
    dlq_topic: str
    group: str
    state: str
    members: tuple[Member, ...]
    lag: dict[int, int]
    produced_per_s: float
    committed_per_s: float
    dead_lettered_per_s: float
    #: Percent of the orders committed over the window that did not end as dead letters;
    #: None when nothing was committed in it.
    success_percent: float | None
    #: Seconds the rates were measured over (0 before a second sample).
    window: float
    wall: float
    error: str | None = None

    @property
    def lag_total(self) -> int:
        return sum(self.lag.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "dlq_topic": self.dlq_topic,
            "group": self.group,
            "state": self.state,
            "members": [m.as_dict() for m in self.members],
            "lag": self.lag_total,
            "lag_by_partition": {str(p): n for p, n in self.lag.items()},
            "produced_per_s": round(self.produced_per_s, 3),
            "committed_per_s": round(self.committed_per_s, 3),
            "dead_lettered_per_s": round(self.dead_lettered_per_s, 3),
            "success_percent": (
                None if self.success_percent is None else round(self.success_percent, 2)
            ),
            "window_s": round(self.window, 3),
            "timestamp": self.wall,
            "error": self.error,
        }


class PipelineSeries:
    """Samples of one pipeline over time, and the rates they give.

    Cumulative totals (end offsets, committed offsets, dead letters) are kept, and each
    rate is their growth over the last `rate_window` seconds, so a rate does not jump with
    the moment a sample happened to be taken.
    """

    def __init__(
        self, capacity: int = HISTORY, rate_window: float = RATE_WINDOW, t0: float | None = None
    ) -> None:
        self.samples = RingBuffer(capacity, CHANNELS)
        self.lag = KeyedSeries(capacity)
        self.rate_window = rate_window
        self.t0 = time.monotonic() if t0 is None else t0
        self.latest: ClusterSample | None = None
        self._success: float | None = None
        #: Sample times with a complete reading; a failed sample adds no point.
        self.count = 0

    def add(self, sample: ClusterSample) -> None:
        prev = self.latest
        self.latest = sample
        if not sample.orders and sample.error is not None:
            return  # nothing read: keep the series as it was, the status says why
        if prev is not None and set(prev.orders) != set(sample.orders):
            # The topic changed under the view (recreated, grown): start the totals anew.
            self.samples.clear()
        t = sample.at - self.t0
        lag = sample.lag()
        row = np.zeros(CHANNELS)
        row[T] = t
        row[PRODUCED] = sample.produced_total
        row[COMMITTED] = sample.committed_total
        row[DEAD] = sample.dead_lettered_total
        row[LAG] = sum(lag.values())
        self.samples.append(row)
        data = self.samples.view()
        times = data[T]
        row[PRODUCED_RATE] = window_rate(times, data[PRODUCED], self.rate_window)
        row[COMMITTED_RATE] = window_rate(times, data[COMMITTED], self.rate_window)
        row[DEAD_RATE] = window_rate(times, data[DEAD], self.rate_window)
        committed, _ = window_delta(times, data[COMMITTED], self.rate_window)
        dead, _ = window_delta(times, data[DEAD], self.rate_window)
        if committed > 0:
            self._success = 100.0 * min(1.0, max(0.0, 1.0 - max(dead, 0.0) / committed))
        row[SUCCESS] = np.nan if self._success is None else self._success
        self.samples.set_last(row)  # now with its rates
        self.lag.append(t, {p: float(n) for p, n in lag.items()})
        self.count += 1

    def status(self, reader: PipelineNames) -> PipelineStatus | None:
        """The latest sample with its rates; None before the first sample."""
        sample = self.latest
        if sample is None:
            return None
        last = self.samples.last()
        data = self.samples.view()
        _, window = window_delta(data[T], data[T], self.rate_window)
        rates = (0.0, 0.0, 0.0) if last is None or not sample.orders else (
            float(last[PRODUCED_RATE]), float(last[COMMITTED_RATE]), float(last[DEAD_RATE])
        )  # fmt: skip
        return PipelineStatus(
            topic=reader.topic,
            dlq_topic=reader.dlq_topic,
            group=reader.group,
            state=sample.state,
            members=sample.members,
            lag=sample.lag(),
            produced_per_s=rates[0],
            committed_per_s=rates[1],
            dead_lettered_per_s=rates[2],
            success_percent=self._success,
            window=window,
            wall=sample.wall,
            error=sample.error,
        )
