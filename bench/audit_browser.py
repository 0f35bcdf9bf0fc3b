"""Benchmark of the audit trail browser on a one-million-line `tracker.events`.

Generates (once, cached under the temp dir) a realistic audit trail: orders from the
producer's generator, a few deliberately faulty, some retried after transient failures,
written line by line in the tracker's own format (`orderdesk.audit.format`; the cache's
name changes with the format).
Then it times, against plain Python reading the file once:

- open: index the whole file (the browser does it off the GUI thread) and show the first rows,
- filter by one order id, by event type, by free text, and by time range.

Run: ``python bench/audit_browser.py [--lines N] [--file PATH] [--gui]``. ``--gui`` also
times the real widget (offscreen): from ``open_file`` to the first rows drawn and to the
end of indexing, then an order id filter, with the longest event-loop stall of each.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orderdesk.audit.format import encode_line, line_middle
from orderdesk.config import ProducerSettings
from orderdesk.domain import AuditEvent, parse_order
from orderdesk.domain.failures import ProcessingFailure
from orderdesk.producer.generator import OrderGenerator

TOPIC = "orders"
PARTITIONS = 3


def _line(
    when: datetime,
    event_type: str,
    partition: int,
    offset: int,
    payload: bytes,
    parsed: bool,
    error: str | None,
) -> str:
    """A line exactly as the tracker's audit writer makes it (orderdesk.audit.format)."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    middle = line_middle(AuditEvent(event_type), TOPIC, partition)
    parts, _ = encode_line(stamp, middle, offset, payload, error, parsed)
    return b"".join(parts).decode()


def generate_audit_file(path: Path, lines: int, seed: int = 7) -> list[str]:
    """Write a realistic audit trail of about `lines` lines; return the order ids written."""
    rng = random.Random(seed)
    gen = OrderGenerator(ProducerSettings(faulty_ratio=0.05, rate=0.0), seed=seed)
    when = datetime(2026, 11, 25, 8, 0, 0, tzinfo=UTC)
    offsets = [0] * PARTITIONS
    written = 0
    order_ids: list[str] = []
    with path.open("w", encoding="utf-8") as out:
        buf: list[str] = []
        while written < lines:
            event = gen.next_event()
            partition = rng.randrange(PARTITIONS)
            offset = offsets[partition]
            offsets[partition] += 1
            order_ids.append(event.order_id)
            when += timedelta(microseconds=rng.randrange(200, 1800))
            if event.fault is None:
                attempts = 1
                if rng.random() < 0.08:  # transient failures, retried with backoff
                    attempts = rng.choice((2, 2, 3, 4))
                for attempt in range(1, min(attempts, 3)):
                    err = f"PROCESSING_ERROR: transient failure (attempt {attempt}/3)"
                    buf.append(
                        _line(when, "order.retried", partition, offset, event.value, True, err)
                    )
                    when += timedelta(milliseconds=1000 * 2 ** (attempt - 1))
                if attempts <= 3:
                    buf.append(
                        _line(when, "order.validated", partition, offset, event.value, True, None)
                    )
                else:
                    err = "PROCESSING_ERROR: transient failure (attempt 3/3)"
                    buf.append(
                        _line(when, "order.rejected", partition, offset, event.value, True, err)
                    )
                    buf.append(
                        _line(
                            when,
                            "order.dead_lettered",
                            partition,
                            offset,
                            event.value,
                            True,
                            err,
                        )
                    )
            else:
                try:
                    parse_order(event.value)
                    err, ok = "UNKNOWN_ERROR: accepted", True
                except ProcessingFailure as exc:
                    err = f"{exc.reason}: {exc.message}"
                    ok = exc.reason != "DESERIALIZATION_ERROR"
                buf.append(_line(when, "order.rejected", partition, offset, event.value, ok, err))
                buf.append(
                    _line(when, "order.dead_lettered", partition, offset, event.value, ok, err)
                )
            if len(buf) >= 5000:
                written += len(buf)
                out.write("".join(buf))
                buf.clear()
        written += len(buf)
        out.write("".join(buf))
    return order_ids


