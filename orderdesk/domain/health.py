"""Health of a pipeline, judged from its numbers: pure, so that every view agrees.

The thresholds of the domain contract are the defaults (`HealthThresholds`). On top of the
single-value classifiers (`success_health`, `throughput_health`, `error_health`), a
`HealthMonitor` keeps a short history of samples and judges the pipeline as a whole
(`PipelineHealth`), so that the badges never contradict the counters beside them:

- nothing is judged while the tracker is idle, stopped or failed: every badge is "no data";
- the success rate is taken over a window (`window` seconds) and only once at least
  `min_orders` orders were handled in it, so one bad order of two does not read "poor";
- failures that a deliberate faulty ratio explains are shown as expected, not critical;
- lag has a badge of its own, and rising lag is never "normal" throughput.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Health(StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    POOR = "poor"
    NORMAL = "normal"
    LOW = "low"
    STALLED = "stalled"
    CRITICAL = "critical"
    WARNING = "warning"
    OK = "ok"
    #: Nothing to judge: the tracker is idle, stopped or failed, or too few orders so far.
    NO_DATA = "no data"
    #: Failures there are, but the deliberate faulty ratio explains them.
    EXPECTED = "as expected"
    #: Throughput that does not keep up: the lag is rising.
    BEHIND = "behind"
    #: Lag: small and not rising; falling from a high value; rising.
    CAUGHT_UP = "caught up"
    DRAINING = "draining"
    RISING = "rising"


class Tone(StrEnum):
    """How a view colours a level: grey, green, blue (expected), amber, red."""

    IDLE = "idle"
    GOOD = "good"
    INFO = "info"
    WARN = "warn"
    BAD = "bad"


TONES: dict[Health, Tone] = {
    Health.EXCELLENT: Tone.GOOD,
    Health.NORMAL: Tone.GOOD,
    Health.OK: Tone.GOOD,
    Health.CAUGHT_UP: Tone.GOOD,
    Health.EXPECTED: Tone.INFO,
    Health.GOOD: Tone.WARN,
    Health.LOW: Tone.WARN,
    Health.WARNING: Tone.WARN,
    Health.DRAINING: Tone.WARN,
    Health.BEHIND: Tone.WARN,
    Health.POOR: Tone.BAD,
    Health.STALLED: Tone.BAD,
    Health.CRITICAL: Tone.BAD,
    Health.RISING: Tone.BAD,
    Health.NO_DATA: Tone.IDLE,
}


@dataclass(frozen=True)
class HealthThresholds:
    """When a number turns amber or red. The first six are the domain contract's."""

    success_excellent: float = 95.0
    success_good: float = 80.0
    throughput_normal: float = 0.3
    throughput_low: float = 0.1
    error_critical: timedelta = timedelta(minutes=1)
    error_warning: timedelta = timedelta(minutes=5)
    #: Seconds of history the success rate and the lag trend are taken over.
    window: float = 60.0
    #: Fewest orders handled within the window before a success rate is judged.
    min_orders: int = 20
    #: Lag at or under this many messages counts as caught up.
    lag_caught_up: int = 1_000
    #: Lag rising by more than this share of its window-start value (and by more than
    #: `lag_caught_up`) over the window is "rising".
    lag_rise_share: float = 0.10


DEFAULT_THRESHOLDS = HealthThresholds()


def success_health(success_rate_percent: float, t: HealthThresholds = DEFAULT_THRESHOLDS) -> Health:
    if success_rate_percent >= t.success_excellent:
        return Health.EXCELLENT
    if success_rate_percent >= t.success_good:
        return Health.GOOD
    return Health.POOR


def throughput_health(
    messages_per_second: float, t: HealthThresholds = DEFAULT_THRESHOLDS
) -> Health:
    if messages_per_second >= t.throughput_normal:
        return Health.NORMAL
    if messages_per_second >= t.throughput_low:
        return Health.LOW
    return Health.STALLED


