"""The headless runner with stand-in services: exit status, output, signals, follow-up stop."""

from __future__ import annotations

import io
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

from orderdesk.cli.headless import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    HeadlessRunner,
    tracker_caught_up,
)
from orderdesk.config import ConfigError
from orderdesk.domain import LogEntry, LogLevel
from orderdesk.producer.service import ProducerResult
from orderdesk.producer.stats import ProducerStats
from orderdesk.service.base import Service, ServiceError
from orderdesk.tracker.stats import TrackerStats
from tests.interrupt import interrupt_self

OK_RESULT = ProducerResult(
    generated=5, acknowledged=5, failed=0, unconfirmed=0, faulty=1, elapsed=0.5
)


class Finishing(Service[ProducerStats]):
    """Logs, reports stats, and returns (or raises) at once."""

    name = "producer"

    def __init__(self, outcome: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outcome = outcome

    def run(self) -> Any:
        self.log(LogLevel.INFO, "started")
        self.log(LogLevel.DEBUG, "chatter")
        self.emit_stats(ProducerStats(generated=5, acknowledged=5, rate=10.0))
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class UntilStopped(Service[TrackerStats]):
    """Runs until stopped, reporting `stats()` every few milliseconds."""

    name = "tracker"

    def __init__(self, stats: Callable[[], TrackerStats] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.started = threading.Event()
        self._stats = stats or TrackerStats

    def run(self) -> dict[str, int]:
        self.started.set()
        while not self.wait(0.01):
            self.emit_stats(self._stats())
        return {"received": self._stats().received}


def make_runner() -> tuple[HeadlessRunner, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return HeadlessRunner(status_interval=0.01, out=out, err=err), out, err


def add(runner: HeadlessRunner, service_type: type[Service[Any]], *args: Any) -> Service[Any]:
    service = service_type(
        *args, on_stats=runner.stats_sink(service_type.name), on_log=runner.print_log
    )
    runner.add(service)
    return service


def test_a_run_where_every_order_was_acknowledged_exits_0_with_a_summary() -> None:
    runner, out, err = make_runner()
    add(runner, Finishing, OK_RESULT)
    assert runner.run() == EXIT_OK
    assert out.getvalue().startswith("producer summary: generated=5 acknowledged=5 failed=0")
    assert "producer: started" in err.getvalue()
    assert "chatter" not in err.getvalue()  # DEBUG stays quiet


def test_unacknowledged_orders_make_the_run_fail() -> None:
    runner, out, _ = make_runner()
    add(runner, Finishing, ProducerResult(5, 4, 0, 1, 0, 0.5))
    assert runner.run() == EXIT_FAILURE
    assert "unconfirmed=1" in out.getvalue()


def test_a_service_error_is_one_error_line_and_a_failure() -> None:
    runner, out, err = make_runner()
    add(runner, Finishing, ServiceError("no answer from Kafka at nowhere:9092 within 1 s"))
    assert runner.run() == EXIT_FAILURE
    errors = [line for line in err.getvalue().splitlines() if "error:" in line]
    assert errors == ["orderdesk: error: producer: no answer from Kafka at nowhere:9092 within 1 s"]
    assert out.getvalue() == ""


def test_a_service_error_after_some_work_still_prints_what_was_done() -> None:
    runner, out, _ = make_runner()
    partial = ProducerResult(9, 7, 2, 0, 0, 1.0, error="fatal Kafka producer error: fenced")
    add(runner, Finishing, ServiceError("fatal Kafka producer error: fenced", partial))
    assert runner.run() == EXIT_FAILURE
    assert "producer summary: generated=9 acknowledged=7 failed=2" in out.getvalue()


def test_a_configuration_error_exits_2() -> None:
    runner, _, err = make_runner()
    add(runner, Finishing, ConfigError("Kafka producer configuration: No such property"))
    assert runner.run() == EXIT_USAGE
    assert "No such property" in err.getvalue()


def test_when_one_service_fails_the_others_are_stopped() -> None:
    runner, _, _ = make_runner()
    add(runner, Finishing, ServiceError("broken"))
    tracker = add(runner, UntilStopped)
    assert runner.run() == EXIT_FAILURE
    assert tracker.stop_requested


def test_the_tracker_stops_once_it_handled_what_the_producer_acknowledged() -> None:
    runner, out, _ = make_runner()
    add(runner, Finishing, OK_RESULT)
    tracker = add(
        runner,
        UntilStopped,
        lambda: TrackerStats(received=5, valid=4, dead_lettered={"VALIDATION_ERROR": 1}),
    )
    runner.follow("tracker", after="producer")
    assert runner.run() == EXIT_OK
    assert tracker.stop_requested
    assert "tracker summary: received=5" in out.getvalue()


def test_status_lines_name_each_service_counts() -> None:
    runner, _, _ = make_runner()
    runner.add(Finishing(OK_RESULT))
    runner.add(UntilStopped())
    runner.stats_sink("producer")(ProducerStats(generated=10, acknowledged=9, failed=1, rate=2.5))
    runner.stats_sink("tracker")(
        TrackerStats(received=8, valid=6, dead_lettered={"X": 2}, retries=3, rate=1.25)
    )
    assert runner.status_line() == (
        "producer: sent=10 acknowledged=9 failed=1 rate=2.5/s | "
        "tracker: received=8 valid=6 dead_lettered=2 retries=3 in_flight=0 lag=? rate=1.2/s"
    )


@pytest.mark.parametrize(
    ("stats", "acknowledged", "caught_up"),
    [
        (None, 0, True),
        (None, 3, False),
        (TrackerStats(valid=2, dead_lettered={"VALIDATION_ERROR": 1}), 3, True),
        (TrackerStats(valid=2), 3, False),
        (TrackerStats(valid=3, in_flight=1), 3, False),
        (TrackerStats(valid=3, lag=4), 3, False),
        (TrackerStats(valid=3, lag=0), 3, True),
    ],
)
def test_tracker_caught_up(stats: TrackerStats | None, acknowledged: int, caught_up: bool) -> None:
    assert tracker_caught_up(stats, acknowledged) is caught_up


def test_sigint_stops_every_service_and_the_previous_handler_comes_back() -> None:
    runner, _, err = make_runner()
    tracker = add(runner, UntilStopped)
    assert isinstance(tracker, UntilStopped)
    before = signal.getsignal(signal.SIGINT)

    def interrupt() -> None:
        tracker.started.wait(10)
        interrupt_self()

    threading.Thread(target=interrupt, daemon=True).start()
    assert runner.run() == EXIT_OK
    assert tracker.stop_requested
    assert "SIGINT received, stopping" in err.getvalue()
    assert signal.getsignal(signal.SIGINT) is before


def test_log_lines_carry_the_error_once() -> None:
    runner, _, err = make_runner()
    runner.print_log(
        LogEntry(
            level=LogLevel.ERROR, message="delivery failed", service="producer", error="timed out"
        )
    )
    runner.print_log(
        LogEntry(
            level=LogLevel.WARNING, message="boom: timed out", service="producer", error="timed out"
        )
    )
    lines = err.getvalue().splitlines()
    assert lines[0].endswith("ERROR   producer: delivery failed: timed out")
    assert lines[1].endswith("WARNING producer: boom: timed out")


class Draining(UntilStopped):
    """A tracker that can stop by itself once it has consumed everything on the topic."""

    drained = False

    def drain(self) -> None:
        self.drained = True
        self.stop()


def test_a_tracker_that_can_drain_is_asked_to_once_the_producer_is_done() -> None:
    runner, _, _ = make_runner()
    add(runner, Finishing, OK_RESULT)
    tracker = add(runner, Draining)
    runner.follow("tracker", after="producer")
    assert runner.run() == EXIT_OK
    assert isinstance(tracker, Draining) and tracker.drained


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.skipif(sys.platform == "win32", reason="no SIGTERM to a console process there")
def test_only_sigint_offers_a_second_ctrl_c(signum: int) -> None:
    runner, _, err = make_runner()
    tracker = add(runner, UntilStopped)
    assert isinstance(tracker, UntilStopped)

    def interrupt() -> None:
        tracker.started.wait(10)
        signal.raise_signal(signum)

    threading.Thread(target=interrupt, daemon=True).start()
    assert runner.run() == EXIT_OK
    name = signal.Signals(signum).name
    assert f"{name} received, stopping" in err.getvalue()
    assert ("Ctrl+C again" in err.getvalue()) is (signum == signal.SIGINT)
