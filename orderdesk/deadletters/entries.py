"""One dead letter as the desk sees it, whoever wrote it.

Three producers of dead letters are understood:

* OrderDesk's tracker: the value is a `DeadLetterMessage` (JSON) and `orderdesk.dlq.*`
  headers repeat its coordinates. The entry's id is the message's `id`.
* Spring Kafka's `DeadLetterPublishingRecoverer`: the value is the failed record's value,
  unchanged, and `kafka_dlt-*` headers carry the original coordinates (partition as a
  4-byte and offset as an 8-byte big-endian integer) and the exception: the value's in
  `kafka_dlt-exception-*`, or the key's in `kafka_dlt-key-exception-*` when the key could
  not be deserialized. The record's own time is when it was dead-lettered.
* Kafka Connect's error reporter (`errors.deadletterqueue.context.headers.enable`): the
  value is the failed record's value, `__connect.errors.*` headers carry the coordinates
  as text and the exception. Connect gives the dead letter the failed record's timestamp:
  that is the original's time, and when it was dead-lettered is not recorded.

For the two foreign kinds the payload is the dead-letter value itself, and the id is
derived from the dead letter's own coordinates, `<dlq topic>-<partition>-<offset>`, which
is stable across reads and unique within the cluster.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from pydantic import ValidationError

from orderdesk.domain import DeadLetterMessage, FailureReason
from orderdesk.domain import headers as hdr
from orderdesk.domain.text import from_millis

SOURCE_ORDERDESK = "orderdesk"
SOURCE_SPRING = "spring"
SOURCE_CONNECT = "connect"
SOURCE_UNKNOWN = "unknown"

SPRING_PREFIX = "kafka_dlt-"
SPRING_ORIGINAL_TOPIC = "kafka_dlt-original-topic"
SPRING_ORIGINAL_PARTITION = "kafka_dlt-original-partition"
SPRING_ORIGINAL_OFFSET = "kafka_dlt-original-offset"
SPRING_ORIGINAL_TIMESTAMP = "kafka_dlt-original-timestamp"
SPRING_ORIGINAL_CONSUMER_GROUP = "kafka_dlt-original-consumer-group"
SPRING_EXCEPTION_FQCN = "kafka_dlt-exception-fqcn"
SPRING_EXCEPTION_CAUSE_FQCN = "kafka_dlt-exception-cause-fqcn"
SPRING_EXCEPTION_MESSAGE = "kafka_dlt-exception-message"
SPRING_EXCEPTION_STACKTRACE = "kafka_dlt-exception-stacktrace"
SPRING_KEY_EXCEPTION_FQCN = "kafka_dlt-key-exception-fqcn"
SPRING_KEY_EXCEPTION_CAUSE_FQCN = "kafka_dlt-key-exception-cause-fqcn"
SPRING_KEY_EXCEPTION_MESSAGE = "kafka_dlt-key-exception-message"
SPRING_KEY_EXCEPTION_STACKTRACE = "kafka_dlt-key-exception-stacktrace"

CONNECT_PREFIX = "__connect.errors."
CONNECT_TOPIC = "__connect.errors.topic"
CONNECT_PARTITION = "__connect.errors.partition"
CONNECT_OFFSET = "__connect.errors.offset"
CONNECT_CONNECTOR = "__connect.errors.connector.name"
CONNECT_STAGE = "__connect.errors.stage"
CONNECT_EXCEPTION_CLASS = "__connect.errors.exception.class.name"
CONNECT_EXCEPTION_MESSAGE = "__connect.errors.exception.message"
CONNECT_EXCEPTION_STACKTRACE = "__connect.errors.exception.stacktrace"

#: Headers that describe the dead-lettering or an earlier replay, not the order itself;
#: a republished message does not carry them on.
BOOKKEEPING_PREFIXES = (
    SPRING_PREFIX,
    CONNECT_PREFIX,
    "orderdesk.dlq.",
    "orderdesk.replay.",
)

#: Order of the dead-letter fields of the domain contract, `id` first.
CONTRACT_FIELDS = tuple(DeadLetterMessage.model_fields)

Header = tuple[str, bytes | None]

#: Shown where a time is unknown because the dead letter's writer does not record it.
NOT_RECORDED = "not recorded"
#: Shown where the desk shows a payload, for a record without a value.
TOMBSTONE = "tombstone (null value)"
#: Metadata flag on OrderDesk's dead letters: the failed record had no value at all
#: (`original_payload`, a string, cannot say so).
TOMBSTONE_METADATA = "tombstone"

#: librdkafka's timestamp types (confluent_kafka.TIMESTAMP_*), without importing the client.
TIMESTAMP_CREATE_TIME = 1
TIMESTAMP_LOG_APPEND_TIME = 2


@dataclass(frozen=True)
class DeadLetterEntry:
    """A dead letter read from a dead-letter topic, with what is needed to republish it.

    `message` holds the contract's fields: OrderDesk's value as written, or for a foreign
    kind what its headers say. Fields such a dead letter does not say are named in
    `unknown` and read as `None` here (the message holds a placeholder for them).
    """

    message: DeadLetterMessage
    source: str
    dlq_topic: str
    dlq_partition: int
    dlq_offset: int
    #: The key as it was on the failed record; a republish keeps it byte for byte.
    key_bytes: bytes | None
    #: The failed record's value as bytes (the dead-letter value itself for foreign kinds).
    payload_bytes: bytes | None
    error_class: str = ""
    headers: tuple[Header, ...] = ()
    unknown: frozenset[str] = frozenset()

    @property
    def id(self) -> str:
        return self.message.id

    @property
    def timestamp(self) -> datetime | None:
        """When the dead letter was written (the record's own time when the value has none)."""
        return None if "timestamp" in self.unknown else self.message.timestamp

    @property
    def original_topic(self) -> str | None:
        return None if "original_topic" in self.unknown else self.message.original_topic

    @property
    def original_partition(self) -> int | None:
        return None if "original_partition" in self.unknown else self.message.original_partition

    @property
    def original_offset(self) -> int | None:
        return None if "original_offset" in self.unknown else self.message.original_offset

    @property
    def original_key(self) -> str | None:
        return self.message.original_key

    @property
    def original_payload(self) -> str:
        return self.message.original_payload

    @property
    def is_tombstone(self) -> bool:
        """The failed record had no value at all (a tombstone), not an empty one."""
        return self.payload_bytes is None

    @property
    def payload_display(self) -> str:
        """The payload as the desk shows it: the text, or what stands for a missing value."""
        return TOMBSTONE if self.is_tombstone else self.original_payload

    @property
    def original_timestamp(self) -> datetime | None:
        return self.message.original_timestamp

    @property
    def failure_reason(self) -> FailureReason:
        return self.message.failure_reason

    @property
    def error_message(self) -> str:
        return self.message.error_message

    @property
    def error_stack(self) -> str:
        return self.message.error_stack

    @property
    def consumer_group(self) -> str:
        return self.message.consumer_group

    @property
    def retry_count(self) -> int:
        return self.message.retry_count

    @property
    def metadata(self) -> dict[str, str]:
        return self.message.metadata

    @property
    def original_coordinates(self) -> str:
        """`topic[partition]@offset`, with `?` for what is unknown."""
        topic = self.original_topic or "?"
        part = "?" if self.original_partition is None else str(self.original_partition)
        off = "?" if self.original_offset is None else str(self.original_offset)
        return f"{topic}[{part}]@{off}"

    @property
    def replay_of(self) -> str | None:
        """The dead-letter id that this entry's failed record was a replay of, if any.

        Set when a republished message failed again: the tracker (or Spring, or Connect)
        carries the replay headers or metadata of the failed record into the dead letter.
        """
        return hdr.header_text(self.headers, hdr.REPLAY_DLQ_ID) or self.metadata.get(
            hdr.REPLAY_DLQ_ID
        )

    def republish_headers(self) -> list[Header]:
        """Headers of the failed record worth carrying to a republished copy."""
        if self.source == SOURCE_ORDERDESK:
            return _order_headers(self.payload_bytes)
        return [(k, v) for k, v in self.headers if not k.startswith(BOOKKEEPING_PREFIXES)]

    def to_record(self) -> dict[str, Any]:
        """The dead-letter fields of the domain contract (`id` first) as JSON data, then
        where the dead letter itself sits and who wrote it."""
        record: dict[str, Any] = {}
        for name in CONTRACT_FIELDS:
            value = None if name in self.unknown else getattr(self.message, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, FailureReason):
                value = value.value
            elif isinstance(value, dict):
                value = dict(value)
            record[name] = value
        if self.is_tombstone:
            record["original_payload"] = None
        record["error_class"] = self.error_class
        record["source"] = self.source
        record["dlq_topic"] = self.dlq_topic
        record["dlq_partition"] = self.dlq_partition
        record["dlq_offset"] = self.dlq_offset
        record["headers"] = {k: _header_display(v) for k, v in self.headers}
        return record

    def matches(self, text: str) -> bool:
        """Case-insensitive search in the id, error, key, coordinates and payload."""
        return text.casefold() in self._haystack

    @cached_property
    def _haystack(self) -> str:
        # Folded once per entry: a filter runs over every entry at each change of the text.
        parts = (
            self.id,
            self.error_message,
            self.error_class,
            self.original_key or "",
            self.original_coordinates,
            self.original_payload,
        )
        return "\x00".join(parts).casefold()


def foreign_id(dlq_topic: str, partition: int, offset: int) -> str:
    return f"{dlq_topic}-{partition}-{offset}"


def entry_from_record(
    dlq_topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    headers: list[Header] | tuple[Header, ...] | None,
    timestamp_ms: int | None = None,
    timestamp_type: int = TIMESTAMP_CREATE_TIME,
) -> DeadLetterEntry:
    """Build an entry from the parts of a dead-letter record (no Kafka client needed).

    `timestamp_type` is the record's (`msg.timestamp()[0]`): a broker that stamps records
    on append (LogAppendTime) gives the dead-lettering time whoever wrote the record.
    """
    headers = tuple(headers or ())
    record_time = from_millis(timestamp_ms)
    names = {k for k, _ in headers}
    if value is not None and (hdr.DLQ_ID in names or _looks_like_orderdesk(value)):
        try:
            message = DeadLetterMessage.model_validate_json(value)
        except ValidationError:
            message = None
        if message is not None:
            return _from_orderdesk(message, dlq_topic, partition, offset, key, headers)
    record = _ForeignRecord(
        id=hdr.header_text(headers, hdr.DLQ_ID) or foreign_id(dlq_topic, partition, offset),
        dlq_topic=dlq_topic,
        dlq_partition=partition,
        dlq_offset=offset,
        timestamp=record_time,
        key=key,
        value=value,
        headers=headers,
        appended_by_broker=timestamp_type == TIMESTAMP_LOG_APPEND_TIME,
    )
    if any(n.startswith(SPRING_PREFIX) for n in names):
        return _from_spring(record)
    if any(n.startswith(CONNECT_PREFIX) for n in names):
        return _from_connect(record)
    return record.entry(
        SOURCE_UNKNOWN,
        dead_letter_time=record_time,
        original_topic=hdr.header_text(headers, hdr.DLQ_ORIGINAL_TOPIC),
        original_partition=_int_text(hdr.header_text(headers, hdr.DLQ_ORIGINAL_PARTITION)),
        original_offset=_int_text(hdr.header_text(headers, hdr.DLQ_ORIGINAL_OFFSET)),
        failure_reason=_reason(hdr.header_text(headers, hdr.DLQ_FAILURE_REASON) or ""),
        error_message=hdr.header_text(headers, hdr.DLQ_ERROR_MESSAGE) or "",
        retry_count=_int_text(hdr.header_text(headers, hdr.DLQ_RETRY_COUNT)) or 0,
    )


@dataclass(frozen=True)
class _ForeignRecord:
    """The parts of a dead letter whose value is the failed record's value itself."""

    id: str
    dlq_topic: str
    dlq_partition: int
    dlq_offset: int
    timestamp: datetime | None
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...]
    #: The record's time was set by the broker on append: it is the dead-lettering time.
    appended_by_broker: bool = False

    def text(self, name: str) -> str | None:
        return hdr.header_text(self.headers, name)

    def entry(
        self,
        source: str,
        *,
        original_topic: str | None,
        original_partition: int | None,
        original_offset: int | None,
        failure_reason: FailureReason,
        error_message: str,
        error_class: str = "",
        dead_letter_time: datetime | None = None,
        **fields: Any,
    ) -> DeadLetterEntry:
        """The entry; the coordinates its headers do not give are marked unknown.

        `dead_letter_time` is when it was dead-lettered, if the writer says (else unknown).
        """
        said = {
            "timestamp": dead_letter_time,
            "original_topic": original_topic,
            "original_partition": original_partition,
            "original_offset": original_offset,
        }
        message = DeadLetterMessage(
            id=self.id,
            # Placeholders for what is not said; `unknown` makes them read as None.
            timestamp=_EPOCH if self.timestamp is None else self.timestamp,
            original_topic="" if original_topic is None else original_topic,
            original_partition=-1 if original_partition is None else original_partition,
            original_offset=-1 if original_offset is None else original_offset,
            original_key=_text(self.key),
            original_payload=_text(self.value) or "",
            failure_reason=failure_reason,
            error_message=error_message,
            **fields,
        )
        return DeadLetterEntry(
            message=message,
            source=source,
            dlq_topic=self.dlq_topic,
            dlq_partition=self.dlq_partition,
            dlq_offset=self.dlq_offset,
            key_bytes=self.key,
            payload_bytes=self.value,
            error_class=error_class,
            headers=self.headers,
            unknown=frozenset(k for k, v in said.items() if v is None),
        )


