"""`orderdesk --producer --tracker --count N`: one process, ends once every order is handled."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tracker_support import committed_and_ends, read_audit

from orderdesk.domain import AuditEvent

pytestmark = pytest.mark.kafka

REPO = Path(__file__).resolve().parents[2]


def test_producer_and_tracker_in_one_process_end_when_all_is_handled(
    kafka_bootstrap, topic_factory, tmp_path
):
    topic, dlq = topic_factory(3), topic_factory(1)
    group = f"headless-{topic}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "orderdesk",
            "--producer",
            "--tracker",
            "--bootstrap-servers",
            kafka_bootstrap,
            "--topic",
            topic,
            "--dlq-topic",
            dlq,
            "--group",
            group,
            "--log-dir",
            str(tmp_path),
            "--count",
            "1500",
            "--rate",
            "0",
            "--faulty-ratio",
            "0.1",
            "--seed",
            "11",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    summary = next(line for line in done.stdout.splitlines() if line.startswith("tracker"))
    fields = dict(part.split("=", 1) for part in summary.split()[2:])
    assert int(fields["valid"]) + int(fields["dead_lettered"]) == 1500
    assert int(fields["dead_lettered"]) > 0
    committed, ends = committed_and_ends(kafka_bootstrap, group, topic)
    assert committed == ends and sum(ends.values()) == 1500
    final = [
        e
        for e in read_audit(tmp_path)
        if e.event_type in (AuditEvent.ORDER_VALIDATED, AuditEvent.ORDER_DEAD_LETTERED)
    ]
    assert len(final) == 1500
