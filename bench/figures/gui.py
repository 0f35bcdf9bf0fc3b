"""Longest GUI event-loop stall of the main window with both services flat out, against the
same window idle (each in its own process, offscreen; bench/gui_stall.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from harness import REPO, Figure, Plan, say

from orderdesk.config import Settings

BENCH = REPO / "bench"


def gui_stall(bootstrap: str, seconds: float, idle: bool) -> dict[str, Any]:
    command = [
        sys.executable,
        str(BENCH / "gui_stall.py"),
        "--bootstrap-servers",
        bootstrap,
        "--seconds",
        str(seconds),
    ]
    if idle:
        command.append("--idle")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"gui_stall.py failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def figures(settings: Settings, plan: Plan) -> list[Figure]:
    bootstrap = settings.kafka.bootstrap_servers
    idle = gui_stall(bootstrap, plan.gui_seconds, idle=True)
    busy = gui_stall(bootstrap, plan.gui_seconds, idle=False)
    say(f"  gui idle: {idle}\n  gui busy: {busy}")
    value, base = busy["max_stall_ms"], idle["max_stall_ms"]
    return [
        Figure(
            "longest GUI stall, services flat out",
            value,
            base,
            "ms",
            value / base if base else None,
            "< 50 ms",
            value < 50,
            {"busy": busy, "idle": idle},
        )
    ]
