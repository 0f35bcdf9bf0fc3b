"""Ctrl+C for tests that stop the code under test the way a user in a terminal would."""

from __future__ import annotations

import os
import signal
import sys


def interrupt_self() -> None:
    """Send SIGINT to this process, from any thread.

    Not `os.kill(os.getpid(), SIGINT)` on Windows: there any signal but the console events
    ends the process at once (TerminateProcess), test runner included.
    """
    if sys.platform == "win32":
        signal.raise_signal(signal.SIGINT)
    else:
        os.kill(os.getpid(), signal.SIGINT)
