"""Longest GUI event-loop stall of the main window with both services flat out, against the
same window idle (each in its own process, offscreen; bench/gui_stall.py).

Idle and busy runs alternate, twice each, and the medians are reported: on a shared
machine one run's longest stall is mostly the machine's. The 99th percentile of the gaps
is reported beside the longest one: it says how the dashboard feels, the longest gap
what the worst moment was.
"""

from __future__ import annotations

import json
import os
import statistics
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
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if not idle and (result["errors"] or not result["produced"] or not result["tracked"]):
        # Services that failed leave the window as idle as the baseline: no figure.
        raise RuntimeError(f"the services did not run flat out: {result}")
    return result


ROUNDS = 2


def figures(settings: Settings, plan: Plan) -> list[Figure]:
    bootstrap = settings.kafka.bootstrap_servers
    idle: list[dict[str, Any]] = []
    busy: list[dict[str, Any]] = []
    for _ in range(ROUNDS):
        idle.append(gui_stall(bootstrap, plan.gui_seconds, idle=True))
        busy.append(gui_stall(bootstrap, plan.gui_seconds, idle=False))
    say(f"  gui idle: {idle}\n  gui busy: {busy}")
    rows = []
    for name, key, target in (
        ("longest GUI stall, services flat out", "max_stall_ms", 50.0),
        ("GUI stall p99, services flat out", "p99_ms", None),
    ):
        value = statistics.median(r[key] for r in busy)
        base = statistics.median(r[key] for r in idle)
        rows.append(
            Figure(
                name,
                value,
                base,
                "ms",
                value / base if base else None,
                f"< {target:g} ms" if target is not None else "info",
                value < target if target is not None else None,
                {"busy": busy, "idle": idle},
            )
        )
    return rows
