"""What every benchmark script shares: a broker to measure against."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def broker(bootstrap: str | None) -> Iterator[str]:
    """`bootstrap` when given, else a broker from the test harness for the duration."""
    if bootstrap:
        yield bootstrap
        return
    sys.path.insert(0, str(REPO / "tests"))
    from broker import KafkaBroker

    with KafkaBroker() as running:
        yield running.bootstrap
