"""Where settings come from, besides the defaults: a YAML file and `ORDERDESK_*` variables.

`Settings.settings_customise_sources` asks `active_origin()` which file and which
environment the current `load_settings` call names; outside such a call there is none, so
`Settings(...)` and `validate_settings(...)` see only what they are given (a model that read
the process environment whenever it is built would make defaults depend on the shell).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic.fields import FieldInfo
from pydantic_settings import EnvSettingsSource, PydanticBaseSettingsSource

from orderdesk.config.errors import ConfigError
from orderdesk.config.yamlfile import read_yaml

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

ENV_PREFIX = "ORDERDESK_"
ENV_DELIMITER = "__"


@dataclass(frozen=True)
class Origin:
    """The YAML file (if any) and the environment that one `load_settings` call reads."""

    config_file: Path | None
    environ: Mapping[str, str]


_origin: ContextVar[Origin | None] = ContextVar("orderdesk_settings_origin", default=None)


def active_origin() -> Origin | None:
    return _origin.get()


@contextlib.contextmanager
def reading(origin: Origin) -> Iterator[None]:
    """Let the settings built inside the block read `origin`'s file and environment."""
    token = _origin.set(origin)
    try:
        yield
    finally:
        _origin.reset(token)


class YamlFileSource(PydanticBaseSettingsSource):
    """The settings file; its errors name the file (and the line, for bad YAML)."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Unused: __call__ hands over the whole file; unknown keys fail validation, by name.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return {} if self.path is None else read_yaml(self.path)


class EnvironmentSource(EnvSettingsSource):
    """`ORDERDESK_<SECTION>__<KEY>` variables from a given mapping (the process's, usually).

    Variables under a known section or naming a top-level field must name a real key;
    other `ORDERDESK_*` variables belong to other tools and are left alone.
    `ORDERDESK_KAFKA__PROPERTIES` takes a JSON object.
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls, env_prefix=ENV_PREFIX, env_nested_delimiter=ENV_DELIMITER)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        if self.case_sensitive:
            return dict(self._environ)
        return {name.lower(): value for name, value in self._environ.items()}

    def __call__(self) -> dict[str, Any]:
        self._check_names()
        return super().__call__()

    def _check_names(self) -> None:
        # One clear line for the mistakes that pydantic-settings would report as a parse
        # error of the whole section.
        fields = self.settings_cls.model_fields
        for name, value in self._environ.items():
            if not name.upper().startswith(ENV_PREFIX):
                continue
            path = name[len(ENV_PREFIX) :].lower().split(ENV_DELIMITER)
            if path[0] not in fields:
                continue
            if len(path) == 1 and _is_section(fields[path[0]]):
                raise ConfigError(
                    f"environment variable {name}: {path[0]} is a section, name a key"
                )
            if path == ["kafka", "properties"]:
                try:
                    decoded = json.loads(value)
                except json.JSONDecodeError:
                    decoded = None
                if not isinstance(decoded, dict):
                    raise ConfigError(f"environment variable {name}: expected a JSON object")


def _is_section(field: FieldInfo) -> bool:
    annotation = field.annotation
    return isinstance(annotation, type) and hasattr(annotation, "model_fields")
