"""Open and filter an audit trail of 1,000,000 lines (quick: 200,000) in the audit
browser's index and in the real widget, against reading the file once with plain Python."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import audit_browser
import numpy as np
from harness import REPO, Figure, Plan, say

from orderdesk.audit.index import EVENT_CODES, AuditFilter, AuditIndex
from orderdesk.config import Settings

BENCH = REPO / "bench"


def figures(settings: Settings, plan: Plan) -> list[Figure]:
    lines = plan.audit_lines
    path = Path(tempfile.gettempdir()) / f"orderdesk-bench-v2-{lines}.events"
    ids_path = path.with_suffix(".ids")
    if not path.exists() or not ids_path.exists():
        say(f"  generating {lines:,} audit lines into {path} (cached for later runs)")
        ids = audit_browser.generate_audit_file(path, lines)
        ids_path.write_text("\n".join(ids))

    def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
        t0 = time.perf_counter()
        result = fn()
        return time.perf_counter() - t0, result

    def plain() -> int:
        n = 0
        with path.open("rb") as f:
            for _ in f:
                n += 1
        return n

    plain()  # the file in the page cache for both
    t_plain, n_lines = timed(plain)
    index = AuditIndex(path)
    t_index, _ = timed(index.index_all)
    t_first, _ = timed(lambda: [index.row(i) for i in range(40)])
    t_open = t_index + t_first

    # An order from the second half that was retried, then dead-lettered: four events.
    dead = np.flatnonzero(index.codes == EVENT_CODES["order.dead_lettered"])
    dead = dead[dead > index.line_count // 2]
    rows = index.rows(dead[:500].tolist())
    wanted = next((r.order_id for r in rows if "transient" in r.error), rows[0].order_id)
    filters = {
        "order id": AuditFilter(order_id=wanted),
        "event type": AuditFilter(event_types={"order.dead_lettered"}),
        "text": AuditFilter(text="Espresso Machine"),
        "text, type and time": AuditFilter(
            text="transient",
            event_types={"order.retried"},
            since=datetime(2026, 11, 25, 8, 10, tzinfo=UTC),
        ),
    }
    filter_s = {}
    for label, flt in filters.items():
        t, hits = timed(lambda flt=flt: index.matching(flt))
        filter_s[label] = (round(t, 3), len(hits))
    t_filter = max(t for t, _ in filter_s.values())
    details = {
        "lines": n_lines,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "index_s": round(t_index, 3),
        "first_rows_s": round(t_first, 4),
        "filters_s_and_hits": filter_s,
        "order_id": wanted,
    }
    say(f"  audit: plain read {t_plain:.3f} s, {details}")
    gui = audit_gui(path, wanted)
    details["widget"] = gui
    say(f"  audit widget: {gui}")
    scaled = f" ({lines:,} lines{'' if lines == 1_000_000 else ', quick'})"
    return [
        Figure(
            f"audit browser index: open{scaled}",
            t_open,
            t_plain,
            "s",
            t_open / t_plain,
            "< 2 s",
            t_open < 2.0,
            details,
        ),
        Figure(
            f"audit browser widget: open to indexed{scaled}",
            gui["open_s"],
            t_plain,
            "s",
            gui["open_s"] / t_plain,
            "< 2 s",
            gui["open_s"] < 2.0,
        ),
        Figure(
            f"audit browser widget: order id filter{scaled}",
            gui["filter_s"],
            t_plain,
            "s",
            gui["filter_s"] / t_plain,
            "< 1 s",
            gui["filter_s"] < 1.0,
        ),
        Figure(
            f"audit browser index: slowest filter{scaled}",
            t_filter,
            t_plain,
            "s",
            t_filter / t_plain,
            "< 1 s",
            t_filter < 1.0,
        ),
    ]


def audit_gui(path: Path, order_id: str) -> dict[str, float]:
    """The real widget, offscreen, in its own process: open_file until the whole file is
    indexed, then an order id filter until its rows are shown (bench/audit_browser.py)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    command = [sys.executable, str(BENCH / "run.py"), "--audit-widget", str(path), order_id]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"audit widget: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def widget_main(path: str, order_id: str) -> int:
    rows = {name: secs for name, secs, _ in audit_browser._gui_rows(Path(path), order_id)}

    def pick(start: str) -> float:
        return round(next(v for k, v in rows.items() if k.startswith(start)), 3)

    print(
        json.dumps(
            {
                "first_rows_s": pick("GUI: open_file -> first rows"),
                "open_s": pick("GUI: open_file -> whole file"),
                "filter_s": pick("GUI: order id typed"),
                "stall_indexing_s": pick("GUI: longest event-loop stall while indexing"),
                "stall_filtering_s": pick("GUI: longest event-loop stall while filtering"),
            }
        )
    )
    return 0
