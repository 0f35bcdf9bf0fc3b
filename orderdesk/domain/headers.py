"""Kafka header names that OrderDesk writes and reads. Values are UTF-8 text.

Other tools read these names: keep them.
"""

from __future__ import annotations

from collections.abc import Sequence

# On every order event.
EVENT_TYPE = "event_type"
SCHEMA_VERSION = "schema_version"
CORRELATION_ID = "correlation_id"
CONTENT_TYPE = "content-type"

# On every dead-letter message, next to the JSON value.
DLQ_ID = "orderdesk.dlq.id"
DLQ_ORIGINAL_TOPIC = "orderdesk.dlq.original.topic"
DLQ_ORIGINAL_PARTITION = "orderdesk.dlq.original.partition"
DLQ_ORIGINAL_OFFSET = "orderdesk.dlq.original.offset"
DLQ_FAILURE_REASON = "orderdesk.dlq.failure.reason"
DLQ_ERROR_MESSAGE = "orderdesk.dlq.error.message"
DLQ_RETRY_COUNT = "orderdesk.dlq.retry.count"

# On a message republished from the dead-letter topic.
REPLAY_DLQ_ID = "orderdesk.replay.dlq.id"
REPLAY_AT = "orderdesk.replay.at"
REPLAY_COUNT = "orderdesk.replay.count"

Headers = Sequence[tuple[str, bytes | None]]


def header_text(headers: Headers | None, name: str) -> str | None:
    """The last value of header `name` as text, or None when absent."""
    if not headers:
        return None
    found = None
    for key, value in headers:
        if key == name:
            found = value
    if found is None:
        return None
    return found.decode("utf-8", errors="backslashreplace")
