"""The producer service: writes generated orders to the orders topic, confirming each one.

Delivery outcomes are kept apart, since a user acts on them differently: an event is
*acknowledged* when its delivery report says the broker has it (idempotent producer,
`acks=all`); *failed* when the report's error says nothing was stored (refused by the
broker, too big, purged before it was sent); *unknown* when its delivery timed out or the
connection broke after it was sent, so it may be stored (sending it again may duplicate it);
and *unconfirmed* when no report had come when the final `flush` gave up. So
`acknowledged + failed + unknown + unconfirmed == generated` always holds.

A topic that the broker lost (a cluster that came back empty, a topic deleted while
orders flow) is created again, and the events refused for its absence are sent again.

Errors: `run()` raises `ServiceError` when the service cannot do its job (unreachable
broker, fatal client error, a topic it may not write to); the exception's `result` holds the
counts of what was sent before, or None when nothing was. A bad Kafka client property
raises `ConfigError`. Everything else ends in a `ProducerResult`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from functools import partial
from itertools import repeat
from operator import length_hint

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
from orderdesk.producer.generator import Header, OrderBatch, OrderGenerator
from orderdesk.producer.stats import ProducerStats
from orderdesk.service.base import LogCallback, RateMeter, Service, ServiceError

#: At full speed, events produced between two looks at the clock, the stop flag, stats and
#: delivery reports.
_BATCH = 256
#: Runs an iterator to its end, in C.
consume: Callable[[Iterable[object]], deque[object]] = partial(deque, maxlen=0)
#: `Producer.produce`'s partition for "let the partitioner choose" (RD_KAFKA_PARTITION_UA).
_ANY_PARTITION = -1
#: Longest sleep while pacing, so delivery reports are served while waiting.
_PACE_SLICE = 0.1
#: Seconds between two warnings about the same kind of trouble.
_WARN_EVERY = 10.0
#: Seconds between two attempts to create a missing topic again.
_TOPIC_CHECK_EVERY = 2.0
#: Events held for a missing topic, at most (beyond, they count as failed).
_RESEND_MAX = 100_000
#: Delivery errors that mean the topic (or partition) does not exist: nothing was stored.
_TOPIC_MISSING = frozenset(
    {KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC, KafkaError._UNKNOWN_PARTITION}
)
#: Delivery errors after which the broker surely does not have the event. Any other error
#: (time-outs above all: `_MSG_TIMED_OUT` once the request was sent) leaves the outcome
#: unknown, since the broker may have stored the event before the answer was lost.
_NOT_STORED = frozenset(
    {
        KafkaError._PURGE_QUEUE,
        KafkaError.MSG_SIZE_TOO_LARGE,
        KafkaError.INVALID_MSG_SIZE,
        KafkaError.RECORD_LIST_TOO_LARGE,
        KafkaError.INVALID_RECORD,
        KafkaError.INVALID_REQUIRED_ACKS,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
        KafkaError.POLICY_VIOLATION,
        KafkaError.TOPIC_EXCEPTION,
        KafkaError._INVALID_ARG,
        *_TOPIC_MISSING,
    }
)


@dataclass(frozen=True)
class ProducerResult:
    """What one run of the producer did."""

    generated: int
    acknowledged: int
    #: Not stored by the broker (see the module docstring).
    failed: int
    unconfirmed: int
    faulty: int
    elapsed: float
    #: Why the run ended early, when it did (the message of the `ServiceError`).
    error: str | None = None
    #: Timed out after being sent: may be stored.
    unknown: int = 0

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
        order = ("generated", "acknowledged", "failed", "unknown", "unconfirmed", "faulty")
        parts = [f"{k}={fields[k]}" for k in order]
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
        self._unknown = 0
        #: Events refused because their topic was missing, to send again once it exists.
        self._resend: list[tuple[bytes, bytes, list[Header]]] = []
        self._topic_missing = False
        self._next_topic_check = 0.0
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
        if err.fatal():
            self._fatal = err
        code = err.code()
        if code in _TOPIC_MISSING and len(self._resend) < _RESEND_MAX and not err.fatal():
            # Not stored: sent again once the topic exists again.
            self._topic_missing = True
            headers = msg.headers()
            held = headers if isinstance(headers, list) else []
            self._resend.append((msg.key() or b"", msg.value() or b"", held))
            return
        if code in _NOT_STORED:
            self._failed += 1
            what = "failed, not stored"
        else:
            self._unknown += 1
            what = "outcome unknown (may be stored)"
        bad = self._failed + self._unknown
        if bad == 1 or self._should_warn("delivery"):
            self.log(
                LogLevel.ERROR,
                f"delivery {what}: {self._failed} failed, {self._unknown} unknown so far",
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
            unknown=self._unknown,
            faulty=self._faulty,
            in_flight=in_flight + len(self._resend),
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
            unknown=self._unknown,
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
        next_batch = generator.next_batch
        while not self.stop_requested and self._fatal is None:
            self._emit_stats_when_due(producer)
            if self._topic_missing:
                self._restore_topic(producer, topic)
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
            orders = next_batch(batch)
            keys = iter(orders.keys)
            try:
                # Every produce call made from C: no Python statement per order. Positional
                # arguments (partition, callbacks and timestamp at their defaults), as
                # keyword arguments cost a dictionary per call.
                consume(
                    map(
                        produce,
                        repeat(topic),
                        orders.values(),
                        keys,
                        repeat(_ANY_PARTITION),
                        repeat(None),
                        repeat(None),
                        repeat(0),
                        orders.headers(),
                    )
                )
                sent = batch
            except BufferError:
                # The local queue is full: this message and the rest of the batch go one
                # by one, each when there is room.
                sent = self._produce_rest(producer, topic, orders, batch - length_hint(keys) - 1)
            # Delivery reports served once a batch, not after every produce: each poll costs
            # about as much as generating an order, and the reports wait in the client.
            poll(0)
            self._generated += sent
            if orders.faults:
                self._faulty += sum(1 for at in orders.faults if at < sent)

    def _produce_rest(self, producer: Producer, topic: str, orders: OrderBatch, start: int) -> int:
        """Send `orders` from position `start` on, waiting for room for each; returns the
        position of the first one not sent (`len(orders)` when all were)."""
        for at in range(start, len(orders)):
            key, value, headers = orders.message(at)
            try:
                producer.produce(topic, value, key, headers=headers)
            except BufferError:
                if not self._produce_when_room(producer, topic, key, value, headers):
                    return at
        return len(orders)

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

    def _restore_topic(self, producer: Producer, topic: str) -> None:
        """Create the topic again (or wait for it), then send again what its absence refused."""
        now = time.monotonic()
        if now < self._next_topic_check:
            return
        self._next_topic_check = now + _TOPIC_CHECK_EVERY
        s = self.settings
        try:
            created = ensure_topics(s.kafka, [topic], s.topics)
        except (BrokerUnavailable, KafkaException) as exc:
            self.log(
                LogLevel.WARNING,
                f"topic {topic} is missing and cannot be created yet; waiting for it "
                f"({len(self._resend)} events held)",
                error=str(exc),
            )
            return
        if created:
            self.log(LogLevel.WARNING, f"topic {topic} was missing on the broker: created it again")
        self._topic_missing = False
        held, self._resend = self._resend, []
        if held:
            self.log(LogLevel.INFO, f"sending again {len(held)} events the missing topic refused")
        for i, (key, value, headers) in enumerate(held):
            try:
                producer.produce(topic, value, key, headers=headers)
            except BufferError:
                if not self._produce_when_room(producer, topic, key, value, headers):
                    self._resend = held[i:] + self._resend
                    return
        producer.poll(0)

    def _flush(self, producer: Producer) -> int:
        if self._resend:
            # Still held for a topic that never came back: nothing of them was stored.
            self.log(LogLevel.WARNING, f"{len(self._resend)} events never sent: topic missing")
            self._failed += len(self._resend)
            self._resend = []
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
