"""Dead-letter messages: the SPEC's JSON value, descriptive headers, and the producer.

A dead letter is keyed like the original message (so it lands in a partition chosen the same
way) and carries, besides the JSON value, headers naming the original topic, partition,
offset, failure reason and error, as Kafka Connect and Spring Kafka do for their
dead-letter topics, so that tools can route or filter without parsing the value. The
original headers are kept, before ours.
"""

from __future__ import annotations

import base64
import json
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import KafkaError, Message

from orderdesk.config import Settings
from orderdesk.deadletters.entries import TOMBSTONE_METADATA
from orderdesk.domain import CONTENT_TYPE, DeadLetterMessage, FailureReason, decode_payload
from orderdesk.domain import headers as h
from orderdesk.domain.text import from_millis
from orderdesk.kafka import make_producer
from orderdesk.kafka.records import (
    ProduceHeaders,
    record_headers,
    record_offset,
    record_partition,
    record_topic,
)

#: Largest dead-letter value written; librdkafka refuses messages over 1,000,000 bytes by
#: default and brokers over about 1 MiB. A bigger original payload is cut (and says so).
MAX_VALUE_BYTES = 900_000
#: Longest error message copied into a header (the value always has all of it).
MAX_HEADER_TEXT = 1_000
#: Original headers copied into the dead letter's metadata map.
_CARRIED_HEADERS = (h.EVENT_TYPE, h.SCHEMA_VERSION, h.CORRELATION_ID)

DeliveryCallback = Callable[["DeadLetter", "KafkaError | None"], None]


@dataclass
class FailureRecord:
    """How a message failed: the last failure, and when the first and last happened."""

    reason: FailureReason
    error_message: str
    retry_count: int = 0
    error_stack: str = ""
    first_failure: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_failure: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class DeadLetter:
    """A dead-letter message ready to produce, and the original it stands for."""

    message: DeadLetterMessage
    key: bytes | None
    value: bytes
    headers: ProduceHeaders
    topic: str
    partition: int
    offset: int
    #: Anything the caller wants back in the delivery callback.
    context: Any = None
    #: The original payload, to cut the letter again if the broker finds it too big.
    raw: bytes | None = None


def message_timestamp(msg: Message) -> datetime | None:
    kind, ms = msg.timestamp()
    return None if kind == 0 else from_millis(ms)  # 0: TIMESTAMP_NOT_AVAILABLE


def build_dead_letter(
    msg: Message,
    failure: FailureRecord,
    consumer_group: str,
    host: str | None = None,
    context: Any = None,
    max_message_bytes: int | None = None,
) -> DeadLetter:
    """The dead letter for `msg` (value, headers and key), as the domain contract gives.

    `max_message_bytes`: the largest message the dead-letter topic takes, when known.
    """
    original_headers = record_headers(msg)
    metadata = {"message_size": str(len(msg.value() or b""))}
    if msg.value() is None:
        # original_payload is text and cannot say null; a replay sends a tombstone again.
        metadata[TOMBSTONE_METADATA] = "true"
    for name, value in original_headers:
        if name in _CARRIED_HEADERS and value is not None:
            metadata[name] = value.decode("utf-8", errors="backslashreplace")
    key = msg.key()
    dlm = DeadLetterMessage(
        id=new_uuid4(),
        original_topic=record_topic(msg),
        original_partition=record_partition(msg),
        original_offset=record_offset(msg),
        original_key=None if key is None else decode_payload(key),
        original_payload=decode_payload(msg.value()),
        original_timestamp=message_timestamp(msg),
        failure_reason=failure.reason,
        error_message=failure.error_message,
        error_stack=failure.error_stack,
        consumer_group=consumer_group,
        processing_host=host if host is not None else socket.gethostname(),
        retry_count=failure.retry_count,
        first_failure=failure.first_failure,
        last_failure=failure.last_failure,
        next_retry_at=None,
        is_reprocessed=False,
        metadata=metadata,
    )
    headers = dead_letter_headers(dlm, original_headers)
    overhead = len(key or b"") + sum(len(k) + len(v or b"") for k, v in headers) + 512
    limit = MAX_VALUE_BYTES if max_message_bytes is None else max_message_bytes - overhead
    dlm, value = encode_dead_letter(dlm, min(MAX_VALUE_BYTES, max(1, limit)), msg.value())
    return DeadLetter(
        message=dlm,
        key=key,
        value=value,
        headers=headers,
        topic=dlm.original_topic,
        partition=dlm.original_partition,
        offset=dlm.original_offset,
        context=context,
        raw=msg.value(),
    )


