"""JSON Lines writers of the tracker: exact audit fields, flushing, rotation, torn lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orderdesk.audit.format import embeddable
from orderdesk.audit.writer import AuditWriter, order_json
from orderdesk.config import ProducerSettings
from orderdesk.domain import (
    AuditEntry,
    AuditEvent,
    DeserializationError,
    LogEntry,
    LogLevel,
    parse_order,
)
from orderdesk.producer.generator import OrderGenerator
from orderdesk.service.jsonl import AUTO_FLUSH_BYTES, JsonLinesWriter
from orderdesk.service.techlog import TechnicalLogWriter
from tests.unit.orders import order_dict

AUDIT_FIELDS = set(AuditEntry.model_fields)


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def test_a_valid_order_reads_back_as_the_same_entry(tmp_path):
    payload = json.dumps(order_dict()).encode()
    order = parse_order(payload)
    with AuditWriter(tmp_path / "tracker.events", 1 << 20, 1) as audit:
        audit.write(AuditEvent.ORDER_VALIDATED, "orders", 2, 41, payload, None, order)

    (line,) = _lines(tmp_path / "tracker.events")
    raw = json.loads(line)
    # The payload is written once, verbatim, as order_full; raw_message only when unparsed.
    assert set(raw) == AUDIT_FIELDS - {"error", "raw_message"}
    assert line.endswith(b'"order_full":' + payload + b"}")
    assert line.count(b'"order_id"') == 1
    entry = AuditEntry.model_validate_json(line)
    assert entry.event_type is AuditEvent.ORDER_VALIDATED
    assert (entry.kafka_topic, entry.kafka_partition, entry.kafka_offset) == ("orders", 2, 41)
    assert entry.raw_message is None
    assert entry.message_size == len(payload)
    assert entry.deserialized is True
    assert entry.error is None
    assert entry.order_full == order
    assert entry.timestamp.tzinfo is not None


@pytest.mark.parametrize(
    "payload",
    [
        None,
        b"",
        b"\xff\xfe not utf-8",
        b'{"order_id": "x"\n}',
        '{\u2028 "caf\u00e9": "\u65e5\u672c" }'.encode(),
        b"\x00\x01\x1f",
    ],
)
def test_bad_payloads_make_one_valid_line_each(tmp_path, payload):
    with AuditWriter(tmp_path / "e", 1 << 20, 1) as audit:
        audit.write(
            AuditEvent.ORDER_REJECTED,
            "orders",
            0,
            7,
            payload,
            'DESERIALIZATION_ERROR: "quoted"\nand a second line',
        )
    (line,) = _lines(tmp_path / "e")
    entry = AuditEntry.model_validate_json(line)
    assert set(json.loads(line)) == AUDIT_FIELDS - {"order_full"}
    assert entry.deserialized is False
    assert entry.order_full is None
    assert entry.error == 'DESERIALIZATION_ERROR: "quoted"\nand a second line'
    assert entry.message_size == (0 if payload is None else len(payload))
    assert entry.raw_message == (payload or b"").decode("utf-8", "backslashreplace")


def test_the_payload_is_reused_as_order_full_only_when_it_is_one_strict_line():
    compact = json.dumps(order_dict()).encode()
    order = parse_order(compact)
    assert order_json(order, compact) is compact
    pretty = json.dumps(order_dict(), indent=2).encode()
    assert b"\n" not in order_json(parse_order(pretty), pretty)
    named = json.dumps(order_dict(status="NaN Infinity")).encode()
    assert order_json(parse_order(named), named) is named
    # The reader refuses NaN anywhere (it is not JSON); should a payload with one in a
    # field the order does not know reach the writer all the same, it writes null.
    nan = compact.replace(b'"tax": 7.1', b'"tax": 7.1, "gift_card": NaN')
    with pytest.raises(DeserializationError, match="NaN and Infinity are not JSON"):
        parse_order(nan)
    assert order_json(order, nan) == b"null"


def test_an_order_with_a_non_finite_number_still_reads_back(tmp_path):
    clean = json.dumps(order_dict())
    nan = clean.replace('"tax": 7.1', '"tax": 7.1, "tip": Infinity').encode()
    with AuditWriter(tmp_path / "e", 1 << 20, 1) as audit:
        audit.write(AuditEvent.ORDER_REJECTED, "t", 0, 1, nan, "x", parse_order(clean))
    (line,) = _lines(tmp_path / "e")
    json.loads(line, parse_constant=_refuse)
    entry = AuditEntry.model_validate_json(line)
    assert entry.deserialized and entry.order_full is None and entry.raw_message == nan.decode()


def _refuse(name: str) -> None:
    raise AssertionError(f"non-standard JSON constant {name}")


def test_a_pretty_printed_order_stays_on_one_line(tmp_path):
    pretty = json.dumps(order_dict(), indent=2).encode()
    order = parse_order(pretty)
    with AuditWriter(tmp_path / "e", 1 << 20, 1) as audit:
        audit.write(AuditEvent.ORDER_VALIDATED, "orders", 0, 1, pretty, None, order)
    (line,) = _lines(tmp_path / "e")
    assert AuditEntry.model_validate_json(line).order_full == order


def test_lines_reach_the_file_only_on_flush(tmp_path):
    path = tmp_path / "e"
    writer = JsonLinesWriter(path, 1 << 20, 1)
    writer.write_line(b'{"a":1}\n')
    assert path.read_bytes() == b""
    writer.flush()
    assert path.read_bytes() == b'{"a":1}\n'
    writer.close()


def test_a_big_backlog_is_written_without_waiting_for_flush(tmp_path):
    path = tmp_path / "e"
    with JsonLinesWriter(path, 1 << 30, 1) as writer:
        line = b"x" * 1000 + b"\n"
        for _ in range(AUTO_FLUSH_BYTES // len(line) + 1):
            writer.write_line(line)
        assert path.stat().st_size >= AUTO_FLUSH_BYTES


def test_rotation_keeps_the_newest_backups(tmp_path):
    path = tmp_path / "tracker.events"
    line = b"y" * 99 + b"\n"
    with JsonLinesWriter(path, 1024, 2) as writer:
        for i in range(40):
            writer.write_line(b"%03d" % i + line[3:])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["tracker.events", "tracker.events.1", "tracker.events.2"]
    sizes = [p.stat().st_size for p in tmp_path.iterdir()]
    assert all(s <= 1024 for s in sizes)
    # No line is split across files, and the newest lines survive in order.
    kept = []
    for name in ["tracker.events.2", "tracker.events.1", "tracker.events"]:
        kept += [int(x[:3]) for x in _lines(tmp_path / name)]
    assert kept == list(range(40 - len(kept), 40))


def test_no_backups_means_the_file_starts_again(tmp_path):
    path = tmp_path / "tracker.log"
    with JsonLinesWriter(path, 1024, 0) as writer:
        for _ in range(30):
            writer.write_line(b"z" * 99 + b"\n")
    assert [p.name for p in tmp_path.iterdir()] == ["tracker.log"]
    assert path.stat().st_size <= 1024


def test_a_line_cut_by_a_crash_stays_alone(tmp_path):
    path = tmp_path / "e"
    path.write_bytes(b'{"complete":1}\n{"cut sho')
    with JsonLinesWriter(path, 1 << 20, 1) as writer:
        writer.write_line(b'{"next":2}\n')
    assert _lines(path) == [b'{"complete":1}', b'{"cut sho', b'{"next":2}']


def test_appending_to_an_existing_file_counts_its_size(tmp_path):
    path = tmp_path / "e"
    path.write_bytes(b"a" * 1000 + b"\n")
    with JsonLinesWriter(path, 1100, 1) as writer:
        writer.write_line(b"b" * 200 + b"\n")
    assert (tmp_path / "e.1").read_bytes() == b"a" * 1000 + b"\n"
    assert path.read_bytes() == b"b" * 200 + b"\n"


def test_the_directory_is_created(tmp_path):
    path = tmp_path / "a" / "b" / "tracker.log"
    with JsonLinesWriter(path, 1024, 1):
        pass
    assert path.exists()


def test_technical_log_entries_read_back(tmp_path):
    path = tmp_path / "tracker.log"
    entry = LogEntry(
        level=LogLevel.ERROR,
        message="dead letter failed",
        service="tracker",
        error="Broker: Message size too large",
        metadata={"partition": 1, "offset": 5},
    )
    with TechnicalLogWriter(path, 1 << 20, 1) as log:
        log.write(entry)
        log.write(LogEntry(level=LogLevel.INFO, message="started", service="tracker"))
    first, second = (LogEntry.model_validate_json(x) for x in _lines(path))
    assert first == entry
    assert second.error is None and second.metadata is None
    assert "error" not in json.loads(_lines(path)[1])


def test_a_retried_order_keeps_its_error_and_is_written_once(tmp_path):
    payload = json.dumps(order_dict(), ensure_ascii=False).encode()
    with AuditWriter(tmp_path / "e", 1 << 20, 1) as audit:
        audit.write(AuditEvent.ORDER_RETRIED, "orders", 0, 1, payload, "PROCESSING_ERROR: x\n2",
                    parse_order(payload))  # fmt: skip
    (line,) = _lines(tmp_path / "e")
    assert set(json.loads(line)) == AUDIT_FIELDS - {"raw_message"}
    assert line.endswith(b'"order_full":' + payload + b"}")
    entry = AuditEntry.model_validate_json(line)
    assert entry.error == "PROCESSING_ERROR: x\n2" and entry.raw_message is None


def test_audit_bytes_per_generated_order_stay_within_a_third_over_the_payload(tmp_path):
    gen = OrderGenerator(ProducerSettings(faulty_ratio=0.0), seed=5)
    payloads = [gen.next_event().value for _ in range(500)]
    with AuditWriter(tmp_path / "e", 1 << 30, 1) as audit:
        for i, p in enumerate(payloads):
            audit.write(AuditEvent.ORDER_VALIDATED, "orders", i % 3, i, p, None, parse_order(p))
    written = (tmp_path / "e").stat().st_size
    assert written <= 1.3 * sum(map(len, payloads))


@pytest.mark.parametrize(
    ("payload", "verbatim"),
    [
        (b'{"a":"NaN, Infinity and -Infinity as text"}', True),
        (b'{"a":"caf\xc3\xa9 \\u00e9"}', True),
        (b'{"a":1,"b":NaN}', False),
        (b'{"a":[1, -Infinity]}', False),
        (b'{"a":"\xff"}', False),  # not UTF-8
        (b'{"a":\n1}\r\n', "spaces"),
        (b'{"a":"x\ny"}', False),  # a raw line break inside a string is not JSON
    ],
)
def test_only_a_strict_json_line_is_embedded(payload, verbatim):
    body = embeddable(payload)
    if verbatim == "spaces":
        assert body == b'{"a": 1}  '
    elif verbatim:
        assert body is payload
    else:
        assert body is None


class _FixedClock(AuditWriter):
    def timestamp(self) -> str:
        return "2026-11-25T12:00:00.000Z"


def test_a_payload_the_reader_accepted_makes_the_same_line_with_fewer_checks(tmp_path):
    gen = OrderGenerator(ProducerSettings(faulty_ratio=0.0), seed=8)
    payloads = [gen.next_event().value for _ in range(50)]
    payloads += [
        json.dumps(order_dict(), indent=2).encode(),
        json.dumps(order_dict(), indent=2).replace("\n", "\r\n").encode(),
        json.dumps(order_dict(status="NaN Infinity")).encode(),
        json.dumps(order_dict(status="caf\u00e9 \u2603"), ensure_ascii=False).encode(),
    ]
    checked, strict, fast = tmp_path / "checked", tmp_path / "strict", tmp_path / "fast"
    with (
        _FixedClock(checked, 1 << 30, 1) as a,
        _FixedClock(strict, 1 << 30, 1) as b,
        _FixedClock(fast, 1 << 30, 1) as c,
    ):
        for i, payload in enumerate(payloads):
            order = parse_order(payload)
            a.write(AuditEvent.ORDER_VALIDATED, "orders", i % 3, i, payload, None, order)
            b.write(
                AuditEvent.ORDER_VALIDATED, "orders", i % 3, i, payload, None, order, strict=True
            )
            c.write_validated("orders", i % 3, i, payload)
    assert checked.read_bytes() == strict.read_bytes() == fast.read_bytes()
    assert len(_lines(checked)) == len(payloads)
