"""Headless mode: run the producer and/or the tracker without Qt, until done or interrupted.

Each service runs `run()` on its own thread; the main thread owns the signal handlers
(SIGINT/SIGTERM ask every service to stop, a second SIGINT exits at once with status 130),
prints a status line to stderr every few seconds, and a `key=value` summary per service to
stdout at the end.

Exit status: 0 when every service ended cleanly (for the producer: every generated order
was acknowledged), 1 otherwise, 2 for a configuration error.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, TextIO

from orderdesk.cli.args import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from orderdesk.config import ConfigError, Settings
from orderdesk.domain import LogEntry, LogLevel
from orderdesk.kafka.clients import librdkafka_log
from orderdesk.producer.stats import ProducerStats
from orderdesk.service.base import Service, ServiceError
from orderdesk.service.logs import feeding
from orderdesk.tracker.stats import TrackerStats

#: Seconds between two status lines.
STATUS_INTERVAL = 5.0
_JOIN_SLICE = 0.2
_PRINTED_LEVELS = frozenset({LogLevel.INFO, LogLevel.WARNING, LogLevel.ERROR, LogLevel.CRITICAL})


def run_headless(
    settings: Settings,
    producer: bool,
    tracker: bool,
    *,
    status_interval: float = STATUS_INTERVAL,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run the chosen services until they finish or a signal stops them; returns the exit status."""
    runner = HeadlessRunner(status_interval, out or sys.stdout, err or sys.stderr)
    # The services report client trouble through their error callbacks, rate-limited;
    # librdkafka's raw lines would repeat it many times a second.
    librdkafka_log.setLevel(logging.CRITICAL)
    sink = runner.stats_sink
    server = None
    if settings.metrics.port is not None:
        from orderdesk.monitor.metrics import MetricsServer, ServiceMetrics

        metrics = ServiceMetrics()
        try:
            server = MetricsServer(metrics, settings.metrics.port, settings.metrics.address)
        except OSError as exc:
            runner.error(f"cannot serve metrics on port {settings.metrics.port}: {exc}")
            return EXIT_FAILURE
        runner.error_stream_line(f"orderdesk: metrics on {server.url}")

        def sink(name: str) -> Callable[[Any], None]:
            return metrics.tee(name, runner.stats_sink(name))

    try:
        if producer:
            from orderdesk.producer.service import ProducerService

            runner.add(ProducerService(settings, sink("producer"), runner.print_log))
        if tracker:
            # Imported only when asked for, so the producer runs on its own without it.
            from orderdesk.tracker.service import TrackerService

            runner.add(TrackerService(settings, sink("tracker"), runner.print_log))
    except ConfigError as exc:
        runner.error(str(exc))
        return EXIT_USAGE
    except ImportError as exc:
        runner.error(f"this build cannot run that service: {exc}")
        return EXIT_FAILURE
    if producer and tracker and _ends_by_itself(settings):
        runner.follow("tracker", after="producer")
    try:
        # What the other areas log (topics, the dead-letter reader, ...) in the same lines.
        with feeding(runner.print_log):
            return runner.run()
    finally:
        if server is not None:
            server.close()


def _ends_by_itself(settings: Settings) -> bool:
    return settings.producer.count is not None or settings.producer.duration is not None


def tracker_caught_up(stats: TrackerStats | None, acknowledged: int) -> bool:
    """The tracker has handled to the end as many orders as the producer got acknowledged.

    Handled means validated, or dead-lettered and acknowledged on the dead-letter topic.
    Orders already on the topic before this run count too, so this errs on the side of
    stopping early only when the topic held a backlog.
    """
    if stats is None:
        return acknowledged == 0
    handled = stats.valid + stats.dead_lettered_total
    return handled >= acknowledged and stats.in_flight == 0 and not stats.lag


@dataclasses.dataclass
class _Run:
    service: Service[Any]
    thread: threading.Thread | None = None
    stats: Any = None
    result: Any = None
    error: BaseException | None = None
    done: bool = False