def _timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--file", type=Path, default=None)
    parser.add_argument("--gui", action="store_true", help="also time the Qt widget")
    args = parser.parse_args(argv)

    path = args.file or Path(tempfile.gettempdir()) / f"orderdesk-bench-v2-{args.lines}.events"
    ids_path = path.with_suffix(".ids")
    if not path.exists() or not ids_path.exists():
        print(f"generating {args.lines:,} lines into {path} ...", flush=True)
        t, ids = _timed(lambda: generate_audit_file(path, args.lines))
        ids_path.write_text("\n".join(ids))
        print(f"  generated in {t:.1f} s", flush=True)
    ids = ids_path.read_text().split("\n")
    size = path.stat().st_size

    import numpy as np

    from orderdesk.audit.index import EVENT_CODES, AuditFilter, AuditIndex

    def baseline() -> int:
        n = 0
        with path.open("rb") as f:
            for _ in f:
                n += 1
        return n

    rows: list[tuple[str, float, str]] = []
    t_base, n_lines = _timed(baseline)
    rows.append(("plain Python: for line in file (count lines)", t_base, f"{n_lines:,} lines"))

    index = AuditIndex(path)
    t_index, _ = _timed(index.index_all)
    t_first, first = _timed(lambda: [index.row(i) for i in range(40)])
    rows.append(("open: index whole file", t_index, f"{index.line_count:,} lines"))
    rows.append(("open: parse first 40 rows", t_first, f"{first[0].event_type}"))

    # An order from the middle of the file that was retried, then dead-lettered: it has
    # four events (retried twice, rejected, dead_lettered) that the filter must all find.
    dead = np.flatnonzero(index.codes == EVENT_CODES["order.dead_lettered"])
    dead = dead[dead > index.line_count // 2]
    wanted = next(
        row.order_id for row in index.rows(dead[:500].tolist()) if "transient" in row.error
    )
    t, hits = _timed(lambda: index.matching(AuditFilter(order_id=wanted)))
    kinds = sorted({index.row(int(i)).event_type for i in hits})
    rows.append(("filter: one order id", t, f"{len(hits)} rows ({', '.join(kinds)})"))
    t, hits = _timed(lambda: index.matching(AuditFilter(event_types={"order.dead_lettered"})))
    rows.append(("filter: event type dead_lettered", t, f"{len(hits):,} rows"))
    t, hits = _timed(lambda: index.matching(AuditFilter(event_types={"order.validated"})))
    rows.append(("filter: event type validated", t, f"{len(hits):,} rows"))
    t, hits = _timed(lambda: index.matching(AuditFilter(text="Espresso Machine")))
    rows.append(("filter: text 'Espresso Machine'", t, f"{len(hits):,} rows"))
    t, hits = _timed(lambda: index.matching(AuditFilter(text="total_price")))
    rows.append(("filter: text in every line", t, f"{len(hits):,} rows"))
    t, hits = _timed(lambda: index.matching(AuditFilter(text="no-such-text-anywhere")))
    rows.append(("filter: text found nowhere", t, f"{len(hits):,} rows"))
    lo = datetime(2026, 11, 25, 8, 10, tzinfo=UTC)
    hi = lo + timedelta(minutes=5)
    t, hits = _timed(lambda: index.matching(AuditFilter(since=lo, until=hi)))
    rows.append(("filter: 5-minute time range", t, f"{len(hits):,} rows"))
    t, hits = _timed(
        lambda: index.matching(
            AuditFilter(text="transient", event_types={"order.retried"}, since=lo)
        )
    )
    rows.append(("filter: text + type + time", t, f"{len(hits):,} rows"))

    if args.gui:
        rows.extend(_gui_rows(path, wanted))

    print(f"\nfile: {path} ({size / 1e9:.2f} GB, {n_lines:,} lines), {os.cpu_count()} CPUs")
    print(f"{'measure':<48} {'seconds':>8} {'x baseline':>11}  result")
    for name, secs, note in rows:
        print(f"{name:<48} {secs:8.3f} {secs / t_base:11.2f}  {note}")
    return 0


def _gui_rows(path: Path, order_id: str) -> list[tuple[str, float, str]]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from orderdesk.gui.audit.browser import AuditBrowser

    app = QApplication.instance() or QApplication(sys.argv)
    widget = AuditBrowser()
    widget.resize(1200, 700)
    widget.show()
    app.processEvents()
    clock = QElapsedTimer()
    beat = QElapsedTimer()
    marks: dict[str, float] = {}
    # The longest gap between two 10 ms ticks is the longest event-loop stall of a phase.
    stalls: dict[str, list[float]] = {"index": [], "filter": []}
    phase = ["index"]

    def tick() -> None:
        stalls[phase[0]].append(beat.restart() / 1000)
        if phase[0] == "index":
            if "first" not in marks and widget.model.rowCount() > 0:
                marks["first"] = clock.elapsed() / 1000
            if not widget.is_indexing() and widget.model.rowCount() > 0:
                marks["done"] = clock.elapsed() / 1000
                phase[0] = "filter"
                clock.restart()
                widget.order_edit.setText(order_id)
                widget.apply_filter()
        elif not widget.model.is_filtering():
            marks["filter"] = clock.elapsed() / 1000
            marks["found"] = widget.model.rowCount()
            app.quit()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    clock.start()
    beat.start()
    widget.open_file(path)
    app.exec()
    timer.stop()
    widget.shutdown()
    widget.close()
    widget.deleteLater()
    app.processEvents()
    return [
        ("GUI: open_file -> first rows in the table", marks["first"], ""),
        ("GUI: open_file -> whole file indexed", marks["done"], ""),
        ("GUI: longest event-loop stall while indexing", max(stalls["index"][1:] or [0]), ""),
        ("GUI: order id typed -> rows shown", marks["filter"], f"{marks['found']} rows"),
        ("GUI: longest event-loop stall while filtering", max(stalls["filter"] or [0]), ""),
    ]


if __name__ == "__main__":
    sys.exit(main())
