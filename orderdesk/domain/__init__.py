"""The domain contract: orders, failures, audit and log records, dead letters, health."""

from orderdesk.domain.failures import (
    DeserializationError,
    FailureReason,
    OrderValidationError,
    ProcessingFailure,
    TransientProcessingError,
)
from orderdesk.domain.health import Health, error_health, success_health, throughput_health
from orderdesk.domain.order import (
    CONTENT_TYPE,
    EVENT_ORDER_CREATED,
    SCHEMA_VERSION,
    CustomerInfo,
    InventoryStatus,
    Order,
    OrderItem,
    OrderMetadata,
    parse_order,
    parse_order_shape,
)
from orderdesk.domain.records import (
    AuditEntry,
    AuditEvent,
    DeadLetterMessage,
    LogEntry,
    LogLevel,
    decode_payload,
    utc_now,
)

__all__ = [
    "CONTENT_TYPE",
    "EVENT_ORDER_CREATED",
    "SCHEMA_VERSION",
    "AuditEntry",
    "AuditEvent",
    "CustomerInfo",
    "DeadLetterMessage",
    "DeserializationError",
    "FailureReason",
    "Health",
    "InventoryStatus",
    "LogEntry",
    "LogLevel",
    "Order",
    "OrderItem",
    "OrderMetadata",
    "OrderValidationError",
    "ProcessingFailure",
    "TransientProcessingError",
    "decode_payload",
    "error_health",
    "parse_order",
    "parse_order_shape",
    "success_health",
    "throughput_health",
    "utc_now",
]
