"""A stand-in service for pure GUI logic: counts, reports and stops like a real one."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from orderdesk.config import Settings
from orderdesk.domain import LogEntry, LogLevel
from orderdesk.producer.stats import ProducerStats
from orderdesk.service.base import Service, ServiceError
from orderdesk.tracker.stats import TrackerStats


class FakeService(Service[Any]):
    """Counts up every few milliseconds until stopped; can fail on purpose, at once or
    (`fail_after`) after that many steps, as a fatal error in the middle of a run."""

    def __init__(
        self,
        settings: Settings,
        on_stats: Callable[[Any], None] | None = None,
        on_log: Callable[[LogEntry], None] | None = None,
        *,
        kind: str = "producer",
        fail_with: str | None = None,
        fail_after: int = 0,
        logs_per_step: int = 1,
        step: float = 0.005,
    ) -> None:
        super().__init__(on_stats=on_stats, on_log=on_log)
        self.name = f"fake-{kind}"
        self.settings = settings
        self.kind = kind
        self.fail_with = fail_with
        self.fail_after = fail_after
        self.logs_per_step = logs_per_step
        self.step = step
        self.count = 0
        self.running = threading.Event()
        self.stopped_cleanly = False

    def _stats(self) -> Any:
        if self.kind == "producer":
            return ProducerStats(generated=self.count, acknowledged=self.count, rate=200.0)
        dead = self.count // 10
        return TrackerStats(
            received=self.count,
            valid=self.count - dead,
            dead_lettered={"VALIDATION_ERROR": dead},
            rate=200.0,
            dead_letter_rate=20.0,
            lag=5,
        )

    def run(self) -> int:
        self.running.set()
        if self.fail_with and not self.fail_after:
            raise ServiceError(self.fail_with)
        while not self.wait(self.step):
            self.count += 1
            if self.fail_with and self.count >= self.fail_after:
                self.emit_stats(self._stats())
                raise ServiceError(self.fail_with, result=self.count)
            for _ in range(self.logs_per_step):
                self.log(LogLevel.INFO, f"step {self.count}")
            self.emit_stats(self._stats())
        self.emit_stats(self._stats())
        self.stopped_cleanly = True
        return self.count


class FakeFactory:
    """A service factory that remembers the services it built."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.built: list[FakeService] = []

    def __call__(self, settings: Settings, on_stats: Any, on_log: Any) -> FakeService:
        service = FakeService(settings, on_stats, on_log, **self.options)
        self.built.append(service)
        return service


class StuckService(FakeService):
    """Ignores stop() until released, like a thread inside a librdkafka call against a
    frozen broker."""

    def __init__(self, *args: Any, release: threading.Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.release = release

    def run(self) -> int:
        self.running.set()
        self.release.wait(60)
        return 0


class StuckFactory(FakeFactory):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.release = threading.Event()

    def __call__(self, settings: Settings, on_stats: Any, on_log: Any) -> FakeService:
        service = StuckService(settings, on_stats, on_log, release=self.release, **self.options)
        self.built.append(service)
        return service
