"""The replay ledger survives a restart and a torn last line."""

from __future__ import annotations

from pathlib import Path

from orderdesk.deadletters.ledger import ReplayLedger, ReplayRecord


def _record(entry_id: str, count: int = 1, topic: str = "orders-dlq") -> ReplayRecord:
    return ReplayRecord(
        entry_id=entry_id,
        dlq_topic=topic,
        replayed_at="2026-11-25T12:00:00+00:00",
        replay_count=count,
        target_topic="orders",
        target_partition=0,
        target_offset=count,
    )


def test_history_survives_a_new_ledger_on_the_same_file(tmp_path: Path) -> None:
    ledger = ReplayLedger.for_log_dir(tmp_path / "logs")
    assert ledger.history("orders-dlq", "a") == []
    ledger.append(_record("a"))
    ledger.append(_record("a", 2))
    ledger.append(_record("b"))
    ledger.append(_record("a", topic="other-dlq"))
    reopened = ReplayLedger.for_log_dir(tmp_path / "logs")
    assert [r.replay_count for r in reopened.history("orders-dlq", "a")] == [1, 2]
    assert reopened.replayed_ids("orders-dlq") == {"a": 2, "b": 1}
    assert reopened.replay_count("other-dlq", "a") == 1


def test_torn_line_does_not_hide_the_rest(tmp_path: Path) -> None:
    ledger = ReplayLedger(tmp_path / "replays.jsonl")
    ledger.append(_record("a"))
    with open(ledger.path, "a", encoding="utf-8") as fh:
        fh.write('{"entry_id": "b", "dlq_to')
    other = ReplayLedger(ledger.path)
    assert other.replayed_ids("orders-dlq") == {"a": 1}
    other.append(_record("c"))
    assert ReplayLedger(ledger.path).replayed_ids("orders-dlq") == {"a": 1, "c": 1}


def test_sees_appends_of_another_process(tmp_path: Path) -> None:
    mine = ReplayLedger(tmp_path / "replays.jsonl")
    theirs = ReplayLedger(tmp_path / "replays.jsonl")
    assert mine.replay_count("orders-dlq", "a") == 0
    theirs.append(_record("a"))
    assert mine.replay_count("orders-dlq", "a") == 1


def test_many_appends_are_read_incrementally(tmp_path: Path) -> None:
    ledger = ReplayLedger(tmp_path / "replays.jsonl")
    for i in range(2_000):
        assert ledger.replay_count("orders-dlq", f"e{i}") == 0
        ledger.append(_record(f"e{i}"), sync=False)
    ledger.sync()
    assert len(ReplayLedger(ledger.path).replayed_ids("orders-dlq")) == 2_000
