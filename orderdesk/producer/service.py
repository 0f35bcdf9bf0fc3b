"""The producer service: writes generated orders to the orders topic, confirming each one.

Delivery semantics: an event counts as *acknowledged* only when its delivery report says
the broker has it (idempotent producer, `acks=all`), as *failed* when its report carries an
error, and as *unconfirmed* when neither had happened when the final `flush` gave up. On
stop nothing is purged: whatever is in flight is flushed, so `acknowledged + failed +
unconfirmed == generated` always holds.

Errors: `run()` raises `ServiceError` when the service cannot do its job (unreachable
broker, fatal client error, a topic it may not write to); the exception's `result` holds the
counts of what was sent before, or None when nothing was. A bad Kafka client property
raises `ConfigError`. Everything else ends in a `ProducerResult`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from orderdesk.config import ConfigError, Settings
from orderdesk.domain import LogLevel
from orderdesk.kafka.clients import (
    BrokerUnavailable,
    ensure_topics,
    librdkafka_log,
    make_producer,
)
from orderdesk.kafka.errors import error_text
from orderdesk.producer.generator import Header, OrderGenerator
from orderdesk.producer.stats import ProducerStats
from orderdesk.service.base import LogCallback, RateMeter, Service, ServiceError

#: At full speed, events produced between two looks at the clock, the stop flag, stats and
#: delivery reports.
_BATCH = 256
#: Longest sleep while pacing, so delivery reports are served while waiting.
_PACE_SLICE = 0.1
#: Seconds between two warnings about the same kind of trouble.
_WARN_EVERY = 10.0


@dataclass(frozen=True)
class ProducerResult:
    """What one run of the producer did."""

    generated: int
    acknowledged: int
    failed: int
    unconfirmed: int
    faulty: int
    elapsed: float
    #: Why the run ended early, when it did (the message of the `ServiceError`).
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Every generated event was acknowledged by the broker."""
        return self.error is None and self.acknowledged == self.generated

    @property
    def rate(self) -> float:
        """Acknowledged events per second over the whole run."""
        return self.acknowledged / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self) -> str:
        """One line of `key=value` pairs, for people and scripts alike."""
        fields = asdict(self)
        error = fields.pop("error")
        parts = [f"{k}={v}" for k, v in fields.items() if k != "elapsed"]
        parts.append(f"elapsed={self.elapsed:.2f}s")
        parts.append(f"rate={self.rate:.1f}/s")
        if error:
            parts.append(f"error={error!r}")
        return " ".join(parts)