def error_health(
    last_error_at: datetime | None, now: datetime, t: HealthThresholds = DEFAULT_THRESHOLDS
) -> Health:
    if last_error_at is None:
        return Health.OK
    age = now - last_error_at
    if age <= t.error_critical:
        return Health.CRITICAL
    if age <= t.error_warning:
        return Health.WARNING
    return Health.OK


class PipelineState(StrEnum):
    """The tracker's state, as far as health is concerned."""

    IDLE = "idle"
    RUNNING = "running"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True)
class HealthSample:
    """The tracker's (and, when known, this app's producer's) counters at one moment.

    `time` is a monotonic clock in seconds; the counters are totals that only grow
    (a new run of a service counts on from the previous totals, see `HealthMonitor`).
    """

    time: float
    valid: int = 0
    dead_lettered: int = 0
    #: Messages per second received by the tracker, over its last few seconds.
    rate: float = 0.0
    lag: int | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    #: Orders the producer made bad on purpose so far (its faulty ratio at work).
    deliberately_bad: int = 0


@dataclass(frozen=True)
class Verdict:
    """One badge: its level, how to colour it, and the sentence behind it."""

    level: Health
    detail: str

    @property
    def tone(self) -> Tone:
        return TONES[self.level]

    @property
    def judged(self) -> bool:
        return self.level is not Health.NO_DATA


@dataclass(frozen=True)
class PipelineHealth:
    success: Verdict
    throughput: Verdict
    lag: Verdict
    errors: Verdict
    #: Orders handled within the window, and the success rate over them (None: no orders).
    window_orders: int = 0
    window_success: float | None = None

    def verdicts(self) -> dict[str, Verdict]:
        return {
            "success": self.success,
            "throughput": self.throughput,
            "lag": self.lag,
            "errors": self.errors,
        }


def _no_data(detail: str) -> PipelineHealth:
    idle = Verdict(Health.NO_DATA, detail)
    return PipelineHealth(idle, idle, idle, idle)


