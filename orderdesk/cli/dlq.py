"""`orderdesk dlq list|show|republish`: the dead-letter desk without a window.

Exit status: 0 when the command did all it was asked (for `republish`: every requested
entry was republished and acknowledged by the broker), 1 when something was refused,
failed or not found, 2 for a usage or configuration error, or a republish that was not
confirmed.

Confirmation: `republish` asks on a terminal, naming the number of messages and where
they go, unless `--yes`. Without a terminal (scripts, CI, a pipe) it does not guess: it
refuses with status 2 unless `--yes` is given, so that an unattended run republishes
only when its author said so explicitly.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from orderdesk.cli.args import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    add_common_arguments,
    settings_from_args,
)
from orderdesk.config import ConfigError, Settings
from orderdesk.deadletters.entries import NOT_RECORDED, TOMBSTONE, DeadLetterEntry
from orderdesk.deadletters.ledger import ReplayLedger
from orderdesk.deadletters.reader import read_entries
from orderdesk.deadletters.republish import ReplayRequest, ReplayResult, Republisher
from orderdesk.domain import FailureReason
from orderdesk.domain.text import order_problems, plural, pretty_json
from orderdesk.kafka.clients import BrokerUnavailable, check_client_config, librdkafka_log

PROG = "orderdesk dlq"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Inspect, fix and republish the dead letters of the dead-letter topic.",
        epilog="Reading never commits offsets in any consumer group.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    lst = sub.add_parser("list", help="list dead letters")
    lst.add_argument(
        "--reason",
        action="append",
        default=[],
        help="only this failure reason, e.g. VALIDATION_ERROR or validation (repeatable)",
    )
    lst.add_argument("--text", help="only entries whose error, key, id or payload contain TEXT")
    replayed = lst.add_mutually_exclusive_group()
    replayed.add_argument("--replayed", action="store_true", help="only entries replayed before")
    replayed.add_argument("--not-replayed", action="store_true", help="only entries never replayed")
    lst.add_argument("--json", action="store_true", help="print a JSON array of entries")

    show = sub.add_parser("show", help="show one dead letter in full")
    show.add_argument("id", metavar="ID", help="entry id (a unique prefix is enough)")
    show.add_argument("--json", action="store_true", help="print the entry as JSON")

    rep = sub.add_parser("republish", help="send dead letters back to their topic")
    rep.add_argument("ids", metavar="ID", nargs="+", help="entry ids (unique prefixes are enough)")
    rep.add_argument(
        "--payload-file",
        type=Path,
        metavar="FILE",
        help="republish this payload instead of the stored one (one ID only; - for stdin)",
    )
    rep.add_argument("--to-topic", metavar="TOPIC", help="send to TOPIC, not the original topic")
    rep.add_argument(
        "--again", action="store_true", help="allow entries that were republished before"
    )
    rep.add_argument(
        "--yes", "-y", action="store_true", help="do not ask; required without a terminal"
    )
    rep.add_argument(
        "--ack-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long each message may wait for the broker's acknowledgement (default 30)",
    )

    for p in (lst, show, rep):
        p.add_argument(
            "--read-timeout",
            type=float,
            default=None,
            metavar="SECONDS",
            help="bound on reading the dead-letter topic to its end",
        )
        add_common_arguments(p, embedded=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    # librdkafka's own lines (a refused connection, twenty a second) are not for this
    # terminal: an unreachable cluster ends in one sentence below. The level is put back
    # after: a caller in the same process (the desktop app's live log) still gets them.
    level = librdkafka_log.level
    librdkafka_log.setLevel(logging.CRITICAL)
    try:
        return _run(args)
    finally:
        librdkafka_log.setLevel(level)


def _run(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_args(args)
        check_client_config(settings.kafka)
    except ConfigError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "list":
            return _list(settings, args)
        if args.command == "show":
            return _show(settings, args)
        return _republish(settings, args)
    except BrokerUnavailable as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def _ledger(settings: Settings) -> ReplayLedger:
    return ReplayLedger.for_log_dir(settings.log_dir)


def _entries(settings: Settings, args: argparse.Namespace) -> list[DeadLetterEntry]:
    return read_entries(settings.kafka, settings.topics.dlq, args.read_timeout)


def _reason_filter(values: list[str]) -> set[FailureReason]:
    chosen: set[FailureReason] = set()
    for value in values:
        name = value.strip().upper().replace("-", "_")
        if not name.endswith("_ERROR"):
            name += "_ERROR"
        try:
            chosen.add(FailureReason(name))
        except ValueError:
            known = ", ".join(r.value for r in FailureReason)
            raise ConfigError(f"--reason {value!r}: expected one of {known}") from None
    return chosen


def _list(settings: Settings, args: argparse.Namespace) -> int:
    try:
        reasons = _reason_filter(args.reason)
    except ConfigError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    replays = _ledger(settings).replayed_ids(settings.topics.dlq)
    shown = []
    for entry in _entries(settings, args):
        if reasons and entry.failure_reason not in reasons:
            continue
        if args.text and not entry.matches(args.text):
            continue
        count = replays.get(entry.id, 0)
        if (args.replayed and not count) or (args.not_replayed and count):
            continue
        shown.append((entry, count))
    if args.json:
        records = []
        for entry, count in shown:
            record = entry.to_record()
            record["replays"] = count
            records.append(record)
        print(json.dumps(records, indent=2, ensure_ascii=False))
        return EXIT_OK
    if not shown:
        print(f"no dead letters in {settings.topics.dlq} match", file=sys.stderr)
        return EXIT_OK
    rows = [("ID", "TIME", "REASON", "ORIGINAL", "RETRIES", "REPLAYED", "ERROR")]
    for entry, count in shown:
        rows.append(
            (
                entry.id,
                entry.timestamp.strftime("%Y-%m-%d %H:%M:%S") if entry.timestamp else NOT_RECORDED,
                entry.failure_reason.value,
                entry.original_coordinates,
                str(entry.retry_count),
                f"yes ({count})" if count else "no",
                _one_line(entry.error_message, 80),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1])
    return EXIT_OK


def _find(entries: list[DeadLetterEntry], ident: str) -> DeadLetterEntry | str:
    """The entry with this id or unique id prefix, or an error message."""
    exact = [e for e in entries if e.id == ident]
    if exact:
        return exact[0]
    found = [e for e in entries if e.id.startswith(ident)]
    if len(found) == 1:
        return found[0]
    if not found:
        return f"{ident}: no such dead letter"
    return f"{ident}: ambiguous, matches {len(found)} entries"


def _show(settings: Settings, args: argparse.Namespace) -> int:
    found = _find(_entries(settings, args), args.id)
    if isinstance(found, str):
        print(f"{PROG}: {found}", file=sys.stderr)
        return EXIT_FAILURE
    history = _ledger(settings).history(found.dlq_topic, found.id)
    if args.json:
        record = found.to_record()
        record["replays"] = [r.__dict__ for r in history]
        print(json.dumps(record, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(format_entry(found))
    print("\nreplays:")
    if not history:
        print("  none")
    for r in history:
        edited = ", payload edited" if r.payload_edited else ""
        print(
            f"  #{r.replay_count} {r.replayed_at} -> {r.target_topic}[{r.target_partition}]"
            f"@{r.target_offset}{edited}"
        )
    return EXIT_OK


def format_entry(entry: DeadLetterEntry) -> str:
    """A dead letter in full, for a terminal."""
    lines = [
        f"id:               {entry.id}",
        f"source:           {entry.source}",
        f"dead letter:      {entry.dlq_topic}[{entry.dlq_partition}]@{entry.dlq_offset}",
        f"time:             {_time(entry.timestamp)}",
        f"original:         {entry.original_coordinates}",
        f"original time:    {_time(entry.original_timestamp)}",
        f"key:              {entry.original_key if entry.original_key is not None else '-'}",
        f"failure reason:   {entry.failure_reason.value}",
        f"error:            {entry.error_message}",
    ]
    if entry.error_class:
        lines.append(f"exception:        {entry.error_class}")
    lines.append(f"retries:          {entry.retry_count}")
    if entry.consumer_group:
        lines.append(f"consumer group:   {entry.consumer_group}")
    lines.append("\npayload:")
    lines.append(_indent(TOMBSTONE if entry.is_tombstone else pretty_json(entry.original_payload)))
    if entry.error_stack:
        lines.append("\nstack:")
        lines.append(_indent(entry.error_stack))
    lines.append("\nheaders:")
    for key, value in entry.to_record()["headers"].items():
        shown = "" if value is None else value.replace("\n", "\n    ")
        lines.append(f"  {key}: {shown}")
    return "\n".join(lines)


def _republish(settings: Settings, args: argparse.Namespace) -> int:
    if args.payload_file is not None and len(args.ids) != 1:
        print(f"{PROG}: error: --payload-file takes exactly one ID", file=sys.stderr)
        return EXIT_USAGE
    payload: bytes | None = None
    if args.payload_file is not None:
        try:
            payload = (
                sys.stdin.buffer.read()
                if str(args.payload_file) == "-"
                else args.payload_file.read_bytes()
            )
        except OSError as exc:
            print(f"{PROG}: error: cannot read {args.payload_file}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    stdin_payload = args.payload_file is not None and str(args.payload_file) == "-"
    if not args.yes and (stdin_payload or not sys.stdin.isatty()):
        # Checked before reading anything, so a script learns at once that it must say --yes.
        print(
            f"{PROG}: error: not confirmed: without a terminal to ask on, pass --yes "
            f"to republish {plural(len(args.ids), 'message')}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    entries = _entries(settings, args)
    requests: list[ReplayRequest] = []
    missing = 0
    for ident in args.ids:
        found = _find(entries, ident)
        if isinstance(found, str):
            print(f"{PROG}: {found}", file=sys.stderr)
            missing += 1
            continue
        requests.append(ReplayRequest(found, payload=payload, target_topic=args.to_topic))
    if not requests:
        return EXIT_FAILURE
    if payload is not None:
        problems = order_problems(payload)
        if problems:
            print(
                f"{PROG}: warning: the payload is still not a valid order: {'; '.join(problems)}",
                file=sys.stderr,
            )
    if not args.yes:
        targets = ", ".join(sorted({r.topic or "?" for r in requests}))
        try:
            answer = input(f"Republish {plural(len(requests), 'message')} to {targets}? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print(f"{PROG}: nothing republished", file=sys.stderr)
            return EXIT_USAGE

    def progress(done: int, total: int, result: ReplayResult) -> None:
        print(f"[{done}/{total}] {result.describe()}", file=sys.stderr)

    republisher = Republisher(settings, _ledger(settings), timeout=args.ack_timeout)
    try:
        summary = republisher.republish(requests, again=args.again, on_progress=progress)
    finally:
        republisher.close()
    print(summary.text() + (f", {missing} not found" if missing else ""))
    return EXIT_OK if summary.ok and not missing else EXIT_FAILURE


def _time(when: datetime | None) -> str:
    return when.isoformat() if when is not None else NOT_RECORDED


def _one_line(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
