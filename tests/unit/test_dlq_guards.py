"""The republish guards, decided before anything is sent (no broker needed)."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from orderdesk.cli.dlq import main as dlq_main
from orderdesk.config import load_settings
from orderdesk.deadletters.entries import entry_from_record
from orderdesk.deadletters.ledger import ReplayLedger, ReplayRecord
from orderdesk.deadletters.republish import ReplayRequest, Republisher, replay_partition
from orderdesk.domain import headers as hdr
from orderdesk.kafka.clients import librdkafka_log
from tests.unit.dlq_records import broken_order, orderdesk_record, spring_headers


@pytest.fixture
def republisher(tmp_path: Path) -> Republisher:
    settings = load_settings(overrides={"log_dir": str(tmp_path)}, environ={})
    return Republisher(settings, ReplayLedger.for_log_dir(tmp_path))


def _entry(metadata: dict[str, str] | None = None, dlq_topic: str = "orders-dlq"):
    key, value, headers, _ = orderdesk_record(broken_order(), metadata=metadata)
    return entry_from_record(dlq_topic, 0, 0, key, value, headers)


def test_a_fresh_entry_may_go(republisher: Republisher) -> None:
    assert republisher.refusal(ReplayRequest(_entry()), existing_topics={"orders"}) is None


def test_second_replay_needs_again(republisher: Republisher) -> None:
    entry = _entry()
    republisher.ledger.append(
        ReplayRecord(entry.id, entry.dlq_topic, "2026-11-25T12:00:00+00:00", 1, "orders", 0, 1)
    )
    reason = republisher.refusal(ReplayRequest(entry))
    assert reason is not None and "again" in reason
    assert republisher.refusal(ReplayRequest(entry), again=True) is None


@pytest.mark.parametrize("target", ["orders-dlq", "mirror-dlq"])
def test_never_into_the_dead_letter_topic_even_with_again(
    republisher: Republisher, target: str
) -> None:
    entry = _entry(dlq_topic="mirror-dlq")
    reason = republisher.refusal(ReplayRequest(entry, target_topic=target), again=True)
    assert reason is not None and "itself" in reason


def test_unchanged_replay_that_failed_again_is_a_loop(republisher: Republisher) -> None:
    entry = _entry(metadata={hdr.REPLAY_DLQ_ID: "first-entry"})
    reason = republisher.refusal(ReplayRequest(entry))
    assert reason is not None and "loop" in reason
    edited = json.dumps(broken_order() | {"total": 45.1}).encode()
    assert republisher.refusal(ReplayRequest(entry, payload=edited)) is None
    assert republisher.refusal(ReplayRequest(entry), again=True) is None
    assert republisher.refusal(ReplayRequest(entry, target_topic="orders-quarantine")) is None


def test_unknown_or_missing_target(republisher: Republisher) -> None:
    foreign = entry_from_record("x-dlq", 0, 0, None, b"v", [])
    assert "unknown" in (republisher.refusal(ReplayRequest(foreign)) or "")
    spring = entry_from_record("x-dlq", 0, 1, None, b"v", spring_headers("pay", 0, 1, "E", "m"))
    reason = republisher.refusal(ReplayRequest(spring), existing_topics={"orders"})
    assert reason == "target topic pay does not exist"


def test_cli_without_a_terminal_needs_yes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code = dlq_main(["republish", "some-id", "--bootstrap-servers", "127.0.0.1:1"])
    assert code == 2
    assert "--yes" in capsys.readouterr().err


def test_cli_payload_file_takes_one_id(tmp_path: Path) -> None:
    payload = tmp_path / "p.json"
    payload.write_text("{}")
    assert dlq_main(["republish", "a", "b", "--payload-file", str(payload), "--yes"]) == 2


def test_cli_rejects_an_unknown_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert dlq_main(["list", "--reason", "bogus", "--bootstrap-servers", "127.0.0.1:1"]) == 2
    assert "VALIDATION_ERROR" in capsys.readouterr().err


def test_cli_puts_the_librdkafka_log_level_back() -> None:
    """In one process with the desktop app, librdkafka's lines must still reach its log."""
    librdkafka_log.setLevel(logging.INFO)
    try:
        assert dlq_main(["list", "--reason", "bogus", "--bootstrap-servers", "127.0.0.1:1"]) == 2
        assert librdkafka_log.level == logging.INFO
    finally:
        librdkafka_log.setLevel(logging.NOTSET)


def test_a_refusal_names_the_override_the_command_line_accepts(republisher: Republisher) -> None:
    entry = _entry()
    republisher.ledger.append(
        ReplayRecord(entry.id, entry.dlq_topic, "2026-11-25T12:00:00+00:00", 1, "orders", 0, 1)
    )
    reason = republisher.refusal(ReplayRequest(entry))
    assert reason is not None
    assert "--again" in reason and "use 'again'" not in reason
    assert "1 time;" in reason and "time(s)" not in reason
    looped = _entry(metadata={hdr.REPLAY_DLQ_ID: "first-entry"})
    reason = republisher.refusal(ReplayRequest(looped))
    assert reason is not None and "--again" in reason


def test_a_replay_to_its_original_topic_keeps_its_partition() -> None:
    spring = entry_from_record("x-dlq", 0, 1, b"k", b"v", spring_headers("orders", 2, 7, "E", "m"))
    assert replay_partition(spring, "orders", 3) == (2, "kept its original partition 2")
    partition, note = replay_partition(spring, "orders", 2)  # fewer partitions now
    assert partition is None and "partition 2 is gone" in note
    partition, note = replay_partition(spring, "elsewhere", 3)
    assert partition is None and "not the original topic" in note
    partition, note = replay_partition(spring, "orders", None)
    assert partition is None and "unknown" in note
    unknown = entry_from_record("x-dlq", 0, 0, b"k", b"v", [])
    partition, note = replay_partition(unknown, "orders", 3)
    assert partition is None and "original topic is unknown" in note
