"""The monitor's time series and the pipeline arithmetic, without a broker."""

from __future__ import annotations

import math

import numpy as np
import pytest

from orderdesk.cli.status import format_table
from orderdesk.monitor.cluster import (
    COMMITTED_RATE,
    DEAD_RATE,
    LAG,
    PRODUCED_RATE,
    ClusterSample,
    Member,
    PipelineSeries,
)
from orderdesk.monitor.series import KeyedSeries, RingBuffer, window_rate


class _Reader:
    topic, dlq_topic, group = "orders", "orders-dlq", "group"


def test_ring_buffer_keeps_the_last_samples_oldest_first_as_one_slice():
    ring = RingBuffer(3, 2)
    assert len(ring) == 0 and ring.last() is None
    for i in range(5):
        ring.append((i, 10 * i))
    view = ring.view()
    assert view.tolist() == [[2, 3, 4], [20, 30, 40]]
    assert view.base is not None  # a view into the doubled array, not a copy
    ring.set_last((9, 90))
    assert ring.view()[:, -1].tolist() == [9, 90]
    ring.clear()
    assert len(ring) == 0


def test_window_rate_measures_from_the_oldest_sample_inside_the_window():
    t = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    total = np.array([0.0, 100.0, 150.0, 250.0, 300.0])
    assert window_rate(t, total, 2.0) == pytest.approx(75.0)  # 150 -> 300 over 2 s
    assert window_rate(t, total, 100.0) == pytest.approx(75.0)
    assert window_rate(t[:1], total[:1], 2.0) == 0.0
    # A total that went down (a topic recreated) is no negative rate.
    assert window_rate(t, total[::-1], 10.0) == 0.0


def test_keyed_series_fills_a_late_key_with_gaps():
    series = KeyedSeries(4)
    series.append(0.0, {0: 1.0})
    series.append(1.0, {0: 2.0, 1: 5.0})
    assert series.keys() == [0, 1]
    assert series.values(0).tolist() == [1.0, 2.0]
    assert math.isnan(series.values(1)[0]) and series.values(1)[1] == 5.0
    assert series.times().tolist() == [0.0, 1.0]


def _sample(at, ends, committed, dead, members=()):
    return ClusterSample(
        at=at,
        wall=1_700_000_000 + at,
        orders={p: (0, e) for p, e in enumerate(ends)},
        dlq={0: dead},
        committed=dict(enumerate(committed)),
        members=members,
        state="STABLE",
    )


def test_pipeline_rates_lag_and_success_from_offset_growth():
    series = PipelineSeries(rate_window=10.0, t0=0.0)
    members = (Member("orderdesk", "10.0.0.1", "m-1", (0, 1)),)
    series.add(_sample(0.0, [100, 100], [100, 100], 0))
    series.add(_sample(2.0, [200, 200], [180, 190], 10, members))
    last = series.samples.last()
    assert last[PRODUCED_RATE] == pytest.approx(100.0)  # 200 more over 2 s
    assert last[COMMITTED_RATE] == pytest.approx(85.0)
    assert last[DEAD_RATE] == pytest.approx(5.0)
    assert last[LAG] == 30
    status = series.status(_Reader())
    assert status.lag == {0: 20, 1: 10} and status.lag_total == 30
    assert status.success_percent == pytest.approx(100 * (1 - 10 / 170))
    assert status.window == pytest.approx(2.0)
    data = status.as_dict()
    assert data["members"] == [
        {
            "client_id": "orderdesk",
            "host": "10.0.0.1",
            "partitions": [0, 1],
            "member_id": "m-1",
            "instance_id": None,
        }
    ]
    assert data["lag"] == 30 and isinstance(data["lag"], int)
    assert data["produced_per_s"] == 100.0
    table = format_table(status)
    assert "produced 100.0/s" in table and "10.0.0.1" in table and "0,1" in table


def test_a_partition_never_committed_counts_its_lag_from_the_low_watermark():
    sample = ClusterSample(at=0, wall=0, orders={0: (5, 50), 1: (0, 7)}, committed={1: 7})
    assert sample.lag() == {0: 45, 1: 0}
    assert sample.committed_total == 12


def test_a_sample_that_read_nothing_keeps_the_series_and_reports_why():
    series = PipelineSeries(t0=0.0)
    series.add(_sample(0.0, [10], [10], 0))
    series.add(ClusterSample(at=1.0, wall=0, error="no answer from Kafka"))
    assert len(series.samples) == 1
    status = series.status(_Reader())
    assert status.error == "no answer from Kafka" and status.lag == {}
    assert "no answer from Kafka" in format_table(status)
