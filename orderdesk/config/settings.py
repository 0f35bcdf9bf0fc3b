"""One settings model for the whole application.

Values come, from lowest to highest precedence, from the defaults below, a YAML file,
environment variables (`ORDERDESK_<SECTION>__<KEY>`, for example
`ORDERDESK_KAFKA__BOOTSTRAP_SERVERS`) and command-line flags: pydantic-settings layers them
(`Settings.settings_customise_sources`, the sources in `orderdesk.config.sources`). Every
model forbids unknown keys, so a typo is an error that names the key rather than a setting
silently ignored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings import SettingsError as _SourceError

from orderdesk.config.errors import ConfigError, is_secret_key
from orderdesk.config.sources import (
    ENV_DELIMITER,
    ENV_PREFIX,
    EnvironmentSource,
    Origin,
    YamlFileSource,
    active_origin,
    reading,
)

APP_NAME = "OrderDesk"


def default_data_dir() -> Path:
    """Per-user data directory, where the technical log and audit trail go by default."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


class _Section(BaseModel):
    # No infinities or NaN: a retry delay or timeout of `inf` would wait forever.
    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False
    )


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
    #: Longest a stop may take (final dead letters and commit); what is left is named.
    stop_timeout: float = Field(10.0, gt=0, le=3600)
    #: Seconds between two offset commits (and audit trail flushes) while orders flow.
    commit_interval: float = Field(0.15, gt=0, le=60)
    #: `group.instance.id` (static membership: a restart rejoins at once); None derives one
    #: from the host and the log folder, "" turns static membership off.
    instance_id: str | None = None
    #: Audit trail retention: rotated files are removed, oldest first (and logged), once all
    #: files together exceed this many bytes, or when a file's newest line is this many
    #: days old. `log_backups` counts the technical log's files only.
    audit_retention_bytes: int = Field(2 * 1024**3, ge=1024)
    audit_retention_days: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _delays(self) -> TrackerSettings:
        if self.retry_max_delay < self.retry_base_delay:
            raise ValueError("retry_max_delay must be >= retry_base_delay")
        return self


class MetricsSettings(_Section):
    #: Port of the headless services' Prometheus endpoint (`/metrics`); None: no endpoint,
    #: 0: any free port (printed at start).
    port: int | None = Field(None, ge=0, le=65535)
    #: Address it listens on: all interfaces, so that a container's port can be published.
    address: str = "0.0.0.0"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        extra="forbid",
        frozen=True,
        validate_default=True,
        allow_inf_nan=False,
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_DELIMITER,
    )

    kafka: KafkaSettings = KafkaSettings()
    topics: TopicSettings = TopicSettings()
    producer: ProducerSettings = ProducerSettings()
    tracker: TrackerSettings = TrackerSettings()
    metrics: MetricsSettings = MetricsSettings()
    log_dir: Path = Field(default_factory=lambda: default_data_dir() / "logs")
    #: Start an in-process broker instead of connecting to `kafka.bootstrap_servers`.
    embedded: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags (the keyword arguments) > environment > YAML file > defaults.

        Only inside `load_settings`: elsewhere a `Settings(...)` is what it is given.
        """
        origin = active_origin()
        if origin is None:
            return (init_settings,)
        return (
            init_settings,
            EnvironmentSource(settings_cls, origin.environ),
            YamlFileSource(settings_cls, origin.config_file),
        )

    def to_yaml_dict(self) -> dict[str, Any]:
        """Plain data for a YAML file; secrets are written as they are, since the user set them."""
        data = self.model_dump(mode="json", exclude_none=True)
        kafka = data["kafka"]
        for key in ("sasl_password", "ssl_key_password"):
            secret = getattr(self.kafka, key)
            if secret is not None:
                kafka[key] = secret.get_secret_value()
        return data


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings from defaults, `config_file`, `environ` and `overrides`.

    `overrides` maps dotted keys (`"kafka.bootstrap_servers"`) to values, typically from
    command-line flags; `None` values are skipped. Raises `ConfigError`.
    """
    flags: dict[str, Any] = {}
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _deep_merge(flags, _nest(dotted.split("."), value))
    origin = Origin(
        config_file=None if config_file is None else Path(config_file),
        environ=os.environ if environ is None else environ,
    )
    try:
        with reading(origin):
            return Settings(**flags)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except _SourceError as exc:
        # A value the environment source could not decode; the message names the field.
        raise ConfigError(str(exc).splitlines()[0]) from None


def validate_settings(data: Mapping[str, Any]) -> Settings:
    """Settings from plain data alone (no file, no environment). Raises `ConfigError`."""
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def settings_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings that `environ`'s `ORDERDESK_*` variables name, as nested plain data."""
    try:
        return EnvironmentSource(Settings, environ)()
    except _SourceError as exc:
        raise ConfigError(str(exc).splitlines()[0]) from None


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
