"""Named connections of the settings dialog, their secrets, and what the user chose.

Only what the user chose in the app is remembered: the dialog's edits (`remember`), never
the values that flags, the environment or a config file gave for one run. A cluster the
user connects to is kept as a named connection; its password, if any, goes to the OS
keyring (`keyring`), and where no keyring backend works it is not stored at all.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from PySide6.QtCore import QSettings

#: The stored choices of the dialog (dotted keys) and the saved clusters.
CHOICES_KEY = "settings/last"
CONNECTIONS_KEY = "settings/connections"
#: The choice of the embedded, in-memory broker; also the first connection offered.
CONNECTION_KEY = "connection"
EMBEDDED = "embedded"
EMBEDDED_NAME = "Embedded demo"
KEYRING_SERVICE = "OrderDesk"

#: The dialog's connection fields as dotted settings keys.
CONNECTION_FIELDS = (
    "kafka.bootstrap_servers",
    "kafka.security_protocol",
    "kafka.sasl_mechanism",
    "kafka.sasl_username",
    "kafka.ssl_ca_location",
)

_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def bootstrap_problem(text: str) -> str:
    """Why `text` is not a list of bootstrap servers (host:port, comma-separated); "" if it is."""
    if not text.strip():
        return "enter the bootstrap servers as host:port (several: separated by commas)"
    for server in (s.strip() for s in text.split(",")):
        if not server:
            return f"{text!r} has an empty server between commas"
        host, sep, port = server.rpartition(":")
        if not sep or not host:
            return f"{server!r} is not host:port (the port is missing)"
        if not port.isdigit() or not 0 < int(port) < 65536:
            return f"{server!r}: the port must be a number from 1 to 65535"
        if host.startswith("[") and host.endswith("]"):
            try:
                ipaddress.IPv6Address(host[1:-1])
            except ValueError:
                return f"{server!r}: {host} is not an IPv6 address"
        elif not _HOST.match(host):
            return f"{server!r}: {host!r} is not a host name or address"
    return ""


@dataclass
class Connection:
    """A cluster the user saved: everything but the password, which is in the keyring."""

    name: str
    bootstrap_servers: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    ssl_ca_location: str | None = None

    def values(self) -> dict[str, Any]:
        """The connection as dotted settings keys."""
        return {
            "kafka.bootstrap_servers": self.bootstrap_servers,
            "kafka.security_protocol": self.security_protocol,
            "kafka.sasl_mechanism": self.sasl_mechanism,
            "kafka.sasl_username": self.sasl_username,
            "kafka.ssl_ca_location": self.ssl_ca_location,
        }

    @classmethod
    def from_values(cls, name: str, values: dict[str, Any]) -> Connection:
        return cls(
            name=name,
            bootstrap_servers=str(values.get("kafka.bootstrap_servers") or ""),
            security_protocol=str(values.get("kafka.security_protocol") or "PLAINTEXT"),
            sasl_mechanism=values.get("kafka.sasl_mechanism") or None,
            sasl_username=values.get("kafka.sasl_username") or None,
            ssl_ca_location=str(values["kafka.ssl_ca_location"])
            if values.get("kafka.ssl_ca_location")
            else None,
        )


def _stored(store: QSettings, key: str) -> Any:
    try:
        value = store.value(key)
        return json.loads(value) if value else None
    except (TypeError, ValueError):
        return None


def load_choices(store: QSettings) -> dict[str, Any]:
    data = _stored(store, CHOICES_KEY)
    return data if isinstance(data, dict) else {}


def remember(store: QSettings, chosen: dict[str, Any]) -> None:
    """Add the user's choices to the stored ones; a None value forgets that key."""
    if not chosen:
        return
    data = load_choices(store)
    for key, value in chosen.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    store.setValue(CHOICES_KEY, json.dumps(data))


def load_connections(store: QSettings) -> list[Connection]:
    data = _stored(store, CONNECTIONS_KEY)
    out = []
    for item in data if isinstance(data, list) else []:
        try:
            out.append(Connection(**item))
        except TypeError:
            continue
    return out


def save_connection(store: QSettings, connection: Connection) -> None:
    kept = [c for c in load_connections(store) if c.name != connection.name]
    kept.append(connection)
    store.setValue(CONNECTIONS_KEY, json.dumps([asdict(c) for c in kept]))


def forget_connection(store: QSettings, name: str) -> None:
    kept = [c for c in load_connections(store) if c.name != name]
    store.setValue(CONNECTIONS_KEY, json.dumps([asdict(c) for c in kept]))
    Secrets().delete(name)


class Secrets:
    """Passwords of named connections in the OS keyring, where one works."""

    def _account(self, name: str) -> str:
        return f"connection:{name}"

    def available(self) -> tuple[bool, str]:
        """(whether secrets can be stored, why not)."""
        try:
            import keyring
            from keyring.backends import fail
        except ImportError:
            return False, "the keyring library is not installed"
        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring) or backend.priority <= 0:
            return False, "no keyring (secret service) is available on this system"
        return True, ""

    def get(self, name: str) -> str | None:
        if not self.available()[0]:
            return None
        import keyring

        try:
            return keyring.get_password(KEYRING_SERVICE, self._account(name))
        except Exception:  # a locked or broken keyring: no secret, the user types it
            return None

    def set(self, name: str, secret: str) -> str:
        """Store the secret; returns why it was not stored ("" when it was)."""
        ok, why = self.available()
        if not ok:
            return why
        import keyring

        try:
            keyring.set_password(KEYRING_SERVICE, self._account(name), secret)
        except Exception as exc:  # reported to the user in the dialog
            return f"the keyring refused it: {exc}"
        return ""

    def delete(self, name: str) -> None:
        if not self.available()[0]:
            return
        import keyring

        try:
            keyring.delete_password(KEYRING_SERVICE, self._account(name))
        except Exception:  # nothing stored under that name
            return
