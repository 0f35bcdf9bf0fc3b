"""Reading and writing the YAML settings file; every write replaces the file atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orderdesk.config.errors import ConfigError

if TYPE_CHECKING:
    from orderdesk.config.settings import Settings


def read_yaml(path: Path) -> dict[str, Any]:
    """The mapping a settings file holds; `ConfigError` (one line naming the file) if none."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path}: not UTF-8 text (byte {exc.start} is {exc.object[exc.start]:#04x})"
        ) from None
    import yaml  # imported when a file is read: most runs have none (~25 ms CPU at start-up)

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"config file {path}{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping of settings at the top level")
    return data


def write_yaml_data(data: dict[str, Any], path: Path) -> None:
    """Write `data` as YAML to `path`, replacing it atomically: a crash leaves the old file."""
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    os.replace(tmp, path)


def write_yaml(settings: Settings, path: Path) -> None:
    """Save settings to a YAML file, replacing it atomically."""
    write_yaml_data(settings.to_yaml_dict(), path)
