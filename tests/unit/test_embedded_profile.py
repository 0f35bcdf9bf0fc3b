"""Settings pointed at an embedded broker: what those brokers need from OrderDesk's clients."""

from __future__ import annotations

from orderdesk.config import load_settings
from orderdesk.kafka.embedded import InMemoryBroker


class _Broker(InMemoryBroker):
    backend = "test"

    @property
    def bootstrap(self) -> str:
        return "127.0.0.1:1"


def test_a_tracker_on_an_embedded_broker_is_a_dynamic_member() -> None:
    settings = _Broker().configure(load_settings(environ={}))
    assert settings.kafka.bootstrap_servers == "127.0.0.1:1"
    # "" turns static membership off: these brokers act on a member leaving at once.
    assert settings.tracker.instance_id == ""


def test_an_instance_id_the_user_chose_is_kept() -> None:
    chosen = load_settings(overrides={"tracker.instance_id": "desk-1"}, environ={})
    assert _Broker().configure(chosen).tracker.instance_id == "desk-1"
