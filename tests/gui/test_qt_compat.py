"""The guard against PySide6 builds that leak references of None and True."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

from orderdesk.gui import qt_compat


class _Emitter(QObject):
    ping = Signal()


def test_many_void_calls_and_emits_cannot_free_none_or_true() -> None:
    assert qt_compat.protect_singletons() in (True, False)
    emitter = _Emitter()
    for _ in range(50_000):  # more than None's whole count on an unguarded 3.11
        emitter.setObjectName("x")
        emitter.ping.emit()
    assert sys.getrefcount(None) > 1000
    assert sys.getrefcount(True) > 1000
