"""Prometheus metrics of the headless services, served on `/metrics`.

The services already publish a stats snapshot every half second; the metrics are read
from the latest snapshot when Prometheus scrapes, so the tracker's hot path makes no
metric call at all. Counters are the services' own counts, which are the audit trail's
and the dead-letter topic's: `orderdesk_orders_validated_total` is the number of
`order.validated` lines the tracker wrote, `orderdesk_orders_dead_lettered_total` the
dead letters the broker acknowledged.

`orderdesk_order_processing_seconds` is built from the snapshots too: each one tells how
many orders the tracker took in since the one before and how long it spent on them
(parse, validate, audit, dead letter), and those orders are counted in the bucket of that
interval's mean time per order.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from prometheus_client import PlatformCollector, ProcessCollector, start_http_server
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from orderdesk import __version__
from orderdesk.domain import FailureReason

#: Upper bounds (seconds) of the processing-time buckets: a fast tracker spends tens of
#: microseconds on an order, one that retries a downstream call seconds.
PROCESSING_BUCKETS = (
    0.00001,
    0.000025,
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


class ProducerCounts(Protocol):
    """What the metrics read of a producer's stats snapshot."""

    @property
    def acknowledged(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def in_flight(self) -> int: ...


class TrackerCounts(Protocol):
    """What the metrics read of a tracker's stats snapshot."""

    @property
    def received(self) -> int: ...
    @property
    def valid(self) -> int: ...
    @property
    def dead_lettered(self) -> Mapping[str, int]: ...
    @property
    def retries(self) -> int: ...
    @property
    def in_flight(self) -> int: ...


class ProcessingTime:
    """A cumulative histogram of per-order processing time, fed from stats snapshots."""

    def __init__(self, buckets: tuple[float, ...] = PROCESSING_BUCKETS) -> None:
        self.bounds = buckets
        self.counts = [0] * (len(buckets) + 1)  # the last one is +Inf
        self.total_seconds = 0.0
        self._last: tuple[int, float] | None = None

    def update(self, orders: int, seconds: float) -> None:
        """Cumulative orders taken in and seconds spent on them, as of a new snapshot."""
        last = self._last
        self._last = (orders, seconds)
        if last is None or orders < last[0] or seconds < last[1]:
            # The first snapshot, or a new run: count what it did so far as one interval.
            last = (0, 0.0)
        n, spent = orders - last[0], seconds - last[1]
        if n <= 0:
            return
        self.counts[bisect.bisect_left(self.bounds, spent / n)] += n
        self.total_seconds += spent

    def family(self, name: str, documentation: str) -> HistogramMetricFamily:
        cumulative, buckets = 0, []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        return HistogramMetricFamily(
            name, documentation, buckets=buckets, sum_value=self.total_seconds
        )


class ServiceMetrics(Collector):
    """The metrics of the services in this process, from their latest stats snapshots.

    `tee(kind, sink)` wraps a service's stats callback; Prometheus' scrape thread reads
    the snapshots kept here (a plain reference swap, no lock on the services' side).
    """

    def __init__(self) -> None:
        self.producer: ProducerCounts | None = None
        self.tracker: TrackerCounts | None = None
        self.processing = ProcessingTime()
        self._lock = threading.Lock()  # between snapshot updates and scrapes of the histogram

    def tee(self, kind: str, sink: Callable[[Any], None]) -> Callable[[Any], None]:
        """A stats callback that records the snapshot here, then calls `sink`."""
        if kind not in ("producer", "tracker"):
            raise ValueError(f"no metrics for a {kind!r} service")
        record = self.set_producer if kind == "producer" else self.set_tracker

        def both(stats: Any) -> None:
            record(stats)
            sink(stats)

        return both

    def set_producer(self, stats: ProducerCounts) -> None:
        self.producer = stats

    def set_tracker(self, stats: TrackerCounts) -> None:
        self.tracker = stats
        seconds = getattr(stats, "processing_seconds", None)
        if seconds is not None:
            with self._lock:
                self.processing.update(stats.received, seconds)

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "orderdesk_build_info", "OrderDesk version of this process", labels=["version"]
        )
        info.add_metric([__version__], 1)
        yield info
        p = self.producer
        if p is not None:
            yield CounterMetricFamily(
                "orderdesk_orders_produced_total",
                "Orders the broker acknowledged to the producer",
                value=p.acknowledged,
            )
            yield CounterMetricFamily(
                "orderdesk_orders_produce_failed_total",
                "Orders whose delivery failed",
                value=p.failed,
            )
            yield GaugeMetricFamily(
                "orderdesk_producer_in_flight",
                "Orders sent and not acknowledged yet",
                value=p.in_flight,
            )
        t = self.tracker
        if t is not None:
            yield from self._tracker_metrics(t)

    def _tracker_metrics(self, t: TrackerCounts) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "orderdesk_orders_received_total",
            "Messages the tracker took from the orders topic",
            value=t.received,
        )
        yield CounterMetricFamily(
            "orderdesk_orders_validated_total",
            "Orders that passed every rule (order.validated lines of the audit trail)",
            value=t.valid,
        )
        dead = CounterMetricFamily(
            "orderdesk_orders_dead_lettered_total",
            "Dead letters the broker acknowledged on the dead-letter topic, by failure reason",
            labels=["reason"],
        )
        counts = dict.fromkeys((r.value for r in FailureReason), 0)
        counts.update(t.dead_lettered)
        for reason, count in sorted(counts.items()):
            dead.add_metric([reason], count)
        yield dead
        yield CounterMetricFamily(
            "orderdesk_orders_retried_total",
            "Processing attempts that failed retryably and were scheduled again",
            value=t.retries,
        )
        yield GaugeMetricFamily(
            "orderdesk_tracker_in_flight",
            "Messages taken in and not handled to the end yet",
            value=t.in_flight,
        )
        lag = GaugeMetricFamily(
            "orderdesk_tracker_lag",
            "Orders on this tracker's partitions not handled to the end yet",
            labels=["partition"],
        )
        for partition, count in sorted(getattr(t, "lag_by_partition", {}).items()):
            lag.add_metric([str(partition)], count)
        yield lag
        with self._lock:
            yield self.processing.family(
                "orderdesk_order_processing_seconds",
                "Time the tracker spent on an order (mean of each stats interval)",
            )


class MetricsServer:
    """`/metrics` over HTTP on a thread of its own, for the lifetime of a headless run."""

    def __init__(self, metrics: ServiceMetrics, port: int, address: str = "0.0.0.0") -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(metrics)
        # CPU, memory and open files of the process (Linux), and the Python version.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self._server, self._thread = start_http_server(port, address, registry=self.registry)
        self.address = address
        #: The port it listens on (the one chosen by the system when asked for port 0).
        self.port: int = self._server.server_port

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.address in ("0.0.0.0", "") else self.address
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
