"""`orderdesk --producer` as a user runs it: exit status, summary line, what the topic holds."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from producer_support import read_topic, topic_size, unique_topic, wait_until

from orderdesk.domain import parse_order

pytestmark = pytest.mark.kafka

REPO = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(r"^(?P<service>\w+) summary: (?P<fields>.*)$", re.MULTILINE)


def orderdesk(*args: str, **env: str) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    environ.update(env)
    return subprocess.Popen(
        [sys.executable, "-m", "orderdesk", *args],
        cwd=REPO,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def summary(stdout: str, service: str = "producer") -> dict[str, str]:
    found = {m["service"]: m["fields"] for m in SUMMARY.finditer(stdout)}
    assert service in found, stdout
    return dict(part.split("=", 1) for part in found[service].split() if "=" in part)


def test_count_2000_at_full_speed_exits_0_and_the_topic_holds_2000_valid_orders(
    kafka_bootstrap: str,
) -> None:
    topic = unique_topic("headless-2000")
    proc = orderdesk(
        "--producer", "--count", "2000", "--rate", "0",
        "--bootstrap-servers", kafka_bootstrap, "--topic", topic,
    )  # fmt: skip
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    fields = summary(out)
    assert fields["generated"] == fields["acknowledged"] == "2000", out
    assert fields["failed"] == fields["unconfirmed"] == "0"
    messages = read_topic(kafka_bootstrap, topic)
    assert len(messages) == 2000
    assert len({parse_order(m.value()).order_id for m in messages}) == 2000


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_run_stops_gracefully_and_the_summary_matches_the_topic(
    kafka_bootstrap: str, signum: int
) -> None:
    topic = unique_topic("headless-signal")
    proc = orderdesk(
        "--producer", "--rate", "0", "--faulty-ratio", "0",
        "--bootstrap-servers", kafka_bootstrap, "--topic", topic,
    )  # fmt: skip
    try:
        wait_until(lambda: topic_size(kafka_bootstrap, topic) >= 3000, what="3000 orders")
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert signal.Signals(signum).name in err
    fields = summary(out)
    acknowledged = int(fields["acknowledged"])
    assert acknowledged >= 3000
    assert fields["generated"] == fields["acknowledged"]
    assert fields["unconfirmed"] == "0"
    messages = read_topic(kafka_bootstrap, topic)
    assert len(messages) == acknowledged
    for msg in messages:
        parse_order(msg.value())


def test_producer_and_tracker_together_end_once_every_order_is_handled(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topic = unique_topic("headless-both")
    proc = orderdesk(
        "--producer", "--tracker", "--count", "400", "--rate", "0", "--faulty-ratio", "0.2",
        "--seed", "3", "--bootstrap-servers", kafka_bootstrap, "--topic", topic,
        "--dlq-topic", f"{topic}-dlq", "--group", f"{topic}-group", "--log-dir", str(tmp_path),
    )  # fmt: skip
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    produced, tracked = summary(out, "producer"), summary(out, "tracker")
    assert produced["acknowledged"] == tracked["received"] == "400"
    assert tracked["dead_lettered"] == produced["faulty"] != "0"
    assert int(tracked["valid"]) == 400 - int(produced["faulty"])


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_broker_is_one_clear_error_and_a_failure_status() -> None:
    port = closed_port()
    proc = orderdesk(
        "--producer", "--count", "10", "--bootstrap-servers", f"127.0.0.1:{port}",
        ORDERDESK_KAFKA__CONNECT_TIMEOUT="2",
    )  # fmt: skip
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    errors = [line for line in err.splitlines() if line.startswith("orderdesk: error:")]
    assert len(errors) == 1, err
    assert f"127.0.0.1:{port}" in errors[0] and "within 2 s" in errors[0]
    assert "%3|" not in err  # no raw librdkafka lines
    assert "summary" not in out


def test_a_bad_client_property_is_a_usage_error() -> None:
    proc = orderdesk("--producer", "--count", "1", "-X", "no.such.property=1")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert "no.such.property" in err