_EPOCH = datetime.fromtimestamp(0, tz=UTC)


def _from_orderdesk(
    message: DeadLetterMessage,
    dlq_topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    headers: tuple[Header, ...],
) -> DeadLetterEntry:
    original_key = message.original_key
    # The tracker keys a dead letter by the failed record's key; the value says it as text.
    key_bytes = original_key.encode("utf-8") if original_key is not None else key
    return DeadLetterEntry(
        message=message,
        source=SOURCE_ORDERDESK,
        dlq_topic=dlq_topic,
        dlq_partition=partition,
        dlq_offset=offset,
        key_bytes=key_bytes,
        payload_bytes=None
        if message.metadata.get(TOMBSTONE_METADATA) == "true"
        else message.original_payload.encode("utf-8"),
        error_class=message.metadata.get("error_class", ""),
        headers=headers,
    )


def _from_spring(record: _ForeignRecord) -> DeadLetterEntry:
    def raw(name: str) -> bytes | None:
        return _last(record.headers, name)

    names = {name for name, _ in record.headers}
    # The value's exception, or, when only the key could not be deserialized, the key's.
    key_failed = SPRING_EXCEPTION_FQCN not in names and SPRING_KEY_EXCEPTION_FQCN in names
    if key_failed:
        fqcn_names = (SPRING_KEY_EXCEPTION_CAUSE_FQCN, SPRING_KEY_EXCEPTION_FQCN)
        message_name, stack_name = SPRING_KEY_EXCEPTION_MESSAGE, SPRING_KEY_EXCEPTION_STACKTRACE
    else:
        fqcn_names = (SPRING_EXCEPTION_CAUSE_FQCN, SPRING_EXCEPTION_FQCN)
        message_name, stack_name = SPRING_EXCEPTION_MESSAGE, SPRING_EXCEPTION_STACKTRACE
    fqcn = record.text(fqcn_names[0]) or record.text(fqcn_names[1]) or ""
    message = record.text(message_name) or ""
    stack = record.text(stack_name) or ""
    if key_failed:
        # Spring's message is only "failed to deserialize"; the reason is the root cause.
        cause = _root_cause(stack)
        message = f"key: {message or 'failed to deserialize'}" + (f" ({cause})" if cause else "")
    return record.entry(
        SOURCE_SPRING,
        original_topic=record.text(SPRING_ORIGINAL_TOPIC),
        original_partition=_big_endian(raw(SPRING_ORIGINAL_PARTITION)),
        original_offset=_big_endian(raw(SPRING_ORIGINAL_OFFSET)),
        original_timestamp=from_millis(_big_endian(raw(SPRING_ORIGINAL_TIMESTAMP))),
        failure_reason=reason_for_exception(fqcn, message),
        error_message=message,
        error_stack=stack,
        error_class=fqcn,
        consumer_group=record.text(SPRING_ORIGINAL_CONSUMER_GROUP) or "",
        # Spring publishes the dead letter without a timestamp: the producer stamps it.
        dead_letter_time=record.timestamp,
        metadata={"failed_part": "key"} if key_failed else {},
    )


