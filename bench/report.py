"""The report of a run: the machine, its load while the run lasted, and the table.

`python bench/report.py [bench/results.json]` prints a run's table as Markdown (the README's).
"""

from __future__ import annotations

import contextlib
import os
import platform
import threading
from pathlib import Path
from typing import Any

from harness import Figure


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


class LoadSampler:
    """Samples the 1-minute load average during the run, to show how busy the machine was."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="bench-load")

    def _run(self) -> None:
        while not self._stop.wait(5.0):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self.samples.append(os.getloadavg()[0])
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.samples.append(os.getloadavg()[0])


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit in ("ms", "us", "MiB"):
        return f"{value:,.1f} {unit}"
    if unit == "B":
        return f"{value:,.0f} B"
    return f"{value:.3f} {unit}"


def table(figures: list[Figure]) -> str:
    header = ("figure", "value", "baseline", "ratio", "target", "met?")
    rows = [
        (
            f.name,
            fmt(f.value, f.unit),
            fmt(f.baseline, f.unit),
            "-" if f.ratio is None else f"{f.ratio:.2f}",
            f.target,
            {True: "yes", False: "NO", None: "-"}[f.met],
        )
        for f in figures
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(figures: list[Figure]) -> str:
    """The table as Markdown, for the README."""
    lines = [
        "| figure | OrderDesk | baseline | ratio | target | met? |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        ratio = "-" if f.ratio is None else f"{f.ratio:.2f}"
        met = {True: "yes", False: "no", None: ""}[f.met]
        target = "" if f.target == "info" else f.target
        lines.append(
            f"| {f.name} | {fmt(f.value, f.unit)} | {fmt(f.baseline, f.unit)} | {ratio} "
            f"| {target} | {met} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import json
    import sys

    results = json.loads(
        Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results.json").read_text()
    )
    print(markdown([Figure(**f) for f in results["figures"]]))
