"""The command line: the desktop app by default, headless services, `dlq` commands."""

from orderdesk.cli.args import settings_from_args
from orderdesk.cli.main import build_parser, main

__all__ = ["build_parser", "main", "settings_from_args"]
