"""What changes when the window takes new settings (no Qt): leaving the embedded broker,
the demo's faulty ratio, and which values count as the user's choices."""

from __future__ import annotations

from typing import Any

from orderdesk.config import Settings
from orderdesk.gui.settings.dialog import EDITED_KEYS, get_dotted, leave_embedded


def _dotted(data: dict[str, Any], key: str) -> Any:
    try:
        return get_dotted(data, key)
    except KeyError:
        return None


def settings_to_use(
    old: Settings, new: Settings, embedded_alive: bool, demo_faulty_ratio: float, chosen: Any
) -> tuple[Settings, bool]:
    """`new` as the window uses it, and whether the demo's faulty ratio was dropped.

    A new address while on the embedded broker is a cluster, unless it is the embedded
    broker's own new address (restarted); the demo's deliberately bad orders stay with the
    demo, unless the user chose that ratio.
    """
    moved = new.kafka.bootstrap_servers != old.kafka.bootstrap_servers
    if not (old.embedded and moved and not (new.embedded and embedded_alive)):
        return new, False
    new = leave_embedded(new)
    if not demo_faulty_ratio or "producer.faulty_ratio" in (chosen or {}):
        return new, False
    producer = new.producer.model_copy(update={"faulty_ratio": 0.0})
    return new.model_copy(update={"producer": producer}), True


def changed_choices(old: Settings, new: Settings) -> dict[str, Any]:
    """The edited values that differ, as dotted keys (the embedded address never counts)."""
    before, after = old.to_yaml_dict(), new.to_yaml_dict()
    chosen = {
        key: _dotted(after, key)
        for key in EDITED_KEYS
        if _dotted(before, key) != _dotted(after, key)
    }
    if new.embedded:
        chosen.pop("kafka.bootstrap_servers", None)  # a new port every run
    return chosen
