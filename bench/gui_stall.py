"""How long does the GUI event loop stall while the producer and tracker run flat out?

Opens the main window (offscreen unless a display is set), starts both services with
`rate 0` (as fast as the client goes) on fresh topics, and records the gap between ticks
of a 10 ms QTimer for the duration. Prints the longest stall and a few percentiles, with
the throughput reached, as one JSON object.

    python bench/gui_stall.py --bootstrap-servers 127.0.0.1:9092 --seconds 20

`--idle` opens the same window without starting a service: the baseline.
Without --bootstrap-servers it starts the test suite's throwaway broker (tests/broker.py).
A benchmark, not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]


def measure(
    bootstrap: str,
    seconds: float,
    rate: float,
    visible_tab: int,
    own_tabs_only: bool = False,
    idle: bool = False,
) -> dict[str, object]:
    """Event-loop stalls over `seconds`, after 3 s of warm-up; `idle` starts no service."""
    import numpy as np
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from orderdesk.config import load_settings
    from orderdesk.gui.app import configure_interpreter
    from orderdesk.gui.main_window import MainWindow

    configure_interpreter()  # as run_gui() does
    app = QApplication.instance() or QApplication(sys.argv)
    if own_tabs_only:
        _without_optional_tabs()
    tag = uuid.uuid4().hex[:8]
    work = Path(tempfile.mkdtemp(prefix="orderdesk-stall-"))
    settings = load_settings(
        overrides={
            "kafka.bootstrap_servers": bootstrap,
            "topics.orders": f"stall-{tag}",
            "topics.dlq": f"stall-{tag}-dlq",
            "tracker.group": f"stall-{tag}",
            "producer.rate": rate,
            "producer.faulty_ratio": 0.02,
            "log_dir": str(work / "logs"),
        },
        environ={},
    )
    window = MainWindow(
        settings, None, QSettings(str(work / "gui.ini"), QSettings.Format.IniFormat)
    )
    window.resize(1100, 700)
    window.tabs.setCurrentIndex(visible_tab)
    window.show()

    gaps: list[float] = []
    last = [0.0]
    phase = {"measuring": False}

    def beat() -> None:
        now = time.perf_counter()
        if phase["measuring"]:
            gaps.append(now - last[0])
        last[0] = now

    heart = QTimer()
    heart.setTimerType(heart.timerType().PreciseTimer)
    heart.setInterval(10)
    heart.timeout.connect(beat)
    heart.start()

    def begin() -> None:
        last[0] = time.perf_counter()
        phase["measuring"] = True

    def finish() -> None:
        phase["measuring"] = False
        window.close()

    if not idle:
        QTimer.singleShot(0, window.start_all)
    # Measure once the services are up and running flat out, until the close request.
    QTimer.singleShot(3000, begin)
    QTimer.singleShot(int((3 + seconds) * 1000), finish)
    app.exec()
    heart.stop()
    p = window.producer.last_result
    t = window.tracker.last_result
    ms = np.array(gaps) * 1000 if gaps else np.zeros(1)
    return {
        "seconds": seconds,
        "idle": idle,
        "tab": window.tabs.tabText(visible_tab),
        "ticks": len(gaps),
        "max_stall_ms": round(float(ms.max()), 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "p999_ms": round(float(np.percentile(ms, 99.9)), 1),
        "gaps_over_50ms": int((ms > 50).sum()),
        "produced": getattr(p, "acknowledged", None),
        "tracked": getattr(getattr(t, "stats", None), "received", None),
        "errors": [r.last_error for r in window.runners if r.last_error],
        "produced_per_s": round(getattr(p, "acknowledged", 0) / (seconds + 3), 0) if p else None,
    }


def _without_optional_tabs() -> None:
    """Leave out the audit browser and dead-letter inbox, to tell their cost apart."""
    import sys

    for name in ("orderdesk.gui.audit.browser", "orderdesk.gui.deadletters.inbox"):
        sys.modules[name] = None  # type: ignore[assignment]  # importing it raises ImportError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", help="a running broker (default: start one)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring time")
    parser.add_argument("--rate", type=float, default=0.0, help="orders/s, 0 = flat out")
    parser.add_argument("--tab", type=int, default=0, help="tab shown: 0 dashboard, 1 audit")
    parser.add_argument(
        "--without-tabs", action="store_true", help="leave out the audit and dead-letter tabs"
    )
    parser.add_argument(
        "--idle", action="store_true", help="start no service: the baseline of the same app"
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        bootstrap = args.bootstrap_servers
        if not bootstrap:
            sys.path.insert(0, str(ROOT / "tests"))
            from broker import KafkaBroker

            bootstrap = stack.enter_context(KafkaBroker()).bootstrap
        result = measure(bootstrap, args.seconds, args.rate, args.tab, args.without_tabs, args.idle)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
