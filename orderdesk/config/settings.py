"""One settings model for the whole application.

Values come, from lowest to highest precedence, from the defaults below, a YAML file,
environment variables (`ORDERDESK_<SECTION>__<KEY>`, for example
`ORDERDESK_KAFKA__BOOTSTRAP_SERVERS`) and command-line flags. Every model forbids unknown
keys, so a typo is an error that names the key rather than a setting silently ignored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import platformdirs
import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

ENV_PREFIX = "ORDERDESK_"
ENV_DELIMITER = "__"
APP_NAME = "OrderDesk"

#: librdkafka properties whose values are never shown.
_SECRET_WORDS = ("password", "secret", "token", "key.pem", "sasl.jaas")


def default_data_dir() -> Path:
    """Per-user data directory, where the technical log and audit trail go by default."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class KafkaSettings(_Section):
    """How to reach the cluster. `properties` passes any other librdkafka property through."""

    bootstrap_servers: str = Field("localhost:9092", min_length=1)
    client_id: str = "orderdesk"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: Path | None = None
    ssl_certificate_location: Path | None = None
    ssl_key_location: Path | None = None
    ssl_key_password: SecretStr | None = None
    #: Seconds a request to an unreachable broker may take before it is reported.
    connect_timeout: float = Field(10.0, gt=0)
    properties: dict[str, str | int | float | bool] = Field(default_factory=dict)
    #: librdkafka properties for consumers only, and for producers only (no warnings from
    #: the other kind of client).
    consumer_properties: dict[str, str | int | float | bool] = Field(default_factory=dict)
    producer_properties: dict[str, str | int | float | bool] = Field(default_factory=dict)

    def as_librdkafka_dict(self) -> dict[str, Any]:
        """Common client configuration, secrets included: hand it to a client, never log it."""
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "client.id": self.client_id,
            "security.protocol": self.security_protocol,
        }
        optional = {
            "sasl.mechanism": self.sasl_mechanism,
            "sasl.username": self.sasl_username,
            "sasl.password": self.sasl_password,
            "ssl.ca.location": self.ssl_ca_location,
            "ssl.certificate.location": self.ssl_certificate_location,
            "ssl.key.location": self.ssl_key_location,
            "ssl.key.password": self.ssl_key_password,
        }
        for key, value in optional.items():
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            conf[key] = str(value)
        conf.update(self.properties)
        return conf

    def redacted(self) -> dict[str, Any]:
        """The same configuration, fit for logs and error messages."""
        return {k: ("***" if is_secret_key(k) else v) for k, v in self.as_librdkafka_dict().items()}


class TopicSettings(_Section):
    orders: str = Field("orders", min_length=1, max_length=249, pattern=r"^[A-Za-z0-9._-]+$")
    dlq: str = Field("orders-dlq", min_length=1, max_length=249, pattern=r"^[A-Za-z0-9._-]+$")
    #: Partitions of a topic that OrderDesk creates because it is missing.
    partitions: int = Field(3, ge=1, le=1000)
    replication_factor: int = Field(-1, ge=-1, description="-1: the broker's default")

    @model_validator(mode="after")
    def _distinct(self) -> TopicSettings:
        if self.orders == self.dlq:
            raise ValueError("the orders topic and the dead-letter topic must differ")
        return self


class ProducerSettings(_Section):
    #: Orders per second; 0 means as fast as the client goes.
    rate: float = Field(0.5, ge=0)
    count: int | None = Field(None, ge=0)
    duration: float | None = Field(None, gt=0)
    faulty_ratio: float = Field(0.0, ge=0, le=1)
    seed: int | None = None
    max_items: int = Field(5, ge=1, le=100)
    flush_timeout: float = Field(15.0, gt=0)
    tax_rate: float = Field(0.20, ge=0)
    shipping_fee: float = Field(2.50, ge=0)
    currency: str = Field("EUR", min_length=3, max_length=3)
    default_payment_method: str = "credit_card"
    default_warehouse: str = "PARIS-01"
    linger_ms: int = Field(5, ge=0)


