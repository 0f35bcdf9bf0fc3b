"""One settings model, filled from defaults, a YAML file, the environment and flags."""

from orderdesk.config.settings import (
    APP_NAME,
    ENV_DELIMITER,
    ENV_PREFIX,
    ConfigError,
    KafkaSettings,
    ProducerSettings,
    Settings,
    TopicSettings,
    TrackerSettings,
    default_data_dir,
    is_secret_key,
    load_settings,
    read_yaml,
    settings_from_env,
    validate_settings,
    write_yaml,
)

__all__ = [
    "APP_NAME",
    "ENV_DELIMITER",
    "ENV_PREFIX",
    "ConfigError",
    "KafkaSettings",
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
]
