"""Flags shared by every command, exit codes, and settings built from parsed flags."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from orderdesk.config import ConfigError, Settings, is_secret_key, load_settings

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
#: A second Ctrl+C: the shell's convention, 128 + SIGINT.
EXIT_INTERRUPTED = 130

#: Command-line destinations and the settings they set.
FLAG_SETTINGS = {
    "bootstrap_servers": "kafka.bootstrap_servers",
    "topic": "topics.orders",
    "dlq_topic": "topics.dlq",
    "partitions": "topics.partitions",
    "group": "tracker.group",
    "log_dir": "log_dir",
    "embedded": "embedded",
    "rate": "producer.rate",
    "count": "producer.count",
    "duration": "producer.duration",
    "faulty_ratio": "producer.faulty_ratio",
    "seed": "producer.seed",
    "max_retries": "tracker.max_retries",
    "transient_failure_rate": "tracker.transient_failure_rate",
    "metrics_port": "metrics.port",
}


def add_common_arguments(parser: argparse.ArgumentParser, embedded: bool = True) -> None:
    """Flags that say where the cluster, topics and files are; every command takes them.

    `embedded=False` leaves out `--embedded`, for commands that read what a broker already
    holds: an embedded broker starts empty.
    """
    group = parser.add_argument_group("connection and topics")
    group.add_argument("--config", metavar="PATH", type=Path, help="YAML configuration file")
    group.add_argument(
        "--bootstrap-servers", metavar="HOST:PORT[,...]", help="Kafka brokers to connect to"
    )
    group.add_argument("--topic", help="orders topic (default: orders)")
    group.add_argument("--dlq-topic", help="dead-letter topic (default: orders-dlq)")
    group.add_argument("--group", help="tracker consumer group (default: order-tracker-group)")
    group.add_argument("--log-dir", type=Path, help="where tracker.log and tracker.events go")
    if embedded:
        group.add_argument(
            "--embedded",
            action="store_true",
            default=None,
            help="start an in-memory broker inside OrderDesk instead of connecting to one",
        )
    group.add_argument(
        "-X",
        dest="kafka_properties",
        metavar="PROP=VALUE",
        action="append",
        default=[],
        help="any librdkafka property, e.g. -X security.protocol=SASL_SSL (repeatable)",
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from the configuration file, the environment and the parsed flags."""
    overrides: dict[str, Any] = {
        setting: getattr(args, dest)
        for dest, setting in FLAG_SETTINGS.items()
        if hasattr(args, dest)
    }
    for item in getattr(args, "kafka_properties", []):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"-X {item!r}: expected PROPERTY=VALUE")
        overrides[f"kafka.properties.{key.strip()}"] = value
    settings = load_settings(getattr(args, "config", None), _nested_properties(overrides))
    warn_secret_flags(getattr(args, "kafka_properties", []))
    return settings


#: Secret librdkafka properties that have a setting of their own.
_SECRET_SETTINGS = {"sasl.password": "sasl_password", "ssl.key.password": "ssl_key_password"}


def warn_secret_flags(items: list[str], err: TextIO | None = None) -> None:
    """One warning line per secret given as `-X`: any user can read it in `ps`."""
    err = sys.stderr if err is None else err
    for item in items:
        key = item.partition("=")[0].strip()
        if not is_secret_key(key):
            continue
        setting = _SECRET_SETTINGS.get(key)
        where = (
            f"set ORDERDESK_KAFKA__{setting.upper()} or kafka.{setting} in the --config file"
            if setting
            else "put it under kafka.properties in the --config file"
        )
        print(
            f"orderdesk: warning: -X {key}=... on the command line is visible to other "
            f"users (ps, shell history); {where} instead",
            file=err,
        )


def _nested_properties(overrides: dict[str, Any]) -> dict[str, Any]:
    # librdkafka property names contain dots, so they cannot travel as dotted keys.
    props = {
        k.removeprefix("kafka.properties."): v
        for k, v in overrides.items()
        if k.startswith("kafka.properties.")
    }
    plain = {k: v for k, v in overrides.items() if not k.startswith("kafka.properties.")}
    if props:
        plain["kafka"] = {"properties": props}
    return plain
