"""`orderdesk status`: the pipeline's cluster view, once, as JSON, or refreshed.

What the dashboard's pipeline view shows, for terminals and monitoring scripts: the
produce, commit and dead-letter rates, the tracker group's lag, members and state, read
from the brokers whoever runs the services. Rates need two readings, so the command
samples for a few seconds (`--sample`) before it prints.

Exit status: 0 when the view was read, 1 when the cluster did not answer or the orders
topic does not exist, 2 for a usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from orderdesk.cli.args import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    add_common_arguments,
    settings_from_args,
)
from orderdesk.config import ConfigError
from orderdesk.kafka.clients import librdkafka_log
from orderdesk.monitor.cluster import (
    REFRESH_INTERVAL,
    ClusterReader,
    PipelineSeries,
    PipelineStatus,
)

#: Seconds sampled before the first print: long enough for a rate, short for a script.
SAMPLE_SECONDS = 3.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orderdesk status",
        description=(
            "Show the pipeline as the cluster sees it: produce, commit and dead-letter "
            "rates, the tracker group's lag, members and state. Joins no group, commits "
            "nothing."
        ),
    )
    add_common_arguments(parser, embedded=False)
    parser.add_argument("--json", action="store_true", help="print one JSON object per view")
    parser.add_argument("--watch", action="store_true", help="refresh until Ctrl+C")
    parser.add_argument(
        "--sample",
        type=float,
        default=SAMPLE_SECONDS,
        metavar="SECONDS",
        help=f"how long to sample for the rates (default {SAMPLE_SECONDS:g})",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=REFRESH_INTERVAL,
        metavar="SECONDS",
        help=f"seconds between readings (default {REFRESH_INTERVAL:g})",
    )
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.sample < 0 or args.interval <= 0:
        parser.error("--sample must be >= 0 and --interval > 0")
    try:
        settings = settings_from_args(args)
    except ConfigError as exc:
        print(f"orderdesk: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # Errors come back in the sample; librdkafka's own lines would repeat them.
    librdkafka_log.setLevel(logging.CRITICAL)
    reader = ClusterReader.from_settings(settings, timeout=min(settings.kafka.connect_timeout, 5))
    series = PipelineSeries()
    show: Callable[[PipelineStatus], None] = (
        (lambda s: _print_json(s, out)) if args.json else (lambda s: _print_table(s, out))
    )
    try:
        status = _sample(reader, series, args.sample, args.interval)
        show(status)
        while args.watch:
            time.sleep(args.interval)
            series.add(reader.sample())
            latest = series.status(reader)
            assert latest is not None
            status = latest
            if not args.json:
                print(file=out)
            show(status)
    except KeyboardInterrupt:
        return EXIT_OK
    return EXIT_FAILURE if _unreadable(status) else EXIT_OK


def _sample(
    reader: ClusterReader, series: PipelineSeries, seconds: float, interval: float
) -> PipelineStatus:
    """Read the cluster over `seconds`, every `interval`; the status at the end."""
    series.add(reader.sample())
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and series.latest is not None and series.latest.orders:
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        series.add(reader.sample())
    status = series.status(reader)
    assert status is not None
    return status


def _unreadable(status: PipelineStatus) -> bool:
    return not status.lag and status.error is not None


def _print_json(status: PipelineStatus, out: TextIO) -> None:
    print(json.dumps(status.as_dict()), file=out, flush=True)


def format_table(status: PipelineStatus) -> str:
    """The status as people read it: a few aligned lines and a table of members."""
    lines = [
        f"pipeline   {status.topic} -> dead letters {status.dlq_topic}, group {status.group}",
        f"state      {status.state}, {len(status.members)} member"
        + ("s" if len(status.members) != 1 else ""),
    ]
    if status.window > 0:
        success = (
            "- (nothing committed in the window)"
            if status.success_percent is None
            else f"{status.success_percent:.1f} % of the committed orders did not end as "
            "dead letters"
        )
        lines += [
            f"rates      produced {status.produced_per_s:,.1f}/s · committed "
            f"{status.committed_per_s:,.1f}/s · dead-lettered {status.dead_lettered_per_s:,.1f}/s"
            f"  (over {status.window:.1f} s)",
            f"success    {success}",
        ]
    else:
        lines.append("rates      - (one reading only: --sample longer for rates)")
    if status.lag:
        parts = ", ".join(f"p{p} {n:,}" for p, n in status.lag.items())
        lines.append(f"lag        {status.lag_total:,}  ({parts})")
    if status.members:
        rows = [("CLIENT ID", "HOST", "PARTITIONS", "INSTANCE ID")]
        rows += [
            (
                m.client_id,
                m.host,
                ",".join(map(str, m.partitions)) or "-",
                m.instance_id or "-",
            )
            for m in status.members
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines.append("")
        for row in rows:
            lines.append("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    if status.error:
        lines.append(f"error      {status.error}")
    return "\n".join(line.rstrip() for line in lines)


def _print_table(status: PipelineStatus, out: TextIO) -> None:
    print(format_table(status), file=out, flush=True)
