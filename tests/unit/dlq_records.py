"""Dead-letter records as OrderDesk's tracker, Spring Kafka and Kafka Connect write them."""

from __future__ import annotations

import copy
import json
import struct
import uuid
from typing import Any

from orderdesk.domain import DeadLetterMessage, FailureReason
from orderdesk.domain import headers as hdr
from tests.unit.orders import VALID_ORDER

Header = tuple[str, bytes | None]


def order_payload(**changes: Any) -> dict[str, Any]:
    """A valid order with a fresh id and the given top-level fields changed."""
    order = copy.deepcopy(VALID_ORDER)
    order["order_id"] = str(uuid.uuid4())
    order.update(changes)
    return order


def broken_order() -> dict[str, Any]:
    """An order whose total does not add up: a VALIDATION_ERROR."""
    return order_payload(total=999.0)


def orderdesk_record(
    payload: dict[str, Any] | str,
    reason: FailureReason = FailureReason.VALIDATION_ERROR,
    error: str = "total: expected 45.10 (sub_total + tax + shipping_fee), got 999.00",
    original_topic: str = "orders",
    original_partition: int = 0,
    original_offset: int = 0,
    key: str | None = None,
    metadata: dict[str, str] | None = None,
) -> tuple[bytes | None, bytes, list[Header], DeadLetterMessage]:
    """(key, value, headers, message) of an OrderDesk dead letter."""
    text = payload if isinstance(payload, str) else json.dumps(payload)
    if key is None and isinstance(payload, dict):
        key = payload["order_id"]
    message = DeadLetterMessage(
        original_topic=original_topic,
        original_partition=original_partition,
        original_offset=original_offset,
        original_key=key,
        original_payload=text,
        failure_reason=reason,
        error_message=error,
        error_stack="Traceback (most recent call last):\n  ...",
        consumer_group="order-tracker-group",
        processing_host="test-host",
        retry_count=0 if not reason.retryable else 3,
        metadata=metadata or {},
    )
    headers: list[Header] = [
        (hdr.DLQ_ID, message.id.encode()),
        (hdr.DLQ_ORIGINAL_TOPIC, original_topic.encode()),
        (hdr.DLQ_ORIGINAL_PARTITION, str(original_partition).encode()),
        (hdr.DLQ_ORIGINAL_OFFSET, str(original_offset).encode()),
        (hdr.DLQ_FAILURE_REASON, reason.value.encode()),
        (hdr.DLQ_ERROR_MESSAGE, error.encode()),
        (hdr.DLQ_RETRY_COUNT, str(message.retry_count).encode()),
    ]
    return (
        key.encode() if key is not None else None,
        message.model_dump_json().encode(),
        headers,
        message,
    )


def spring_headers(
    topic: str, partition: int, offset: int, fqcn: str, message: str, timestamp_ms: int = 0
) -> list[Header]:
    """Headers of Spring Kafka's DeadLetterPublishingRecoverer (numbers as big-endian)."""
    headers: list[Header] = [
        ("kafka_dlt-original-topic", topic.encode()),
        ("kafka_dlt-original-partition", struct.pack(">i", partition)),
        ("kafka_dlt-original-offset", struct.pack(">q", offset)),
        ("kafka_dlt-original-consumer-group", b"spring-orders"),
        ("kafka_dlt-exception-fqcn", fqcn.encode()),
        ("kafka_dlt-exception-message", message.encode()),
        ("kafka_dlt-exception-stacktrace", f"{fqcn}: {message}\n\tat Listener.on".encode()),
    ]
    if timestamp_ms:
        headers.append(("kafka_dlt-original-timestamp", struct.pack(">q", timestamp_ms)))
    return headers


def connect_headers(
    topic: str, partition: int, offset: int, fqcn: str, message: str, stage: str = "TASK_PUT"
) -> list[Header]:
    """Headers of Kafka Connect's dead-letter queue reporter (numbers as text)."""
    return [
        ("__connect.errors.topic", topic.encode()),
        ("__connect.errors.partition", str(partition).encode()),
        ("__connect.errors.offset", str(offset).encode()),
        ("__connect.errors.connector.name", b"orders-sink"),
        ("__connect.errors.task.id", b"0"),
        ("__connect.errors.stage", stage.encode()),
        ("__connect.errors.exception.class.name", fqcn.encode()),
        ("__connect.errors.exception.message", message.encode()),
        ("__connect.errors.exception.stacktrace", f"{fqcn}: {message}\n\tat Task.put".encode()),
    ]
