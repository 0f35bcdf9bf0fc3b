"""The one error a bad setting raises, and which keys hold secrets."""

from __future__ import annotations

#: librdkafka properties (and settings) whose values are never shown.
_SECRET_WORDS = ("password", "secret", "token", "key.pem", "sasl.jaas")


class ConfigError(ValueError):
    """A bad setting; its message is one line that names the key and never shows a secret."""


def is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)