class HealthMonitor:
    """Keeps the samples of the last window and judges the pipeline from them.

    Feed it one `HealthSample` per tick (`observe`), ask it at any time (`assess`).
    """

    def __init__(self, thresholds: HealthThresholds = DEFAULT_THRESHOLDS) -> None:
        self.thresholds = thresholds
        self._samples: deque[HealthSample] = deque()

    def observe(self, sample: HealthSample) -> None:
        """Add a sample; samples older than the window (but the one at its start) go."""
        samples = self._samples
        if samples and sample.time < samples[-1].time:
            samples.clear()  # another clock: start over
        samples.append(sample)
        horizon = sample.time - self.thresholds.window
        while len(samples) > 2 and samples[1].time <= horizon:
            samples.popleft()

    def clear(self) -> None:
        self._samples.clear()

    def assess(
        self,
        state: PipelineState,
        now: datetime,
        faulty_ratio: float = 0.0,
        reason: str = "",
    ) -> PipelineHealth:
        """The pipeline's health at wall-clock time `now`.

        `faulty_ratio` is the share of orders this app's producer makes bad on purpose
        (0 when it does not produce); `reason` says why the tracker failed, if it did.
        """
        if state is not PipelineState.RUNNING or not self._samples:
            what = {
                PipelineState.IDLE: "the tracker has not run yet",
                PipelineState.STOPPED: "the tracker is stopped",
                PipelineState.FAILED: "the tracker failed" + (f": {reason}" if reason else ""),
                PipelineState.RUNNING: "no numbers from the tracker yet",
            }[state]
            return _no_data(what)
        first, last = self._samples[0], self._samples[-1]
        span = max(0.0, last.time - first.time)
        valid = last.valid - first.valid
        dead = last.dead_lettered - first.dead_lettered
        handled = valid + dead
        bad_on_purpose = max(0, last.deliberately_bad - first.deliberately_bad)
        expected = _expected_failures(handled, faulty_ratio, bad_on_purpose)
        unexpected = max(0, dead - expected - _slack(handled, faulty_ratio))
        window_success = 100.0 * valid / handled if handled else None
        success = self._success(valid, dead, expected, unexpected, span)
        lag = self._lag(first, last, span)
        throughput = self._throughput(last.rate, lag)
        errors = self._errors(last, now, dead, unexpected, faulty_ratio)
        return PipelineHealth(success, throughput, lag, errors, handled, window_success)

    def _success(
        self, valid: int, dead: int, expected: float, unexpected: float, span: float
    ) -> Verdict:
        t = self.thresholds
        handled = valid + dead
        over = f"the last {_seconds(span)}"
        if handled < t.min_orders:
            return Verdict(
                Health.NO_DATA,
                f"{handled} of the {t.min_orders} orders needed for a success rate in {over}",
            )
        raw = 100.0 * valid / handled
        text = f"{raw:.1f} % valid: {valid:,} of {handled:,} orders in {over}"
        level = success_health(raw, t)
        if level is Health.EXCELLENT or expected <= 0:
            return Verdict(level, text)
        # The deliberately bad orders set aside, is the rest as good as it should be?
        fair = 100.0 * valid / max(1.0, handled - expected)
        if unexpected <= 0 or success_health(fair, t) is Health.EXCELLENT:
            return Verdict(
                Health.EXPECTED, f"{text}; about {expected:.0f} were made bad on purpose"
            )
        return Verdict(success_health(fair, t), f"{text}; {unexpected:.0f} failed unexpectedly")

    def _lag(self, first: HealthSample, last: HealthSample, span: float) -> Verdict:
        t = self.thresholds
        if last.lag is None:
            return Verdict(Health.NO_DATA, "the tracker has not measured its lag yet")
        lag = last.lag
        start = first.lag if first.lag is not None else lag
        rise = lag - start
        text = f"{lag:,} messages not yet consumed"
        if rise > t.lag_caught_up and rise > t.lag_rise_share * max(start, 1):
            return Verdict(Health.RISING, f"{text}, up {rise:,} in the last {_seconds(span)}")
        if lag <= t.lag_caught_up:
            return Verdict(Health.CAUGHT_UP, text)
        if rise < 0:
            return Verdict(Health.DRAINING, f"{text}, down {-rise:,} in {_seconds(span)}")
        return Verdict(Health.BEHIND, f"{text}, not falling")

    def _throughput(self, rate: float, lag: Verdict) -> Verdict:
        text = f"{rate:.2f} messages/s received"
        if lag.level is Health.RISING:
            return Verdict(Health.BEHIND, f"{text}: not keeping up, the lag is rising")
        return Verdict(throughput_health(rate, self.thresholds), text)

    def _errors(
        self, last: HealthSample, now: datetime, dead: int, unexpected: float, ratio: float
    ) -> Verdict:
        level = error_health(last.last_error_at, now, self.thresholds)
        if last.last_error_at is None:
            return Verdict(level, "no error so far")
        age = max(0.0, (now - last.last_error_at).total_seconds())
        text = f"last error {_seconds(age)} ago: {last.last_error or 'unknown'}"
        if level is not Health.OK and ratio > 0 and unexpected <= 0 and dead > 0:
            return Verdict(
                Health.EXPECTED, f"{text} (the {ratio:.0%} of orders made bad on purpose)"
            )
        return Verdict(level, text)


def _expected_failures(handled: int, ratio: float, bad_on_purpose: int) -> float:
    """How many of `handled` orders were bad on purpose: counted when the producer says,
    else estimated from the ratio."""
    if ratio <= 0:
        return 0.0
    if bad_on_purpose:
        return float(min(bad_on_purpose, handled))
    return ratio * handled


def _slack(handled: int, ratio: float) -> float:
    """Chance alone puts more bad orders in a window than the ratio says: about three
    standard deviations of the binomial count, and at least one order."""
    if ratio <= 0:
        return 0.0
    return max(1.0, 3.0 * math.sqrt(handled * ratio * (1 - ratio)))


def _seconds(value: float) -> str:
    if value < 90:
        return f"{value:.0f} s"
    return f"{value / 60:.0f} min"
