"""ServiceRunner and ServiceFeed: threads start, stop promptly, report failures, hand over data."""

from __future__ import annotations

from orderdesk.config import Settings
from orderdesk.domain import LogEntry, LogLevel
from orderdesk.gui.services.runner import RunState, ServiceFeed, ServiceRunner

from .fakes import FakeFactory


def test_feed_is_bounded_and_counts_what_it_dropped() -> None:
    feed = ServiceFeed(capacity=3)
    for i in range(5):
        feed.put_log(LogEntry(level=LogLevel.INFO, message=str(i), service="t"))
    feed.put_stats("a")
    feed.put_stats("b")
    batch = feed.drain()
    assert [e.message for e in batch.logs] == ["2", "3", "4"]
    assert batch.dropped == 2
    assert batch.stats == "b"
    again = feed.drain()
    assert again.stats is None and again.logs == [] and again.dropped == 0


def test_runner_starts_reports_and_stops(qtbot) -> None:
    factory = FakeFactory()
    runner = ServiceRunner("producer", factory)
    states: list[str] = []
    runner.state_changed.connect(states.append)
    assert runner.start(Settings())
    assert not runner.start(Settings()), "a second start while running is refused"
    qtbot.waitUntil(lambda: bool(factory.built) and factory.built[0].count > 3)
    with qtbot.waitSignal(runner.stopped, timeout=5000) as blocker:
        runner.stop()
    service = factory.built[0]
    assert service.stopped_cleanly
    assert blocker.args == [service.count]
    assert states == ["running", "stopping…", "stopped"]
    assert not runner.is_active
    batch = runner.feed.drain()
    assert batch.stats.generated == service.count
    assert batch.logs


def test_stop_reaches_a_service_blocked_in_run(qtbot) -> None:
    # A long step: the worker thread is inside wait(); only a direct stop gets through.
    factory = FakeFactory(step=60.0)
    runner = ServiceRunner("producer", factory)
    runner.start(Settings())
    qtbot.waitUntil(lambda: bool(factory.built) and factory.built[0].running.is_set())
    with qtbot.waitSignal(runner.stopped, timeout=3000):
        runner.stop()
    assert runner.state is RunState.STOPPED


def test_stop_before_the_service_exists_is_not_lost(qtbot) -> None:
    factory = FakeFactory(step=60.0)
    runner = ServiceRunner("tracker", factory)
    with qtbot.waitSignal(runner.stopped, timeout=3000):
        runner.start(Settings())
        runner.stop()  # most likely before the worker thread built the service
    assert runner.state is RunState.STOPPED


def test_failure_is_reported_not_swallowed(qtbot) -> None:
    runner = ServiceRunner("tracker", FakeFactory(fail_with="no answer from Kafka"))
    with qtbot.waitSignals([runner.failed, runner.stopped], timeout=5000, order="strict"):
        runner.start(Settings())
    assert runner.state is RunState.FAILED
    assert runner.last_error == "no answer from Kafka"
    logs = runner.feed.drain().logs
    assert any(e.level is LogLevel.ERROR and "no answer" in (e.error or "") for e in logs)


def test_a_crashing_factory_is_reported(qtbot) -> None:
    def broken(settings, on_stats, on_log):
        raise ValueError("bad wiring")

    runner = ServiceRunner("producer", broken)
    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        runner.start(Settings())
    assert "ValueError: bad wiring" in blocker.args[0]
    qtbot.waitUntil(lambda: not runner.is_active)


def test_runner_can_run_again_after_stopping(qtbot) -> None:
    factory = FakeFactory()
    runner = ServiceRunner("producer", factory)
    for _ in range(2):
        runner.start(Settings())
        with qtbot.waitSignal(runner.stopped, timeout=5000):
            runner.stop()
    assert len(factory.built) == 2
