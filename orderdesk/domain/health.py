"""Health classification of the tracker, by the thresholds of the domain contract."""

from __future__ import annotations

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


def success_health(success_rate_percent: float) -> Health:
    if success_rate_percent >= 95:
        return Health.EXCELLENT
    if success_rate_percent >= 80:
        return Health.GOOD
    return Health.POOR


def throughput_health(messages_per_second: float) -> Health:
    if messages_per_second >= 0.3:
        return Health.NORMAL
    if messages_per_second >= 0.1:
        return Health.LOW
    return Health.STALLED


def error_health(last_error_at: datetime | None, now: datetime) -> Health:
    if last_error_at is None:
        return Health.OK
    age = now - last_error_at
    if age <= timedelta(minutes=1):
        return Health.CRITICAL
    if age <= timedelta(minutes=5):
        return Health.WARNING
    return Health.OK
