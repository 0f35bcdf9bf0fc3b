"""Command line: the desktop app by default, the services headless with `--producer`/`--tracker`.

`orderdesk dlq ...` and `orderdesk status` have parsers of their own; the flags that name where
things are (`--config`, `--bootstrap-servers`, topics, group, log dir) are shared by all.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from pathlib import Path

from orderdesk import __version__
from orderdesk.cli.args import EXIT_FAILURE, EXIT_USAGE, add_common_arguments, settings_from_args
from orderdesk.config import ConfigError
from orderdesk.kafka.clients import check_client_config


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orderdesk",
        usage="%(prog)s [--producer] [--tracker] [options]\n       %(prog)s {dlq,status} ...",
        description=(
            "OrderDesk: generate, track and repair order events on Apache Kafka.\n"
            "Without a service flag, opens the desktop app."
        ),
        epilog=(
            "commands:\n"
            "  dlq {list,show,republish}  inspect and republish dead letters "
            "(orderdesk dlq --help)\n"
            "  status                     the pipeline as the cluster sees it "
            "(orderdesk status --help)\n"
            "\n"
            "Settings come from defaults, the --config file, ORDERDESK_<SECTION>__<KEY>\n"
            "environment variables and these flags, each overriding the one before."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    services = parser.add_argument_group("headless services (no window)")
    services.add_argument(
        "--producer", action="store_true", help="run the order producer without the GUI"
    )
    services.add_argument(
        "--tracker", action="store_true", help="run the order tracker without the GUI"
    )
    services.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics of the headless services on http://HOST:PORT/metrics "
        "(0: any free port)",
    )
    parser.add_argument(
        "--watch-logs",
        metavar="DIR",
        type=Path,
        help="desktop app: follow the tracker whose log folder this is (its live log, "
        "audit trail and event counts)",
    )
    add_common_arguments(parser)
    producer = parser.add_argument_group("producer")
    producer.add_argument("--rate", type=float, help="orders per second, 0 = as fast as possible")
    producer.add_argument("--count", type=int, help="stop after this many orders")
    producer.add_argument("--duration", type=float, help="stop after this many seconds")
    producer.add_argument(
        "--faulty-ratio", type=float, help="share of deliberately bad events, 0..1"
    )
    producer.add_argument("--seed", type=int, help="seed for a reproducible order stream")
    producer.add_argument("--partitions", type=int, help="partitions of topics created here")
    tracker = parser.add_argument_group("tracker")
    tracker.add_argument(
        "--max-retries", type=int, help="processing attempts before dead-lettering (default 3)"
    )
    tracker.add_argument(
        "--transient-failure-rate",
        type=float,
        help="probability that the simulated stock reservation fails transiently, 0..1",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "dlq":
        from orderdesk.cli.dlq import main as dlq_main

        return dlq_main(argv[1:])
    if argv and argv[0] == "status":
        from orderdesk.cli.status import main as status_main

        return status_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
        if args.producer or args.tracker:
            check_client_config(settings.kafka)
    except ConfigError as exc:
        return _config_error(exc, gui=not (args.producer or args.tracker))
    from orderdesk.kafka.embedded import (
        EmbeddedBrokerError,
        answers,
        bootstrap_configured,
        resolve_broker,
    )

    try:
        configured = bootstrap_configured(args.config, args.bootstrap_servers, settings)
    except ConfigError as exc:
        return _config_error(exc, gui=not (args.producer or args.tracker))
    if not (args.producer or args.tracker):
        from orderdesk.cli.xcb import xcb_problem

        # Before Qt is imported: without these libraries Qt aborts the process.
        problem = xcb_problem()
        if problem is not None:
            print(problem, file=sys.stderr)
            return EXIT_USAGE
        from orderdesk.gui.app import run_gui

        # The app decides on the embedded broker itself, once the settings last chosen in
        # its dialog are known: a cluster saved there counts as configured.
        return run_gui(
            settings,
            config_path=args.config,
            bootstrap_configured=configured,
            watch_logs=args.watch_logs,
        )
    # Headless services never fall back to an in-memory broker on their own: orders sent
    # there would vanish at exit while the run reports them acknowledged.
    if not (settings.embedded or configured or answers(settings.kafka.bootstrap_servers, 1.0)):
        print(
            f"orderdesk: error: no Kafka broker configured and none answers at "
            f"{settings.kafka.bootstrap_servers}; name one with --bootstrap-servers, "
            "or pass --embedded for a throw-away in-memory broker",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    try:
        settings, broker = resolve_broker(settings, explicitly_configured=True)
    except EmbeddedBrokerError as exc:
        print(f"orderdesk: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        from orderdesk.cli.headless import run_headless

        return run_headless(settings, producer=args.producer, tracker=args.tracker)
    finally:
        if broker is not None:
            # Clients still referenced from cycles would log a refused connection for each
            # retry once the broker is gone; collecting them first closes them quietly.
            gc.collect()
            broker.stop()


def _config_error(exc: ConfigError, gui: bool) -> int:
    """One line on stderr; for the desktop app in a message box too (exit status 2)."""
    line = f"orderdesk: error: {exc}"
    print(line, file=sys.stderr)
    if gui:
        from orderdesk.cli.xcb import xcb_problem

        if xcb_problem() is None:  # without the xcb libraries Qt would abort the process
            from orderdesk.gui.app import show_startup_error

            show_startup_error(line)
    return EXIT_USAGE
