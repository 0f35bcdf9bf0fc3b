"""librdkafka's own log lines go through Python's logging, never raw to the terminal."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orderdesk.config import Settings
from orderdesk.kafka.clients import (
    BrokerUnavailable,
    RepeatedLines,
    describe_cluster,
    librdkafka_log,
    make_consumer,
    make_producer,
    repeated_lines,
)

#: Nothing listens there: every connection attempt is refused at once.
NOWHERE = "127.0.0.1:1"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def fresh_repeats() -> Iterator[None]:
    repeated_lines.clear()
    yield
    repeated_lines.clear()


def refused(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == librdkafka_log.name and "Connection refused" in r.getMessage()
    ]


def poll_until(poll: Callable[[float], object], done: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        poll(0.1)


def test_clients_for_an_unreachable_broker_log_to_python_not_stderr(caplog, capfd) -> None:
    kafka = Settings(kafka={"bootstrap_servers": NOWHERE, "connect_timeout": 1.0}).kafka
    caplog.set_level(logging.INFO, logger=librdkafka_log.name)

    def clients() -> list[str]:
        return [r.getMessage().split("]")[0] for r in refused(caplog)]

    producer = make_producer(kafka, error_cb=lambda _err: None)
    poll_until(producer.poll, lambda: bool(clients()), 10.0)
    consumer = make_consumer(kafka, "orderdesk-log-test", error_cb=lambda _err: None)
    consumer.subscribe(["orderdesk-log-test"])
    poll_until(consumer.poll, lambda: len(clients()) == 2, 10.0)
    # A consumer retries several times a second: its line comes once, not once a retry.
    poll_until(consumer.poll, lambda: False, 1.0)
    consumer.close()
    with pytest.raises(BrokerUnavailable):
        describe_cluster(kafka, 1.0)

    producer_line, consumer_line = clients()
    assert "#producer-" in producer_line and "#consumer-" in consumer_line
    assert all(r.levelno >= logging.WARNING for r in refused(caplog))
    assert capfd.readouterr().err == ""


def test_a_line_like_one_just_logged_is_dropped_for_a_while() -> None:
    def record(text: str) -> logging.LogRecord:
        return logging.LogRecord(librdkafka_log.name, logging.ERROR, "", 0, text, None, None)

    quiet = RepeatedLines(seconds=60.0)
    assert quiet.filter(record("Connect to 127.0.0.1:1 failed (after 0ms)"))
    assert not quiet.filter(record("Connect to 127.0.0.1:1 failed (after 3ms)"))
    assert quiet.filter(record("Metadata request timed out"))
    assert RepeatedLines(seconds=0.0).filter(record("Metadata request timed out"))


def test_with_the_desktop_apps_handler_nothing_reaches_stderr() -> None:
    # A process of its own: under pytest, its capture handlers keep logging's last resort
    # (which prints to stderr when nobody handles a record) from ever speaking.
    child = textwrap.dedent(
        f"""
        import logging, time
        from orderdesk.config import Settings
        from orderdesk.kafka.clients import make_producer
        from orderdesk.service.logs import ROOT_LOGGER, plain_handler

        got = []
        logging.getLogger(ROOT_LOGGER).addHandler(plain_handler(got.append))
        producer = make_producer(
            Settings(kafka={{"bootstrap_servers": "{NOWHERE}"}}).kafka, error_cb=lambda e: None
        )
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            producer.poll(0.1)
        print(got[0].service, got[0].message if got else "")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", child],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("kafka.librdkafka ")
    assert "Connection refused" in done.stdout
    assert done.stderr == ""
