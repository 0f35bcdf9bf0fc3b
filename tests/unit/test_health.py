"""The health model: badges that agree with the numbers beside them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orderdesk.domain.health import (
    Health,
    HealthMonitor,
    HealthSample,
    HealthThresholds,
    PipelineState,
    Tone,
    error_health,
    success_health,
    throughput_health,
)

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def run(
    seconds: int,
    rate: float,
    bad_every: int = 0,
    lag=lambda s: 0,
    error_text: str = "VALIDATION_ERROR: total",
    monitor: HealthMonitor | None = None,
    bad_on_purpose: bool = False,
) -> HealthMonitor:
    """A tracker handling `rate` orders a second, one in `bad_every` dead-lettered."""
    monitor = monitor or HealthMonitor()
    valid = dead = 0
    last_error_at = None
    handled = 0.0
    for s in range(seconds + 1):
        while handled < s * rate:
            handled += 1
            if bad_every and int(handled) % bad_every == 0:
                dead += 1
                last_error_at = NOW - timedelta(seconds=seconds - s)
            else:
                valid += 1
        monitor.observe(
            HealthSample(
                time=float(s),
                valid=valid,
                dead_lettered=dead,
                rate=rate,
                lag=lag(s),
                last_error=error_text if dead else None,
                last_error_at=last_error_at,
                deliberately_bad=dead if bad_on_purpose else 0,
            )
        )
    return monitor


def test_the_contract_thresholds_stay_the_defaults() -> None:
    assert success_health(95) is Health.EXCELLENT and success_health(94.9) is Health.GOOD
    assert success_health(80) is Health.GOOD and success_health(79.9) is Health.POOR
    assert throughput_health(0.3) is Health.NORMAL and throughput_health(0.1) is Health.LOW
    assert throughput_health(0.09) is Health.STALLED
    assert error_health(NOW - timedelta(seconds=59), NOW) is Health.CRITICAL
    assert error_health(NOW - timedelta(minutes=4), NOW) is Health.WARNING
    assert error_health(NOW - timedelta(minutes=6), NOW) is Health.OK
    assert error_health(None, NOW) is Health.OK


def test_idle_stopped_or_failed_is_no_data_everywhere() -> None:
    monitor = run(120, rate=10)
    for state in (PipelineState.IDLE, PipelineState.STOPPED, PipelineState.FAILED):
        health = monitor.assess(state, NOW, reason="broker gone")
        assert {v.level for v in health.verdicts().values()} == {Health.NO_DATA}
        assert {v.tone for v in health.verdicts().values()} == {Tone.IDLE}
    failed = monitor.assess(PipelineState.FAILED, NOW, reason="broker gone")
    assert "broker gone" in failed.success.detail


def test_one_bad_order_at_a_slow_pace_is_not_poor() -> None:
    # 0.5 orders/s: two orders, one bad, is too few to judge.
    monitor = run(3, rate=0.5, bad_every=2)
    health = monitor.assess(PipelineState.RUNNING, NOW)
    assert health.success.level is Health.NO_DATA
    assert "of the 20 orders" in health.success.detail
    # A minute later: one bad order among 30 is 96.7 % valid, excellent.
    monitor = run(60, rate=0.5, bad_every=30)
    health = monitor.assess(PipelineState.RUNNING, NOW)
    assert health.window_orders >= 20
    assert health.success.level is Health.EXCELLENT
    assert health.window_success is not None and health.window_success > 95


def test_the_demo_faulty_ratio_is_expected_not_critical() -> None:
    monitor = run(120, rate=2, bad_every=20, bad_on_purpose=True)
    health = monitor.assess(PipelineState.RUNNING, NOW, faulty_ratio=0.05)
    assert health.errors.level is Health.EXPECTED
    assert health.errors.tone is Tone.INFO
    assert "on purpose" in health.errors.detail
    assert health.success.level in (Health.EXCELLENT, Health.EXPECTED)
    # Estimated from the ratio alone when the producer is not ours to count.
    monitor = run(120, rate=2, bad_every=20)
    assert monitor.assess(PipelineState.RUNNING, NOW, faulty_ratio=0.05).errors.level is (
        Health.EXPECTED
    )


def test_failures_beyond_the_faulty_ratio_are_critical() -> None:
    monitor = run(120, rate=2, bad_every=4)  # 25 % bad, 5 % on purpose
    health = monitor.assess(PipelineState.RUNNING, NOW, faulty_ratio=0.05)
    assert health.errors.level is Health.CRITICAL
    assert health.success.level is Health.POOR
    assert "unexpectedly" in health.success.detail
    # Without a faulty ratio, any recent error is critical, as the contract says.
    health = run(120, rate=2, bad_every=20).assess(PipelineState.RUNNING, NOW)
    assert health.errors.level is Health.CRITICAL
    assert health.success.level is Health.EXCELLENT  # 95 % valid


def test_the_window_forgets_old_failures() -> None:
    monitor = run(60, rate=2, bad_every=2)  # a bad minute
    valid = 60
    for s in range(61, 200):  # then only good orders
        valid += 2
        monitor.observe(HealthSample(time=float(s), valid=valid, dead_lettered=60, rate=2))
    health = monitor.assess(PipelineState.RUNNING, NOW)
    assert health.success.level is Health.EXCELLENT
    assert health.window_success == 100.0


def test_rising_lag_is_not_normal_throughput() -> None:
    monitor = run(60, rate=5, lag=lambda s: 100_000 + 1_000 * s)  # 160k and rising
    health = monitor.assess(PipelineState.RUNNING, NOW)
    assert health.lag.level is Health.RISING and health.lag.tone is Tone.BAD
    assert "160,000" in health.lag.detail
    assert health.throughput.level is Health.BEHIND
    steady = run(60, rate=5, lag=lambda s: 40).assess(PipelineState.RUNNING, NOW)
    assert steady.lag.level is Health.CAUGHT_UP
    assert steady.throughput.level is Health.NORMAL
    draining = run(60, rate=5, lag=lambda s: 50_000 - 500 * s).assess(PipelineState.RUNNING, NOW)
    assert draining.lag.level is Health.DRAINING
    unknown = run(60, rate=5, lag=lambda s: None).assess(PipelineState.RUNNING, NOW)
    assert unknown.lag.level is Health.NO_DATA


def test_thresholds_are_configurable() -> None:
    strict = HealthThresholds(min_orders=5, window=10)
    monitor = run(10, rate=1, bad_every=3, monitor=HealthMonitor(strict))
    health = monitor.assess(PipelineState.RUNNING, NOW)
    assert health.window_orders == 10
    assert health.success.level is Health.POOR