def _from_connect(record: _ForeignRecord) -> DeadLetterEntry:
    text = record.text
    fqcn = text(CONNECT_EXCEPTION_CLASS) or ""
    message = text(CONNECT_EXCEPTION_MESSAGE) or ""
    stack = text(CONNECT_EXCEPTION_STACKTRACE) or ""
    # A converter's message stops at "failed due to serialization error: "; the reason is
    # the root cause, further down the stack trace.
    cause = _root_cause(stack)
    if cause and cause.partition(":")[2].strip() not in message:
        message = f"{message.rstrip(': ')} ({cause})" if message else cause
    stage = text(CONNECT_STAGE) or ""
    metadata = {k: v for k, v in (("connector", text(CONNECT_CONNECTOR)), ("stage", stage)) if v}
    reason = (
        FailureReason.DESERIALIZATION_ERROR
        if stage.endswith("_CONVERTER")
        else reason_for_exception(fqcn, message)
    )
    return record.entry(
        SOURCE_CONNECT,
        original_topic=text(CONNECT_TOPIC),
        original_partition=_int_text(text(CONNECT_PARTITION)),
        original_offset=_int_text(text(CONNECT_OFFSET)),
        failure_reason=reason,
        error_message=message,
        error_stack=stack,
        error_class=fqcn,
        metadata=metadata,
        # Connect copies the failed record's timestamp onto the dead letter; the time of
        # the dead-lettering itself is in no header. Unless the broker stamped it on append.
        dead_letter_time=record.timestamp if record.appended_by_broker else None,
        original_timestamp=None if record.appended_by_broker else record.timestamp,
    )