class TrackerSettings(_Section):
    group: str = Field("order-tracker-group", min_length=1)
    #: Processing attempts before a retryable failure is dead-lettered.
    max_retries: int = Field(3, ge=1, le=100)
    retry_base_delay: float = Field(1.0, gt=0)
    retry_max_delay: float = Field(30.0, gt=0)
    dlq_flush_timeout: float = Field(5.0, gt=0)
    metrics_interval: float = Field(30.0, gt=0)
    #: Probability that the simulated downstream step fails transiently.
    transient_failure_rate: float = Field(0.0, ge=0, le=1)
    audit_every_message: bool = False
    log_max_bytes: int = Field(50 * 1024 * 1024, ge=1024)
    log_backups: int = Field(5, ge=0)

    @model_validator(mode="after")
    def _delays(self) -> TrackerSettings:
        if self.retry_max_delay < self.retry_base_delay:
            raise ValueError("retry_max_delay must be >= retry_base_delay")
        return self


class Settings(_Section):
    kafka: KafkaSettings = KafkaSettings()
    topics: TopicSettings = TopicSettings()
    producer: ProducerSettings = ProducerSettings()
    tracker: TrackerSettings = TrackerSettings()
    log_dir: Path = Field(default_factory=lambda: default_data_dir() / "logs")
    #: Start an in-process broker instead of connecting to `kafka.bootstrap_servers`.
    embedded: bool = False

    def to_yaml_dict(self) -> dict[str, Any]:
        """Plain data for a YAML file; secrets are written as they are, since the user set them."""
        data = self.model_dump(mode="json", exclude_none=True)
        kafka = data["kafka"]
        for key in ("sasl_password", "ssl_key_password"):
            secret = getattr(self.kafka, key)
            if secret is not None:
                kafka[key] = secret.get_secret_value()
        return data


class ConfigError(ValueError):
    """A bad setting; its message is one line that names the key and never shows a secret."""


def is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings from defaults, `config_file`, `environ` and `overrides`.

    `overrides` maps dotted keys (`"kafka.bootstrap_servers"`) to values, typically from
    command-line flags; `None` values are skipped. Raises `ConfigError`.
    """
    data: dict[str, Any] = {}
    if config_file is not None:
        _deep_merge(data, read_yaml(Path(config_file)))
    _deep_merge(data, settings_from_env(os.environ if environ is None else environ))
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _deep_merge(data, _nest(dotted.split("."), value))
    return validate_settings(data)


def validate_settings(data: Mapping[str, Any]) -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
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


def write_yaml(settings: Settings, path: Path) -> None:
    """Save settings to a YAML file, replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(settings.to_yaml_dict(), sort_keys=False), encoding="utf-8")
    os.replace(tmp, path)


def settings_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings named by `ORDERDESK_*` variables.

    Variables under a known section (`ORDERDESK_TRACKER__...`) or naming a top-level field
    must name a real key; other `ORDERDESK_*` variables belong to other tools and are left
    alone. `ORDERDESK_KAFKA__PROPERTIES` takes a JSON object.
    """
    sections = {name for name, f in Settings.model_fields.items() if _is_section(f.annotation)}
    data: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = name[len(ENV_PREFIX) :].lower().split(ENV_DELIMITER)
        if path[0] not in Settings.model_fields:
            continue
        if len(path) == 1 and path[0] in sections:
            raise ConfigError(f"environment variable {name}: {path[0]} is a section, name a key")
        if path == ["kafka", "properties"]:
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise ConfigError(f"environment variable {name}: expected a JSON object") from None
        _deep_merge(data, _nest(path, value))
    return data


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, _Section)


def _nest(path: list[str], value: Any) -> dict[str, Any]:
    for key in reversed(path):
        value = {key: value}
    return value


def _deep_merge(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        elif isinstance(value, Mapping):
            into[key] = {}
            _deep_merge(into[key], value)
        else:
            into[key] = value


def _describe(exc: ValidationError) -> str:
    detail = exc.errors(include_url=False)[0]
    key = ".".join(str(p) for p in detail["loc"])
    if detail["type"] == "extra_forbidden":
        message = f"unknown setting {key!r}"
    else:
        message = f"invalid setting {key!r}: {detail['msg']}" if key else detail["msg"]
        if key and not is_secret_key(key) and detail["type"] != "missing":
            shown = detail.get("input")
            if isinstance(shown, (str, int, float, bool)):
                message += f" (got {shown!r})"
    more = exc.error_count() - 1
    return message + (f" (and {more} more)" if more > 0 else "")