class ProducerService(Service[ProducerStats]):
    """Generates orders and produces them to `settings.topics.orders` until done or stopped.

    Runs until `settings.producer.count` events were sent, `settings.producer.duration`
    seconds passed, or `stop()` was called, at `settings.producer.rate` events per second
    (0: as fast as the client takes them).
    """

    name = "producer"

    def __init__(
        self,
        settings: Settings,
        on_stats: Callable[[ProducerStats], None] | None = None,
        on_log: LogCallback | None = None,
        stats_interval: float = 0.5,
    ) -> None:
        super().__init__(on_stats, on_log, stats_interval)
        self.settings = settings
        self._acknowledged = 0
        self._failed = 0
        self._generated = 0
        self._faulty = 0
        self._fatal: KafkaError | None = None
        self._last_warning: dict[object, float] = {}
        self._rate = RateMeter()
        self._started = 0.0
        self._next_stats = 0.0

    # -- delivery reports and client errors (called from poll/flush, on this thread) ---------

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self._acknowledged += 1
            return
        self._failed += 1
        if err.fatal():
            self._fatal = err
        if self._failed == 1 or self._should_warn("delivery"):
            self.log(
                LogLevel.ERROR,
                f"delivery failed ({self._failed} so far)",
                error=err.str(),
                topic=msg.topic(),
            )

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            self._fatal = err
            return
        if self._should_warn(err.code()):
            self.log(LogLevel.WARNING, "Kafka client error", error=err.str())

    def _should_warn(self, kind: object) -> bool:
        now = time.monotonic()
        if now - self._last_warning.get(kind, -_WARN_EVERY) < _WARN_EVERY:
            return False
        self._last_warning[kind] = now
        return True

    # -- the run ------------------------------------------------------------------------------

    def _stats(self, producer: Producer) -> ProducerStats:
        now = time.monotonic()
        in_flight = len(producer)
        return ProducerStats(
            generated=self._generated,
            acknowledged=self._acknowledged,
            failed=self._failed,
            faulty=self._faulty,
            in_flight=in_flight,
            rate=self._rate.update(self._acknowledged, now),
            elapsed=now - self._started,
        )

    def _emit_stats_when_due(self, producer: Producer) -> None:
        now = time.monotonic()
        if now >= self._next_stats:
            self._next_stats = now + self.stats_interval
            self.emit_stats(self._stats(producer))

    def _result(self, unconfirmed: int, error: str | None = None) -> ProducerResult:
        return ProducerResult(
            generated=self._generated,
            acknowledged=self._acknowledged,
            failed=self._failed,
            unconfirmed=unconfirmed,
            faulty=self._faulty,
            elapsed=time.monotonic() - self._started,
            error=error,
        )

    def run(self) -> ProducerResult:
        """Produce until done or stopped; see the module docstring for how it fails."""
        s = self.settings
        topic = s.topics.orders
        self._started = time.monotonic()
        self.log(
            LogLevel.INFO,
            f"producing to {topic} at {s.kafka.bootstrap_servers}",
            rate=s.producer.rate,
            count=s.producer.count,
            duration=s.producer.duration,
            faulty_ratio=s.producer.faulty_ratio,
            seed=s.producer.seed,
        )
        try:
            producer = make_producer(
                s.kafka,
                **{
                    "linger.ms": s.producer.linger_ms,
                    "on_delivery": self._on_delivery,
                    "error_cb": self._on_error,
                    "logger": librdkafka_log,
                },
            )
        except (KafkaException, ValueError, TypeError) as exc:
            raise ConfigError(f"Kafka producer configuration: {error_text(exc)}") from None
        try:
            created = ensure_topics(s.kafka, [topic], s.topics)
        except BrokerUnavailable as exc:
            # Nothing was sent: the error itself is the whole story, no log line needed.
            raise ServiceError(str(exc)) from None
        if created:
            self.log(
                LogLevel.INFO,
                f"created topic {topic} with {s.topics.partitions} partitions",
            )
        generator = OrderGenerator(s.producer, s.producer.seed)
        error: str | None = None
        try:
            self._produce(producer, generator, topic)
        except KafkaException as exc:
            error = f"cannot produce to {topic}: {error_text(exc)}"
            self.log(LogLevel.ERROR, error)
        except BaseException:
            # Whatever went wrong here, what is in flight still deserves its delivery.
            producer.flush(s.producer.flush_timeout)
            raise
        if error is None and self._fatal is not None:
            error = f"fatal Kafka producer error: {self._fatal.str()}"
            self.log(LogLevel.ERROR, error)
        unconfirmed = self._flush(producer)
        result = self._result(unconfirmed, error)
        self.emit_stats(self._stats(producer))
        level = LogLevel.INFO if result.ok else LogLevel.WARNING
        self.log(level, f"producer finished: {result.summary()}", **asdict(result))
        if error is not None:
            raise ServiceError(error, result)
        return result

    def _produce(self, producer: Producer, generator: OrderGenerator, topic: str) -> None:
        s = self.settings.producer
        count = s.count
        # Pace and duration count from the first order, after the set-up.
        start = time.monotonic()
        deadline = None if s.duration is None else start + s.duration
        interval = 1.0 / s.rate if s.rate > 0 else 0.0
        self._next_stats = start
        produce = producer.produce
        poll = producer.poll
        next_message = generator.next_message
        while not self.stop_requested and self._fatal is None:
            self._emit_stats_when_due(producer)
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            batch = _BATCH if count is None else min(_BATCH, count - self._generated)
            if batch <= 0:
                break
            if interval:
                # The n-th event is due at start + (n - 1) * interval: a fixed grid, so
                # the time spent waiting and producing never adds up to a drift.
                due = int((now - start) / interval) + 1 - self._generated
                if due <= 0:
                    wake = start + self._generated * interval
                    if deadline is not None:
                        wake = min(wake, deadline)
                    stats_due = max(0.0, self._next_stats - now)
                    self.wait(min(wake - now, _PACE_SLICE, stats_due))
                    poll(0)
                    continue
                batch = min(batch, due)
            sent = batch
            faulty = 0
            for i in range(batch):
                key, value, headers, fault = next_message()
                try:
                    produce(topic, value, key, headers=headers)
                except BufferError:
                    if not self._produce_when_room(producer, topic, key, value, headers):
                        sent = i
                        break
                if fault is not None:
                    faulty += 1
            # Delivery reports served once a batch, not after every produce: each poll costs
            # about as much as generating an order, and the reports wait in the client.
            poll(0)
            self._generated += sent
            self._faulty += faulty

    def _produce_when_room(
        self, producer: Producer, topic: str, key: bytes, value: bytes, headers: list[Header]
    ) -> bool:
        """Wait for the local queue to drain enough to take a message; False if stopped first.

        The queue is full when the broker is slower than the generator: serving delivery
        reports frees room, so nothing is dropped and memory stays bounded by the queue.
        """
        while True:
            producer.poll(0.1)
            if self.stop_requested or self._fatal is not None:
                return False
            self._emit_stats_when_due(producer)
            try:
                producer.produce(topic, value, key, headers=headers)
                return True
            except BufferError:
                continue

    def _flush(self, producer: Producer) -> int:
        in_flight = len(producer)
        timeout = self.settings.producer.flush_timeout
        if in_flight:
            self.log(LogLevel.INFO, f"flushing {in_flight} events in flight (up to {timeout:g} s)")
        remaining = producer.flush(timeout)
        if remaining:
            self.log(
                LogLevel.WARNING,
                f"{remaining} events still unconfirmed after {timeout:g} s",
            )
        return remaining
