"""Headless OrderDesk services in processes of their own, as a user runs them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[2]


class Headless:
    """`python -m orderdesk ARGS` in a child process, started at once.

    Both of its streams are read as they come, each by a thread of its own (a pipe left
    unread would fill and block the child): `stderr` is the list of its lines so far,
    `stdout` the whole text once it has ended, `output` both.
    """

    def __init__(self, args: Sequence[str]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
        self.args = list(args)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "orderdesk", *self.args],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr: list[str] = []
        self.stdout = ""
        self._stdout: list[str] = []
        self._readers = [
            threading.Thread(target=_read, args=(stream, lines), daemon=True)
            for stream, lines in ((self.proc.stdout, self._stdout), (self.proc.stderr, self.stderr))
        ]
        for reader in self._readers:
            reader.start()

    def find(self, pattern: str) -> re.Match[str] | None:
        for line in list(self.stderr):
            match = re.search(pattern, line)
            if match:
                return match
        return None

    @property
    def output(self) -> str:
        """What it printed: stdout, then stderr (complete once it has ended)."""
        return "".join(self._stdout) + "".join(self.stderr)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM (a graceful stop), then wait; kills it when it does not end in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        return self._ended()

    def kill(self) -> int:
        """SIGKILL: no chance to flush, commit or close, as a crash."""
        if self.proc.poll() is None:
            self.proc.kill()
        return self._ended()

    def _ended(self) -> int:
        code = self.proc.wait()
        for reader in self._readers:
            reader.join(5)
        self.stdout = "".join(self._stdout)
        return code

    def __enter__(self) -> Headless:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _read(stream: IO[str] | None, lines: list[str]) -> None:
    assert stream is not None
    for line in stream:
        lines.append(line)


def tracker_args(bootstrap: str, topic: str, dlq: str, group: str, log_dir: Path) -> list[str]:
    return [
        "--tracker",
        "--bootstrap-servers",
        bootstrap,
        "--topic",
        topic,
        "--dlq-topic",
        dlq,
        "--group",
        group,
        "--log-dir",
        str(log_dir),
    ]