class HeadlessRunner:
    """Runs services on threads and reports on them; generic over `Service` subclasses."""

    def __init__(self, status_interval: float, out: TextIO, err: TextIO) -> None:
        self.status_interval = status_interval
        self._out = out
        self._err = err
        self._runs: dict[str, _Run] = {}
        # Reentrant: a signal handler may print while the main thread is printing.
        self._print_lock = threading.RLock()
        self._stopping = False
        self._interrupted = False
        #: (follower, leader): stop the follower once it has handled what the leader sent.
        self._follow: tuple[str, str] | None = None

    # -- set-up -------------------------------------------------------------------------------

    def add(self, service: Service[Any]) -> None:
        self._runs[service.name] = _Run(service)

    def follow(self, follower: str, after: str) -> None:
        """Stop `follower` (a tracker) once it has handled every order `after` acknowledged."""
        self._follow = (follower, after)

    def stats_sink(self, name: str) -> Callable[[Any], None]:
        def sink(stats: Any) -> None:
            # A plain attribute store: the main thread reads the latest snapshot.
            self._runs[name].stats = stats

        return sink

    # -- output (any thread) ------------------------------------------------------------------

    def _print(self, text: str, stream: TextIO) -> None:
        with self._print_lock:
            print(text, file=stream, flush=True)

    def error(self, message: str) -> None:
        self._print(f"orderdesk: error: {message}", self._err)

    def error_stream_line(self, text: str) -> None:
        self._print(text, self._err)

    def print_log(self, entry: LogEntry) -> None:
        if entry.level not in _PRINTED_LEVELS:
            return
        when = entry.timestamp.astimezone().strftime("%H:%M:%S")
        text = f"{when} {entry.level:<7} {entry.service}: {entry.message}"
        if entry.error and entry.error not in entry.message:
            text += f": {entry.error}"
        self._print(text, self._err)

    def status_line(self) -> str:
        parts = []
        for name, run in self._runs.items():
            stats = run.stats
            if isinstance(stats, ProducerStats):
                parts.append(
                    f"{name}: sent={stats.generated} acknowledged={stats.acknowledged} "
                    f"failed={stats.failed} "
                    + (f"unknown={stats.unknown} " if stats.unknown else "")
                    + f"rate={stats.rate:.1f}/s"
                )
            elif isinstance(stats, TrackerStats):
                parts.append(
                    f"{name}: received={stats.received} valid={stats.valid} "
                    f"dead_lettered={stats.dead_lettered_total} retries={stats.retries} "
                    f"in_flight={stats.in_flight} lag={'?' if stats.lag is None else stats.lag} "
                    f"rate={stats.rate:.1f}/s"
                )
            elif stats is not None:
                parts.append(f"{name}: {stats}")
        return " | ".join(parts)

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> int:
        if not self._runs:
            return EXIT_OK
        previous = self._install_signal_handlers()
        try:
            for name, run in self._runs.items():
                run.thread = threading.Thread(
                    target=self._run_service, args=(run,), name=f"orderdesk-{name}", daemon=True
                )
                run.thread.start()
            self._supervise()
        finally:
            self._restore_signal_handlers(previous)
        return self._report()

    def _run_service(self, run: _Run) -> None:
        try:
            run.result = run.service.run()
        except BaseException as exc:
            run.error = exc
        finally:
            run.done = True

    def _supervise(self) -> None:
        next_status = time.monotonic() + self.status_interval
        while True:
            alive = [r for r in self._runs.values() if r.thread and r.thread.is_alive()]
            if not alive:
                return
            alive[0].thread.join(_JOIN_SLICE)  # type: ignore[union-attr]
            if any(r.done and r.error is not None for r in self._runs.values()):
                # One service failed: the run as a whole has, so let the others end too.
                self.stop_all()
            self._stop_follower_when_caught_up()
            now = time.monotonic()
            if now >= next_status:
                next_status = now + self.status_interval
                line = self.status_line()
                if line:
                    self._print(line, self._err)

    def _stop_follower_when_caught_up(self) -> None:
        if self._follow is None:
            return
        follower, leader = (self._runs.get(n) for n in self._follow)
        if follower is None or leader is None or follower.done or not leader.done:
            return
        if leader.error is not None:
            follower.service.stop()
            return
        drain = getattr(follower.service, "drain", None)
        if callable(drain):
            # Exact: the tracker stops once its group committed everything now on the topic.
            drain()
            self._follow = None
            return
        acknowledged = getattr(leader.result, "acknowledged", 0)
        if tracker_caught_up(follower.stats, acknowledged):
            follower.service.stop()
            self._follow = None

    def stop_all(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        for run in self._runs.values():
            run.service.stop()

    def _report(self) -> int:
        status = EXIT_OK
        for name, run in self._runs.items():
            if run.error is not None:
                exc = run.error
                partial = getattr(exc, "result", None)
                if partial is not None:
                    self._print(f"{name} summary: {_describe(partial)}", self._out)
                if isinstance(exc, ConfigError):
                    self.error(f"{name}: {exc}")
                    status = max(status, EXIT_USAGE)
                elif isinstance(exc, ServiceError):
                    self.error(f"{name}: {exc}")
                    status = max(status, EXIT_FAILURE)
                else:
                    self.error(f"{name}: unexpected {type(exc).__name__}: {exc}")
                    status = max(status, EXIT_FAILURE)
                continue
            self._print(f"{name} summary: {_describe(run.result)}", self._out)
            if not getattr(run.result, "ok", True):
                status = max(status, EXIT_FAILURE)
        return status

    # -- signals ------------------------------------------------------------------------------

    def _install_signal_handlers(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[int, Any] = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, self._on_signal)
        return previous

    @staticmethod
    def _restore_signal_handlers(previous: dict[int, Any]) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._interrupted and signum == signal.SIGINT:
            self._print("orderdesk: interrupted again, exiting now", self._err)
            os._exit(EXIT_INTERRUPTED)
        self._interrupted = True
        name = signal.Signals(signum).name
        # Only a terminal's Ctrl+C can be pressed again; SIGTERM comes from a supervisor.
        hint = " (Ctrl+C again to quit now)" if signum == signal.SIGINT else ""
        self._print(f"orderdesk: {name} received, stopping{hint}", self._err)
        self.stop_all()


def _describe(result: Any) -> str:
    """A result as one line of `key=value` pairs."""
    if result is None:
        return "none"
    summary = getattr(result, "summary", None)
    if callable(summary):
        return str(summary())
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        result = dataclasses.asdict(result)
    if isinstance(result, dict):
        return " ".join(f"{k}={_value(v)}" for k, v in result.items())
    return str(result)


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, dict):
        return ",".join(f"{k}:{v}" for k, v in value.items()) or "0"
    return str(value)
