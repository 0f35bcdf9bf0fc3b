"""One settings model (`settings`), filled from defaults, a YAML file, the environment and
flags (`sources`); the YAML file read and written atomically (`yamlfile`)."""

from orderdesk.config.errors import ConfigError, is_secret_key
from orderdesk.config.settings import (
    APP_NAME,
    KafkaSettings,
    MetricsSettings,
    ProducerSettings,
    Settings,
    TopicSettings,
    TrackerSettings,
    default_data_dir,
    load_settings,
    settings_from_env,
    validate_settings,
)
from orderdesk.config.sources import ENV_DELIMITER, ENV_PREFIX
from orderdesk.config.yamlfile import read_yaml, write_yaml, write_yaml_data

__all__ = [
    "APP_NAME",
    "ENV_DELIMITER",
    "ENV_PREFIX",
    "ConfigError",
    "KafkaSettings",
    "MetricsSettings",
    "ProducerSettings",
    "Settings",
    "TopicSettings",
    "TrackerSettings",
    "default_data_dir",
    "is_secret_key",
    "load_settings",
    "read_yaml",
    "settings_from_env",
    "validate_settings",
    "write_yaml",
    "write_yaml_data",
]
