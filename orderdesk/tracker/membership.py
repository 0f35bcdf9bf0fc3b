"""How the tracker joins its consumer group: static membership, cooperative rebalancing.

A static member (`group.instance.id`) that restarts within the session timeout gets its
partitions back at once, without a rebalance: after a crash the tracker consumes again in
a fraction of a second instead of waiting out the dead member's session. The id must be
unique per running tracker and stable across its restarts, so by default it is derived
from the host and the log folder (the audit trail belongs to one tracker). A second tracker
started on the same log folder fences the first, which stops with a fatal error.

A static member does not leave the group when it stops (the broker keeps its partitions
for it until its session expires), so the session is shortened to `STATIC_SESSION_TIMEOUT_MS`
(librdkafka's default is 45 s): a restart within it resumes at once, a tracker stopped for
good hands its partitions to the others after it.

Cooperative rebalancing (`cooperative-sticky`) moves only the partitions that change
owner, so a member joining or leaving does not stop the others.

The broker's new group protocol (KIP-848, `group.protocol=consumer`) is not the default: a
static member killed without leaving is refused ("instance ID still used") until its
session expires, which is the stall static membership is here to avoid. It can still be
chosen with `kafka.consumer_properties`.
"""

from __future__ import annotations

import hashlib
import re
import socket
from typing import Any

from orderdesk.config import Settings

#: Session of a static member: how long a stopped tracker's partitions wait for it.
STATIC_SESSION_TIMEOUT_MS = 10_000


def instance_id(settings: Settings) -> str | None:
    """`group.instance.id` for this tracker; None when static membership is turned off."""
    chosen = settings.tracker.instance_id
    if chosen is not None:
        return chosen or None
    folder = str(settings.log_dir.expanduser().resolve())
    digest = hashlib.sha256(folder.encode()).hexdigest()[:12]
    host = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:60] or "host"
    return f"orderdesk-tracker-{host}-{digest}"


def membership_config(settings: Settings, instance: str | None) -> dict[str, Any]:
    """Consumer properties for the group membership; the user's own properties win."""
    props = {**settings.kafka.properties, **settings.kafka.consumer_properties}
    conf: dict[str, Any] = {}
    if instance and "group.instance.id" not in props:
        conf["group.instance.id"] = instance
        if "session.timeout.ms" not in props:
            conf["session.timeout.ms"] = STATIC_SESSION_TIMEOUT_MS
    if str(props.get("group.protocol", "classic")).lower() == "classic":
        conf.setdefault("partition.assignment.strategy", "cooperative-sticky")
        if "partition.assignment.strategy" in props:
            del conf["partition.assignment.strategy"]
    return conf
