"""The cluster view of a pipeline whose services run in other processes."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest
from tracker_support import produce, read_audit, valid_payload, wait_until

from orderdesk.config import load_settings
from orderdesk.domain import AuditEvent
from orderdesk.monitor.cluster import ClusterReader, ClusterSample
from tests.support.headless import REPO, Headless, tracker_args

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

PARTITIONS = 4
RATE = 40.0
#: Generous: a member that leaves gracefully is gone within a rebalance, not a session.
REBALANCE = 45.0


def _reader(bootstrap: str, topic: str, dlq: str, group: str) -> ClusterReader:
    settings = load_settings(
        overrides={
            "kafka.bootstrap_servers": bootstrap,
            "topics.orders": topic,
            "topics.dlq": dlq,
            "tracker.group": group,
        },
        environ={},
    )
    return ClusterReader.from_settings(settings, timeout=10)


def _status_json(bootstrap: str, topic: str, dlq: str, group: str) -> dict:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "orderdesk", "status", "--json", "--sample", "4"),
            *("--bootstrap-servers", bootstrap, "--topic", topic, "--dlq-topic", dlq),
            *("--group", group),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _scrape(url: str) -> dict[str, float]:
    """The metrics at `url`, each name's samples summed over their labels."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            name = name.split("{", 1)[0]
            out[name] = out.get(name, 0.0) + float(value)
    return out


def _members(sample: ClusterSample) -> list[tuple[int, ...]]:
    return [m.partitions for m in sample.members]


def test_two_trackers_elsewhere_show_as_members_with_lag_and_rates(
    kafka_bootstrap, topic_factory, tmp_path
):
    topic, dlq = topic_factory(PARTITIONS), topic_factory(1)
    group = f"monitor-{topic}"
    reader = _reader(kafka_bootstrap, topic, dlq, group)

    # A backlog and no tracker yet: the lag is exactly what waits.
    produce(kafka_bootstrap, topic, [(None, valid_payload(i + 1)) for i in range(120)])
    before = reader.sample()
    assert before.members == () and before.lag_total == 120
    assert before.error is None

    # The second one serves its metrics, scraped once it is idle.
    trackers = [
        Headless(tracker_args(kafka_bootstrap, topic, dlq, group, tmp_path / name) + more)
        for name, more in (("a", []), ("b", ["--metrics-port", "0"]))
    ]
    producer = None
    try:
        wait_until(
            lambda: (
                (s := reader.sample()).lag_total == 0
                and sorted(p for m in _members(s) for p in m) == list(range(PARTITIONS))
                and len(s.members) == 2
                and all(_members(s))
            ),
            timeout=REBALANCE,
            what="two members sharing every partition, backlog handled",
        )
        producer = Headless(
            [
                *("--producer", "--bootstrap-servers", kafka_bootstrap, "--topic", topic),
                *("--dlq-topic", dlq, "--rate", str(RATE), "--faulty-ratio", "0.1"),
            ]
        )
        wait_until(
            lambda: reader.sample().produced_total > 120 + RATE,
            timeout=30,
            what="the producer under way",
        )
        status = _status_json(kafka_bootstrap, topic, dlq, group)
        assert len(status["members"]) == 2
        assigned = sorted(p for m in status["members"] for p in m["partitions"])
        assert assigned == list(range(PARTITIONS))
        assert all(m["client_id"] and m["host"] for m in status["members"])
        assert isinstance(status["lag"], int) and 0 <= status["lag"] < RATE * 5
        assert status["produced_per_s"] == pytest.approx(RATE, rel=0.2)
        assert status["committed_per_s"] == pytest.approx(RATE, rel=0.5)
        assert 0 < status["dead_lettered_per_s"] < RATE * 0.5

        # One tracker stops: its partitions move to the other.
        assert trackers[0].stop() == 0
        wait_until(
            lambda: _members(reader.sample()) == [tuple(range(PARTITIONS))],
            timeout=REBALANCE,
            what="one member left, holding every partition",
        )
        assert producer.stop() == 0
        wait_until(lambda: reader.sample().lag_total == 0, timeout=60, what="no lag")
        end = reader.sample()
        assert end.committed_total == end.produced_total

        wait_until(lambda: trackers[1].find(r"metrics on (\S+)"), timeout=10, what="metrics url")
        url = trackers[1].find(r"metrics on (\S+)").group(1)
        events = [e.event_type for e in read_audit(tmp_path / "b")]
        validated = events.count(AuditEvent.ORDER_VALIDATED)
        dead_lettered = events.count(AuditEvent.ORDER_DEAD_LETTERED)
        assert validated > 0 and dead_lettered > 0

        # The stats snapshot behind the metrics is at most half a second old, and a dead
        # letter counts only once the broker acknowledged it, after its order was handled:
        # a snapshot can have every validated order and not yet every dead letter.
        def counted() -> bool:
            scraped = _scrape(url)
            return (
                scraped.get("orderdesk_orders_validated_total") == validated
                and scraped.get("orderdesk_orders_dead_lettered_total") == dead_lettered
            )

        wait_until(
            counted,
            timeout=10,
            what=f"validated_total == {validated} and dead_lettered_total == {dead_lettered}",
        )
        metrics = _scrape(url)
        assert metrics["orderdesk_orders_dead_lettered_total"] == dead_lettered
        assert metrics["orderdesk_orders_received_total"] >= validated + dead_lettered
        assert metrics["orderdesk_order_processing_seconds_count"] > 0
        assert metrics["orderdesk_tracker_lag"] == 0
    finally:
        if producer is not None:
            producer.stop()
        for tracker in trackers:
            tracker.stop()
