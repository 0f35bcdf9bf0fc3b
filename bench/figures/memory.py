"""Peak RSS of `python -m orderdesk --producer --tracker --rate 0` against the RSS it
reached in its first seconds, and the second half of the run against the first (a leak
keeps growing, bounded client queues do not).

The baseline is the highest RSS of the first `memory_baseline_at` seconds, not one sample
at that time: while the producer outruns the tracker, the client queues fill and drain
and the RSS swings by 20-30 MiB within seconds, so a single sample measures where in
that swing it fell (115 or 135 MiB in two runs of the same code), not growth."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

from harness import Figure, Plan, say, tag

from orderdesk.config import Settings


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def figures(settings: Settings, plan: Plan) -> list[Figure]:
    name = tag()
    with tempfile.TemporaryDirectory(prefix="bench-rss-") as log_dir:
        command = [
            sys.executable,
            "-m",
            "orderdesk",
            "--producer",
            "--tracker",
            "--rate",
            "0",
            "--bootstrap-servers",
            settings.kafka.bootstrap_servers,
            "--topic",
            f"bench-rss-{name}",
            "--dlq-topic",
            f"bench-rss-{name}-dlq",
            "--group",
            f"bench-rss-{name}",
            "--log-dir",
            log_dir,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
        proc = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        samples: list[tuple[float, int]] = []
        started = time.monotonic()
        try:
            while (elapsed := time.monotonic() - started) < plan.memory_seconds:
                if proc.poll() is not None:
                    raise RuntimeError(f"orderdesk exited early: {proc.communicate()[1][-2000:]}")
                kib = rss_kib(proc.pid)
                if kib is not None:
                    samples.append((elapsed, kib))
                time.sleep(0.25)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                out, _ = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
    if proc.returncode not in (0, -signal.SIGINT):
        # A run that failed (the broker went away, say) idles at a flat RSS: no figure.
        raise RuntimeError(f"orderdesk exited {proc.returncode}: {out[-2000:]}")
    at_baseline = next(k for t, k in samples if t >= plan.memory_baseline_at)
    baseline = max(k for t, k in samples if t <= plan.memory_baseline_at)
    peak = max(k for _, k in samples)
    at_end = samples[-1][1]
    summary = dict(
        part.split("=", 1) for line in out.splitlines() for part in line.split() if "=" in part
    )
    details = {
        "seconds": plan.memory_seconds,
        "baseline_at_s": plan.memory_baseline_at,
        "baseline_mib": round(baseline / 1024, 1),
        "sample_at_baseline_time_mib": round(at_baseline / 1024, 1),
        "peak_mib": round(peak / 1024, 1),
        "end_mib": round(at_end / 1024, 1),
        "first_sample_mib": round(samples[0][1] / 1024, 1),
        "samples_mib_every_10s": [round(k / 1024, 1) for t, k in samples[::40]],
        "exit_status": proc.returncode,
        "received": summary.get("received"),
        "acknowledged": summary.get("acknowledged"),
    }
    # Bounded client queues fill while the tracker falls behind the producer; a leak would
    # keep growing after that, so the two halves of the run are compared too.
    half = plan.memory_seconds / 2
    first_half = max(k for t, k in samples if t < half)
    second_half = max(k for t, k in samples if t >= half)
    details["first_half_peak_mib"] = round(first_half / 1024, 1)
    details["second_half_peak_mib"] = round(second_half / 1024, 1)
    say(f"  memory: {details}")
    growth = peak / baseline
    return [
        Figure(
            f"peak RSS over {plan.memory_seconds:g} s flat out (baseline: first "
            f"{plan.memory_baseline_at:g} s)",
            peak / 1024,
            baseline / 1024,
            "MiB",
            growth,
            "< 1.10",
            growth < 1.10,
            details,
        ),
        Figure(
            "peak RSS, second half vs first half",
            second_half / 1024,
            first_half / 1024,
            "MiB",
            second_half / first_half,
            "info",
            None,
        ),
    ]
