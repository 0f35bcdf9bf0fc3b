"""Prometheus metrics from the services' stats snapshots, without a broker."""

from __future__ import annotations

import urllib.request

from prometheus_client import CollectorRegistry, generate_latest

from orderdesk.monitor.metrics import MetricsServer, ProcessingTime, ServiceMetrics
from orderdesk.producer.stats import ProducerStats
from orderdesk.tracker.stats import TrackerStats


def _exposition(metrics: ServiceMetrics) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics)
    return generate_latest(registry).decode()


def test_counters_are_the_latest_snapshots_counts():
    metrics = ServiceMetrics()
    seen = []
    producer = metrics.tee("producer", seen.append)
    tracker = metrics.tee("tracker", seen.append)
    producer(ProducerStats(generated=12, acknowledged=10, failed=2, in_flight=3))
    tracker(
        TrackerStats(
            received=9,
            valid=6,
            dead_lettered={"VALIDATION_ERROR": 2, "TIMEOUT_ERROR": 1},
            retries=4,
            lag=7,
            lag_by_partition={0: 5, 2: 2},
            processing_seconds=0.009,
        )
    )
    assert len(seen) == 2  # the services' own sinks still get every snapshot
    text = _exposition(metrics)
    for line in (
        "orderdesk_orders_produced_total 10.0",
        "orderdesk_orders_produce_failed_total 2.0",
        "orderdesk_producer_in_flight 3.0",
        "orderdesk_orders_received_total 9.0",
        "orderdesk_orders_validated_total 6.0",
        'orderdesk_orders_dead_lettered_total{reason="VALIDATION_ERROR"} 2.0',
        'orderdesk_orders_dead_lettered_total{reason="TIMEOUT_ERROR"} 1.0',
        'orderdesk_orders_dead_lettered_total{reason="PROCESSING_ERROR"} 0.0',
        "orderdesk_orders_retried_total 4.0",
        'orderdesk_tracker_lag{partition="0"} 5.0',
        'orderdesk_tracker_lag{partition="2"} 2.0',
        "orderdesk_order_processing_seconds_count 9.0",
        "# TYPE orderdesk_order_processing_seconds histogram",
        "# TYPE orderdesk_orders_validated_total counter",
    ):
        assert line in text, line


def test_no_producer_metrics_in_a_tracker_only_process():
    metrics = ServiceMetrics()
    metrics.set_tracker(TrackerStats(received=1, valid=1))
    text = _exposition(metrics)
    assert "orderdesk_orders_validated_total 1.0" in text
    assert "orderdesk_orders_produced_total" not in text


def test_processing_time_counts_each_intervals_orders_at_its_mean():
    hist = ProcessingTime(buckets=(0.001, 0.01))
    hist.update(100, 0.05)  # 0.5 ms each
    hist.update(100, 0.05)  # nothing new
    hist.update(110, 0.25)  # 10 orders, 20 ms each
    assert hist.counts == [100, 0, 10]
    assert abs(hist.total_seconds - 0.25) < 1e-9
    hist.update(5, 0.001)  # a new run counts from zero again
    assert hist.counts == [105, 0, 10]
    family = hist.family("x_seconds", "doc")
    buckets = {s.labels.get("le"): s.value for s in family.samples if s.name == "x_seconds_bucket"}
    assert buckets == {"0.001": 105, "0.01": 105, "+Inf": 115}


def test_the_server_answers_on_a_free_port():
    metrics = ServiceMetrics()
    metrics.set_producer(ProducerStats(acknowledged=3))
    server = MetricsServer(metrics, 0, "127.0.0.1")
    try:
        with urllib.request.urlopen(server.url, timeout=10) as response:
            text = response.read().decode()
        assert "orderdesk_orders_produced_total 3.0" in text
        assert server.port > 0
    finally:
        server.close()
