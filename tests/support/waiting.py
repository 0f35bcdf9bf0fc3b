"""Waiting for a condition instead of sleeping a fixed time, and names no other test uses."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

#: Generous: a shared, loaded machine makes a real broker slow at times.
TIMEOUT = 60.0


def wait_until(condition: Callable[[], object], timeout: float = TIMEOUT, what: str = "") -> None:
    """Poll `condition` every 50 ms until it is true; fails the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what or condition}")
        time.sleep(0.05)


def unique_name(prefix: str) -> str:
    """`prefix-1a2b3c4d`: a topic or group name of this test alone."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
