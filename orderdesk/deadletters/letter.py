"""Dead-letter messages: the SPEC's JSON value, descriptive headers, and the producer.

A dead letter is keyed like the original message (so it lands in a partition chosen the same
way) and carries, besides the JSON value, headers naming the original topic, partition,
offset, failure reason and error, as Kafka Connect and Spring Kafka do for their
dead-letter topics, so that tools can route or filter without parsing the value. The
original headers are kept, before ours.
"""

from __future__ import annotations

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


def message_timestamp(msg: Message) -> datetime | None:
    kind, ms = msg.timestamp()
    return None if kind == 0 else from_millis(ms)  # 0: TIMESTAMP_NOT_AVAILABLE


def build_dead_letter(
    msg: Message,
    failure: FailureRecord,
    consumer_group: str,
    host: str | None = None,
    context: Any = None,
) -> DeadLetter:
    """The dead letter for `msg` (value, headers and key), as the domain contract gives."""
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
    dlm, value = encode_dead_letter(dlm)
    return DeadLetter(
        message=dlm,
        key=key,
        value=value,
        headers=dead_letter_headers(dlm, original_headers),
        topic=dlm.original_topic,
        partition=dlm.original_partition,
        offset=dlm.original_offset,
        context=context,
    )


def encode_dead_letter(
    dlm: DeadLetterMessage, limit: int = MAX_VALUE_BYTES
) -> tuple[DeadLetterMessage, bytes]:
    """The JSON value; an original payload too big for Kafka is cut to fit, and marked so."""
    value = dlm.model_dump_json().encode()
    if len(value) <= limit:
        return dlm, value
    payload = dlm.original_payload
    metadata = {
        **dlm.metadata,
        "original_payload_truncated": "true",
        "original_payload_chars": str(len(payload)),
    }
    keep = max(0, len(payload) - (len(value) - limit) - 4096)
    while True:
        cut = dlm.model_copy(update={"original_payload": payload[:keep], "metadata": metadata})
        value = cut.model_dump_json().encode()
        if len(value) <= limit or keep == 0:
            return cut, value
        keep //= 2


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
        conf = {"client.id": f"{settings.kafka.client_id}-dlq", "linger.ms": 2}
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
