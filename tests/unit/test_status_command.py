"""`orderdesk status` without a broker: a stand-in reader answers for the cluster."""

from __future__ import annotations

import io
import json

import pytest

from orderdesk.cli import status as status_cli
from orderdesk.cli.main import main
from orderdesk.monitor.cluster import ClusterSample, Member


class FakeReader:
    """Samples of a pipeline growing by 50 orders/s, one dead letter in ten."""

    def __init__(self, samples):
        self._samples = iter(samples)
        self.topic, self.dlq_topic, self.group = "orders", "orders-dlq", "group"

    @classmethod
    def growing(cls, *args, **kwargs):
        member = Member("orderdesk-tracker-1", "10.0.0.7", "m-1", (0, 1), "tracker-1")
        return cls(
            ClusterSample(
                at=float(i),
                wall=1.7e9 + i,
                orders={0: (0, 25 * i + 3), 1: (0, 25 * i)},
                dlq={0: 5 * i},
                committed={0: 25 * i, 1: 25 * i},
                members=(member,),
                state="STABLE",
            )
            for i in range(100)
        )

    def sample(self):
        return next(self._samples)


class FakeTime:
    """The command's clock: a second passes at each look, sleeping takes no time."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        self.now += 1.0
        return self.now

    def sleep(self, seconds: float) -> None:
        pass


@pytest.fixture
def no_sleep(monkeypatch):
    monkeypatch.setattr(status_cli, "time", FakeTime())


def test_json_has_members_lag_and_rates(monkeypatch, no_sleep):
    monkeypatch.setattr(
        status_cli.ClusterReader,
        "from_settings",
        classmethod(lambda c, s, **k: FakeReader.growing()),
    )
    out = io.StringIO()
    assert status_cli.main(["--json", "--bootstrap-servers", "x:1"], out=out) == 0
    data = json.loads(out.getvalue())
    assert data["members"][0]["client_id"] == "orderdesk-tracker-1"
    assert data["members"][0]["host"] == "10.0.0.7"
    assert data["members"][0]["partitions"] == [0, 1]
    assert data["lag"] == 3
    assert data["produced_per_s"] == 50.0
    assert data["committed_per_s"] == 50.0
    assert data["dead_lettered_per_s"] == 5.0
    assert data["success_percent"] == 90.0


def test_table_by_default(monkeypatch, no_sleep):
    monkeypatch.setattr(
        status_cli.ClusterReader,
        "from_settings",
        classmethod(lambda c, s, **k: FakeReader.growing()),
    )
    out = io.StringIO()
    assert status_cli.main(["--bootstrap-servers", "x:1"], out=out) == 0
    text = out.getvalue()
    assert "produced 50.0/s" in text and "STABLE, 1 member" in text
    assert "tracker-1" in text and "10.0.0.7" in text


def test_an_unreachable_cluster_exits_1_and_says_why(monkeypatch, no_sleep):
    down = FakeReader([ClusterSample(at=0.0, wall=0.0, error="no answer from Kafka at x:1")])
    monkeypatch.setattr(
        status_cli.ClusterReader, "from_settings", classmethod(lambda c, s, **k: down)
    )
    out = io.StringIO()
    assert status_cli.main(["--bootstrap-servers", "x:1"], out=out) == 1
    assert "no answer from Kafka" in out.getvalue()


def test_status_is_a_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["status", "--help"])
    assert exit_info.value.code == 0
    assert "--json" in capsys.readouterr().out