def _root_cause(stack: str) -> str:
    """The last "Caused by:" of a Java stack trace, without the package of its class."""
    causes = [line for line in stack.splitlines() if line.startswith("Caused by: ")]
    if not causes:
        return ""
    text = causes[-1].removeprefix("Caused by: ")
    name, _, rest = text.partition(":")
    return name.rsplit(".", 1)[-1] + (":" + rest if rest else "")


def reason_for_exception(class_name: str, message: str = "") -> FailureReason:
    """Map a foreign exception to the nearest failure reason, by the words in its name."""
    name = class_name.rsplit(".", 1)[-1].casefold()
    if any(w in name for w in ("deserializ", "serializ", "conversion", "dataexception", "json")):
        return FailureReason.DESERIALIZATION_ERROR
    if any(w in name for w in ("validat", "constraint", "notvalid", "illegalargument")):
        return FailureReason.VALIDATION_ERROR
    if "timeout" in name or "timedout" in name:
        return FailureReason.TIMEOUT_ERROR
    if name:
        return FailureReason.PROCESSING_ERROR
    return FailureReason.UNKNOWN_ERROR


def _reason(text: str) -> FailureReason:
    try:
        return FailureReason(text)
    except ValueError:
        return FailureReason.UNKNOWN_ERROR


def _looks_like_orderdesk(value: bytes) -> bool:
    head = value[:512]
    return head.lstrip().startswith(b"{") and b'"failure_reason"' in value


