"""CPU time of a headless producer start-up, `python -m orderdesk --producer --count 1`,
against the interpreter's own start-up (`python -c pass`) in the same run.

The CPU time is the child's user + system time (`os.wait4`), which counts every thread
(the Kafka client's too) and is far less sensitive to a busy machine than wall time. The
import of the settings package alone is measured for reference: it is most of what the
producer loads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from harness import Figure, Plan, alternate, median, say, tag

from orderdesk.config import Settings


def child_cpu(command: list[str], env: dict[str, str]) -> float:
    """User + system CPU seconds of one run of `command` (which must succeed)."""
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{command[:4]} exited {proc.returncode}: {err[-2000:]!r}")
    return usage.ru_utime + usage.ru_stime


def figures(settings: Settings, plan: Plan) -> list[Figure]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    name = tag()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as log_dir:
        producer = [
            sys.executable,
            "-m",
            "orderdesk",
            "--producer",
            "--count",
            "1",
            "--bootstrap-servers",
            settings.kafka.bootstrap_servers,
            "--topic",
            f"bench-startup-{name}",
            "--log-dir",
            log_dir,
        ]
        child_cpu(producer, env)  # warm-up: creates the topic, fills the page cache
        runs = alternate(
            plan.startup_rounds,
            {
                "producer": lambda: child_cpu(producer, env),
                "interpreter": lambda: child_cpu([sys.executable, "-c", "pass"], env),
                "settings": lambda: child_cpu(
                    [sys.executable, "-c", "import orderdesk.config"], env
                ),
            },
            lambda _, r: (
                f"start-up CPU: producer --count 1 {r['producer'][-1]:.3f} s, "
                f"python -c pass {r['interpreter'][-1]:.3f} s, "
                f"import orderdesk.config {r['settings'][-1]:.3f} s"
            ),
        )
    value, base = median(runs["producer"]), median(runs["interpreter"])
    details = {k: [round(x, 3) for x in v] for k, v in runs.items()}
    details["settings_import_median_s"] = round(median(runs["settings"]), 3)
    say(f"  start-up: {details}")
    return [
        Figure(
            "headless producer start-up CPU (--count 1)",
            value,
            base,
            "s",
            value / base,
            "<= 0.35 s",
            value <= 0.35,
            details,
        )
    ]