def encode_dead_letter(
    dlm: DeadLetterMessage, limit: int = MAX_VALUE_BYTES, raw: bytes | None = None
) -> tuple[DeadLetterMessage, bytes]:
    """The JSON value; an original payload too big for `limit` is cut to fit, and marked so.

    As much of the payload is kept as fits (never none of it): text as its longest prefix
    that fits once JSON-escaped; a payload that is not UTF-8 (`raw`, the original bytes) as
    base64 of its longest prefix that fits, since escaping each byte as text costs up to
    five. The metadata then says so: `original_payload_truncated`, the original's size
    (`original_payload_bytes`, `original_payload_chars`), what was kept
    (`original_payload_kept_bytes`) and, for base64, `original_payload_encoding`.
    """
    value = dlm.model_dump_json().encode()
    if len(value) <= limit:
        return dlm, value
    text = dlm.original_payload
    binary = raw is not None and not _is_utf8(raw)
    metadata = {
        **dlm.metadata,
        "original_payload_truncated": "true",
        # Cut again (the broker refused the first cut): the sizes stay the original's.
        "original_payload_chars": dlm.metadata.get("original_payload_chars", str(len(text))),
        "original_payload_bytes": dlm.metadata.get(
            "original_payload_bytes", str(len(raw) if raw is not None else len(text.encode()))
        ),
        "original_payload_kept_bytes": "0" * 20,  # room for the number, set below
    }
    if binary:
        metadata["original_payload_encoding"] = "base64"
    empty = dlm.model_copy(update={"original_payload": "", "metadata": metadata})
    budget = max(1, limit - len(empty.model_dump_json().encode()))
    while True:
        if binary:
            assert raw is not None
            kept = max(1, budget // 4 * 3)
            payload = base64.b64encode(raw[:kept]).decode()
        else:
            cut = _longest_prefix(text, budget)
            payload = text[:cut]
            kept = len(payload.encode())
        metadata["original_payload_kept_bytes"] = str(kept)
        out = dlm.model_copy(update={"original_payload": payload, "metadata": dict(metadata)})
        value = out.model_dump_json().encode()
        if len(value) <= limit or budget <= 1:
            return out, value
        budget = max(1, budget - (len(value) - limit) - 16)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def _json_size(text: str) -> int:
    """Bytes `text` takes as a JSON string's content (pydantic's escaping, UTF-8)."""
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2


def _longest_prefix(text: str, budget: int) -> int:
    """Length of the longest prefix of `text` whose JSON-escaped size is within `budget`;
    at least one character."""
    low, high = 1, len(text)
    if _json_size(text) <= budget:
        return len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if _json_size(text[:mid]) <= budget:
            low = mid
        else:
            high = mid - 1
    return low


def new_uuid4() -> str:
    """A random (version 4) UUID string for a dead letter's id."""
    return str(uuid.uuid4())


def dead_letter_headers(
    dlm: DeadLetterMessage, original: list[tuple[str, bytes | None]] | None = None
) -> ProduceHeaders:
    """Original headers (but their content type) followed by the dead-letter headers."""
    out: ProduceHeaders = [
        (k, v) for k, v in (original or []) if k != h.CONTENT_TYPE and v is not None
    ]
    out += [
        (h.CONTENT_TYPE, CONTENT_TYPE.encode()),
        (h.DLQ_ID, dlm.id.encode()),
        (h.DLQ_ORIGINAL_TOPIC, dlm.original_topic.encode()),
        (h.DLQ_ORIGINAL_PARTITION, str(dlm.original_partition).encode()),
        (h.DLQ_ORIGINAL_OFFSET, str(dlm.original_offset).encode()),
        (h.DLQ_FAILURE_REASON, dlm.failure_reason.value.encode()),
        (h.DLQ_ERROR_MESSAGE, dlm.error_message[:MAX_HEADER_TEXT].encode()),
        (h.DLQ_RETRY_COUNT, str(dlm.retry_count).encode()),
    ]
    return out


class DeadLetterProducer:
    """Idempotent, fully acknowledged producer for the dead-letter topic.

    `send` only queues; deliveries are reported to `on_delivery` from `poll`/`flush`, on the
    caller's thread. Callers batch their sends and flush once before committing.
    """

    def __init__(self, settings: Settings, on_delivery: DeliveryCallback, **extra: Any) -> None:
        # Letters go out in batches: the tracker awaits them once per commit, not per send.
        conf = {"client.id": f"{settings.kafka.client_id}-dlq", "linger.ms": 20}
        conf.update(extra)
        self.topic = settings.topics.dlq
        self._producer = make_producer(settings.kafka, **conf)
        self._on_delivery = on_delivery
        self.in_flight = 0

    def send(self, letter: DeadLetter) -> None:
        """Queue `letter`; waits (polling) while the client's queue is full."""

        def delivered(err: KafkaError | None, _msg: Message) -> None:
            self.in_flight -= 1
            self._on_delivery(letter, err)

        while True:
            try:
                self._producer.produce(
                    self.topic,
                    value=letter.value,
                    key=letter.key,
                    headers=letter.headers,
                    on_delivery=delivered,
                )
                break
            except BufferError:
                self._producer.poll(0.1)
        self.in_flight += 1

    def poll(self, timeout: float = 0) -> int:
        return self._producer.poll(timeout)

    def flush(self, timeout: float) -> int:
        """Wait up to `timeout` s for every queued delivery; returns how many are left."""
        if self.in_flight == 0:
            return 0
        return self._producer.flush(timeout)

    def close(self, timeout: float) -> int:
        """Flush before the client goes; what is left is reported as not delivered."""
        return self.flush(timeout)
