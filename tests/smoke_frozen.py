"""Smoke test of the one-file executable, for CI after `pyinstaller build.spec`.

    python tests/smoke_frozen.py [dist/orderdesk]

Checks, each with a bounded wait: `--version` prints the package version; the whole
headless pipeline on the embedded broker, and on the mock cluster forced (the Windows
fallback), handles every order and exits 0; `dlq --help`
works; the desktop app starts (offscreen) and is still running after a few seconds, with
no Python traceback. Exits non-zero on the first failure.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COUNT = 500
#: orderdesk.kafka.embedded.BACKEND_ENV: forces the embedded broker's backend.
BACKEND = "ORDERDESK_EMBEDDED_BACKEND"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.update(extra)
    return env


def _run(args: list[str], timeout: float, **env: str) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    proc = subprocess.run(args, capture_output=True, text=True, env=_env(**env), timeout=timeout)
    forced = "".join(f"{k}={v} " for k, v in env.items())
    print(
        f"  {forced}{' '.join(args[1:]) or args[0]}: exit {proc.returncode}, "
        f"{time.monotonic() - started:.1f} s"
    )
    return proc


def check(condition: bool, what: str, detail: str = "") -> None:
    if not condition:
        print(f"FAIL: {what}\n{detail[-4000:]}")
        sys.exit(1)
    print(f"ok: {what}")


def main() -> int:
    exe = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist" / "orderdesk"
    if sys.platform == "win32" and exe.suffix != ".exe":
        exe = exe.with_suffix(".exe")
    check(exe.is_file(), f"{exe} exists")
    print(f"  size: {exe.stat().st_size / 1e6:.1f} MB")

    sys.path.insert(0, str(ROOT))
    from orderdesk import __version__

    proc = _run([str(exe), "--version"], 120)
    check(
        proc.returncode == 0 and __version__ in proc.stdout,
        f"--version says {__version__}",
        proc.stdout + proc.stderr,
    )

    # The default embedded broker (Tansu, or the mock cluster where there is none), then
    # the mock cluster forced, as Windows gets it.
    for what, env in (("embedded broker", {}), ("mock cluster", {BACKEND: "mock"})):
        with tempfile.TemporaryDirectory() as logs:
            proc = _run(
                [
                    str(exe),
                    "--producer",
                    "--tracker",
                    "--embedded",
                    "--count",
                    str(COUNT),
                    "--rate",
                    "0",
                    "--log-dir",
                    logs,
                ],
                300,
                **env,
            )
        out = proc.stdout + proc.stderr
        check(proc.returncode == 0, f"headless pipeline on the {what} exits 0", out)
        check(
            f"acknowledged={COUNT}" in proc.stdout,
            f"producer had {COUNT} orders acknowledged ({what})",
            out,
        )
        check(
            re.search(rf"\breceived[=:]{COUNT}\b", proc.stdout) is not None,
            f"tracker handled {COUNT} orders ({what})",
            out,
        )

    proc = _run([str(exe), "dlq", "--help"], 120)
    check(proc.returncode == 0 and "usage" in proc.stdout.lower(), "dlq --help", proc.stderr)

    # The desktop app: alive after a few seconds means the window came up without a crash.
    gui = subprocess.Popen(
        [str(exe), "--embedded"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and gui.poll() is None:
        time.sleep(0.2)
    alive = gui.poll() is None
    gui.terminate()
    try:
        output, _ = gui.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        gui.kill()
        output, _ = gui.communicate()
    check(alive, "desktop app starts offscreen and keeps running", output)
    check("Traceback" not in output, "desktop app printed no traceback", output)
    print("frozen executable smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
