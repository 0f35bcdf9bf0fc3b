"""A guard against a reference-counting bug of PySide6 6.12.0 on Python 3.11.

That build returns `None` from void methods (`QLabel.setText`, ...) and `True` from
`SignalInstance.emit()` without taking a new reference, as if they were immortal, which
they are only from Python 3.12 on. On 3.11 every such call takes one reference away from
the singleton; after some tens of thousands of calls (the dashboard makes hundreds a
second) the count reaches zero and the interpreter aborts with "Fatal Python error:
none_dealloc" (or bool_dealloc).

`protect_singletons()` measures whether the running PySide6 has the bug and, if so, does
what Python 3.12 does: it gives `None`, `True` and `False` a reference count so large that
no leak can bring it to zero. It does nothing on a PySide6 without the bug.
"""

from __future__ import annotations

import ctypes
import sys

#: Python 3.12's immortal objects sit near this count too; decrements never reach zero.
IMMORTAL_REFCNT = 1 << 60

_protected: bool | None = None


def pyside_leaks_singletons() -> bool:
    """Whether void calls and `emit()` take references away from None/True (measured)."""
    if sys.version_info >= (3, 12):
        return False  # None, True and False are immortal there
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(64):
        probe.setObjectName("probe")  # a void method: returns None
        probe.ping.emit()  # returns True
    lost_none = none_before - sys.getrefcount(None)
    lost_true = true_before - sys.getrefcount(True)
    return lost_none >= 32 or lost_true >= 32


def _make_immortal(obj: object) -> None:
    # ob_refcnt is the first field of every CPython object, at the address id() gives.
    ctypes.c_ssize_t.from_address(id(obj)).value = IMMORTAL_REFCNT


def protect_singletons() -> bool:
    """Check once for the bug and, if present, pin None/True/False; True when pinned."""
    global _protected
    if _protected is None:
        _protected = pyside_leaks_singletons()
        if _protected:
            for obj in (None, True, False):
                _make_immortal(obj)
    return _protected
