"""Headless OrderDesk services in processes of their own, for the monitor's tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class Headless:
    """`python -m orderdesk ARGS` in a child process; its stderr is collected as it comes."""

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
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    def find(self, pattern: str) -> re.Match[str] | None:
        for line in list(self.stderr):
            match = re.search(pattern, line)
            if match:
                return match
        return None

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM (a graceful stop), then wait; kills it when it does not end in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.stdout, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.stdout, _ = self.proc.communicate()
        self._reader.join(5)
        return self.proc.returncode

    def __enter__(self) -> Headless:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


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
