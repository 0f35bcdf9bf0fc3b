"""Cold start time of the desktop app: from launch until its main window is viewable on X.

Runs the one-file executable (default `dist/orderdesk`) or `python -m orderdesk` under a
private Xvfb display, polls the X server for a viewable top-level window titled "OrderDesk",
then stops the app. Every launch of a one-file executable unpacks it again, so each run
includes that cost; `--drop-caches` (root only) also empties the page cache first.

    python bench/startup.py [--runs 5] [--command "dist/orderdesk"] [-- extra app args]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TITLE = "OrderDesk"


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    for number in range(90, 120):
        if Path(f"/tmp/.X11-unix/X{number}").exists():
            continue
        display = f":{number}"
        proc = subprocess.Popen(
            ["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if _xwininfo(display, ["-root"]) is not None:
                return proc, display
            time.sleep(0.05)
        proc.kill()
    raise RuntimeError("could not start Xvfb")


def _xwininfo(display: str, args: list[str]) -> str | None:
    result = subprocess.run(
        ["xwininfo", "-display", display, *args], capture_output=True, text=True, check=False
    )
    return result.stdout if result.returncode == 0 else None


def window_viewable(display: str) -> bool:
    tree = _xwininfo(display, ["-root", "-tree"]) or ""
    for match in re.finditer(r"^\s+(0x[0-9a-f]+) \"([^\"]*)\"", tree, re.MULTILINE):
        if match.group(2).startswith(TITLE):
            info = _xwininfo(display, ["-id", match.group(1)]) or ""
            if "IsViewable" in info:
                return True
    return False


def one_run(command: list[str], display: str, timeout: float, drop_caches: bool) -> float:
    if drop_caches:
        subprocess.run(["sync"], check=False)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    start = time.perf_counter()
    proc = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while time.perf_counter() - start < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {proc.returncode} before a window")
            if window_viewable(display):
                return time.perf_counter() - start
            time.sleep(0.02)
        raise RuntimeError(f"no window within {timeout:g} s")
    finally:
        with_group = os.getpgid(proc.pid) if proc.poll() is None else None
        if with_group is not None:
            os.killpg(with_group, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--command", help="what to launch (default: dist/orderdesk if built)")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--drop-caches", action="store_true", help="empty the page cache first")
    parser.add_argument("app_args", nargs="*", help="arguments for the app, after --")
    args = parser.parse_args()
    if not shutil.which("Xvfb") or not shutil.which("xwininfo"):
        print("needs Xvfb and xwininfo (apt: xvfb x11-utils)", file=sys.stderr)
        return 2
    if args.command:
        command = shlex.split(args.command)
    elif (ROOT / "dist" / "orderdesk").exists():
        command = [str(ROOT / "dist" / "orderdesk")]
    else:
        command = [sys.executable, "-m", "orderdesk"]
    command += args.app_args
    xvfb, display = start_xvfb()
    try:
        times = [
            one_run(command, display, args.timeout, args.drop_caches) for _ in range(args.runs)
        ]
    finally:
        xvfb.terminate()
        xvfb.wait()
    print(f"command: {shlex.join(command)}")
    print("runs (s): " + ", ".join(f"{t:.2f}" for t in times))
    print(
        f"first {times[0]:.2f} s, median {statistics.median(times):.2f} s, max {max(times):.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