def _order_headers(payload: bytes | None) -> list[Header]:
    """The headers the producer puts on an order, rebuilt from the payload's metadata."""
    out: list[Header] = [(hdr.CONTENT_TYPE, b"application/json")]
    try:
        meta = json.loads(payload or b"").get("metadata") or {}
    except (ValueError, AttributeError, RecursionError):
        return out
    if not isinstance(meta, dict):
        return out
    for name, field_name in (
        (hdr.EVENT_TYPE, "event_type"),
        (hdr.SCHEMA_VERSION, "version"),
        (hdr.CORRELATION_ID, "correlation_id"),
    ):
        value = meta.get(field_name)
        if isinstance(value, str) and value:
            out.append((name, value.encode("utf-8")))
    return out


def _last(headers: tuple[Header, ...], name: str) -> bytes | None:
    found = None
    for k, v in headers:
        if k == name:
            found = v
    return found


def _big_endian(raw: bytes | None) -> int | None:
    """Spring writes partition as int (4 bytes) and offset/timestamp as long (8 bytes)."""
    if raw is None:
        return None
    if len(raw) == 4:
        return struct.unpack(">i", raw)[0]
    if len(raw) == 8:
        return struct.unpack(">q", raw)[0]
    # Some producers write the number as text instead.
    return _int_text(raw.decode("utf-8", errors="replace"))


def _int_text(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", errors="backslashreplace")


def _header_display(value: bytes | None) -> str | None:
    """Header text, or `0x…` hex for binary values such as Spring's numbers."""
    if value is None:
        return None
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + value.hex()
    if text.isprintable() or all(c.isprintable() or c in "\n\r\t" for c in text):
        return text
    return "0x" + value.hex()
