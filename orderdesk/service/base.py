"""What every service shares: a run loop stopped from any thread, stats and log callbacks.

A service is a plain class. `run()` blocks on the calling thread until the work is done or
`stop()` is called (from any thread, or a signal handler); the headless runner calls it on
the main thread, the GUI from a QThread worker. Progress leaves the service only through
`on_stats` (a snapshot, at most every `stats_interval` seconds) and the technical log (one
`LogEntry` per notable event, never one per message), both on the service's thread.

`Service.log` is a thin facade over `logging`: the entry goes, as a record, to the service's
own handlers (`log_handlers`: `on_log` becomes an `EntryHandler`, the tracker adds its file)
and to its area's logger, `orderdesk.<name>`, for whoever configured logging.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from orderdesk.domain import LogEntry, LogLevel
from orderdesk.service.logs import ROOT_LOGGER, EntryHandler, entry_record

StatsT = TypeVar("StatsT")
LogCallback = Callable[[LogEntry], None]


class ServiceError(RuntimeError):
    """A service could not do its job: `run()` raises it instead of returning a result.

    The message is one line fit for a user (no traceback needed): an unreachable broker,
    a topic that cannot be used, a fatal client error. `result` holds what the service got
    done before it failed (its usual result object), or None when it never started.
    """

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


class RateMeter:
    """Events per second over a sliding window, from cumulative counts sampled over time."""

    def __init__(self, window: float = 5.0) -> None:
        self._window = window
        self._samples: deque[tuple[float, int]] = deque()

    def update(self, count: int, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        samples = self._samples
        samples.append((now, count))
        while len(samples) > 2 and now - samples[1][0] >= self._window:
            samples.popleft()
        first_t, first_n = samples[0]
        span = now - first_t
        return (count - first_n) / span if span > 0 else 0.0


class Service(Generic[StatsT]):
    """Base of the producer and tracker: stop handling, log and stats plumbing."""

    name = "service"

    def __init__(
        self,
        on_stats: Callable[[StatsT], None] | None = None,
        on_log: LogCallback | None = None,
        stats_interval: float = 0.5,
    ) -> None:
        self._stop_event = threading.Event()
        self._on_stats = on_stats
        self.logger = logging.getLogger(f"{ROOT_LOGGER}.{self.name}")
        #: This service's own handlers; a handler on the shared area logger would also get
        #: the entries of every other service of the same kind in the process.
        self.log_handlers: list[logging.Handler] = []
        if on_log is not None:
            self.log_handlers.append(EntryHandler(on_log))
        self.stats_interval = stats_interval

    def run(self) -> Any:
        """Do the work until done or stopped; returns the service's result."""
        raise NotImplementedError

    def stop(self) -> None:
        """Ask the service to finish what it has in hand and return from `run()`. Thread-safe."""
        self._stop_event.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop_event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking at once on a stop request; True if stop was requested."""
        return self._stop_event.wait(seconds) if seconds > 0 else self._stop_event.is_set()

    def emit_stats(self, stats: StatsT) -> None:
        if self._on_stats is not None:
            self._on_stats(stats)

    def log(
        self,
        level: LogLevel,
        message: str,
        error: BaseException | str | None = None,
        **metadata: Any,
    ) -> LogEntry:
        entry = LogEntry(
            level=level,
            message=message,
            service=self.name,
            error=None if error is None else str(error),
            metadata=metadata or None,
        )
        self.handle_log(entry)
        return entry

    def handle_log(self, entry: LogEntry) -> None:
        """Deliver a log entry to this service's handlers, then to its area's logger."""
        record = entry_record(self.logger.name, entry)
        for handler in self.log_handlers:
            if record.levelno >= handler.level:
                handler.handle(record)
        # Only when someone listens: unconfigured, Python's last-resort handler would print
        # warnings a second time, under the headless runner's own lines.
        logger = self.logger
        if logger.isEnabledFor(record.levelno) and logger.hasHandlers():
            logger.handle(record)
