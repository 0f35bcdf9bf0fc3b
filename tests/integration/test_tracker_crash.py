"""The headless tracker killed and stopped while orders flow: nothing is lost.

The tracker runs as `python -m orderdesk --tracker` in a subprocess, as a user runs it
(`tests.support.headless`).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tracker_support import (
    TIMEOUT,
    committed_and_ends,
    produce,
    read_topic,
    valid_payload,
    wait_until,
)

from orderdesk.domain import AuditEntry, AuditEvent, DeadLetterMessage
from tests.support.headless import Headless, tracker_args

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _payloads(count: int, seed: int) -> list[tuple[bytes, bytes | None]]:
    """Mostly valid orders; about one in twelve is bad in one of several ways."""
    rng = random.Random(seed)
    out: list[tuple[bytes, bytes | None]] = []
    for i in range(count):
        key = f"customer-{i % 97}".encode()
        draw = rng.random()
        if draw < 0.02:
            value: bytes | None = b"{not json"
        elif draw < 0.03:
            value = None
        elif draw < 0.08:
            value = valid_payload(i + 1, total=0.5)
        else:
            value = valid_payload(i + 1)
        out.append((key, value))
    return out


class Feed:
    """Produces the payloads in the background, in small paced bursts, so orders flow."""

    def __init__(self, bootstrap: str, topic: str, payloads, bursts: int) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.payloads = payloads
        self.bursts = bursts
        self.sent = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="order-feed")

    def _run(self) -> None:
        try:
            step = max(1, len(self.payloads) // self.bursts)
            for start in range(0, len(self.payloads), step):
                self.sent += produce(
                    self.bootstrap, self.topic, self.payloads[start : start + step]
                )
                if self._stop.wait(0.25):  # pacing between bursts, not a wait for a condition
                    return
        except BaseException as exc:
            self.error = exc

    def __enter__(self) -> Feed:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(TIMEOUT)

    def join(self) -> list:
        self._thread.join(TIMEOUT)
        assert not self._thread.is_alive()
        if self.error is not None:
            raise self.error
        return self.sent


def _tracker_args(bootstrap, topic, dlq, group, log_dir: Path, config: Path) -> list[str]:
    return [
        *tracker_args(bootstrap, topic, dlq, group, log_dir),
        "--config",
        str(config),
        "--max-retries",
        "3",
        "--transient-failure-rate",
        "0.05",
    ]


@pytest.fixture
def runs() -> Iterator[list[Headless]]:
    """The tracker's runs, one `Headless` child each; none outlives a failed test."""
    started: list[Headless] = []
    yield started
    for run in started:
        run.kill()


def _write_config(path: Path) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "tracker": {"retry_base_delay": 0.05, "retry_max_delay": 0.2},
                # A killed member leaves the group after 6 s instead of 45 s.
                "kafka": {
                    "consumer_properties": {
                        "session.timeout.ms": 6000,
                        "heartbeat.interval.ms": 1000,
                    }
                },
            }
        )
    )
    return path


def _audit_lines(log_dir: Path) -> tuple[list[AuditEntry], int]:
    """Every readable audit entry, and the number of lines a kill cut short."""
    entries, broken = [], 0
    path = log_dir / "tracker.events"
    if not path.exists():
        return [], 0
    with path.open("rb") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                entries.append(AuditEntry.model_validate_json(line))
            except ValueError:
                broken += 1
    return entries, broken


def _line_count(log_dir: Path) -> int:
    path = log_dir / "tracker.events"
    if not path.exists():
        return 0
    with path.open("rb") as f:
        return sum(1 for _ in f)


def _all_committed(bootstrap, group, topic, sent_count) -> bool:
    committed, ends = committed_and_ends(bootstrap, group, topic)
    return sum(ends.values()) >= sent_count and committed == ends


def _outcomes(bootstrap, dlq, log_dir):
    entries, broken = _audit_lines(log_dir)
    validated = Counter(
        (e.kafka_partition, e.kafka_offset)
        for e in entries
        if e.event_type is AuditEvent.ORDER_VALIDATED
    )
    letters = Counter()
    for msg in read_topic(bootstrap, dlq):
        letter = DeadLetterMessage.model_validate_json(msg.value())
        letters[(letter.original_partition, letter.original_offset)] += 1
    return validated, letters, entries, broken


def test_sigkill_at_random_moments_loses_no_order(
    kafka_bootstrap, topic_factory, tmp_path, record_property, runs
):
    topic, dlq = topic_factory(3), topic_factory(1)
    group = f"crash-{topic}"
    log_dir = tmp_path / "logs"
    config = _write_config(tmp_path / "tracker.yaml")
    args = _tracker_args(kafka_bootstrap, topic, dlq, group, log_dir, config)
    rng = random.Random(20261125)
    payloads = _payloads(3000, seed=1)
    kills = 5
    with Feed(kafka_bootstrap, topic, payloads, bursts=40) as feed:
        for _ in range(kills):
            runs.append(Headless(args))
            # Kill at a random moment: after a random number of new audit lines (0: during
            # start-up or the group join).
            before = _line_count(log_dir)
            grow = rng.choice([0, rng.randint(1, 50), rng.randint(50, 400)])
            if grow:
                wait_until(
                    lambda b=before, g=grow: _line_count(log_dir) >= b + g,
                    what="the tracker to make progress",
                )
            # Then a random fraction of a batch later: the kill moment itself is random.
            threading.Event().wait(rng.uniform(0, 0.1))
            runs[-1].kill()
        sent = feed.join()
    assert len(sent) == len(payloads)
    runs.append(Headless(args))
    wait_until(
        lambda: _all_committed(kafka_bootstrap, group, topic, len(sent)),
        timeout=120,
        what="the group to commit every order",
    )
    assert runs[-1].stop(TIMEOUT) == 0

    validated, letters, entries, broken = _outcomes(kafka_bootstrap, dlq, log_dir)
    produced = {(m.partition(), m.offset()) for m in sent}
    missing = produced - set(validated) - set(letters)
    assert not missing, f"{len(missing)} orders neither validated nor dead-lettered"
    assert not (set(validated) & set(letters)), "an order both validated and dead-lettered"
    duplicates = sum(n - 1 for n in validated.values()) + sum(n - 1 for n in letters.values())
    record_property("kills", kills)
    record_property("duplicates", duplicates)
    record_property("broken_audit_lines", broken)
    print(f"crash test: {kills} kills, {duplicates} duplicates, {broken} cut audit lines")
    assert len(entries) > 0


def test_sigterm_mid_stream_loses_and_duplicates_nothing(
    kafka_bootstrap, topic_factory, tmp_path, runs
):
    topic, dlq = topic_factory(3), topic_factory(1)
    group = f"stop-{topic}"
    log_dir = tmp_path / "logs"
    config = _write_config(tmp_path / "tracker.yaml")
    args = _tracker_args(kafka_bootstrap, topic, dlq, group, log_dir, config)
    payloads = _payloads(2000, seed=2)
    with Feed(kafka_bootstrap, topic, payloads, bursts=30) as feed:
        runs.append(Headless(args))
        wait_until(lambda: _line_count(log_dir) >= 300, what="the stream to be under way")
        assert runs[-1].stop(TIMEOUT) == 0
        stopped_at = committed_and_ends(kafka_bootstrap, group, topic)[0]
        runs.append(Headless(args))
        sent = feed.join()
    wait_until(
        lambda: _all_committed(kafka_bootstrap, group, topic, len(sent)),
        timeout=120,
        what="the group to commit every order",
    )
    assert runs[-1].stop(TIMEOUT) == 0

    validated, letters, entries, broken = _outcomes(kafka_bootstrap, dlq, log_dir)
    produced = {(m.partition(), m.offset()) for m in sent}
    assert broken == 0
    assert set(validated) | set(letters) == produced
    assert not (set(validated) & set(letters))
    assert max(validated.values()) == 1, "an order was validated twice"
    assert max(letters.values()) == 1, "an order was dead-lettered twice"
    final = Counter(
        (e.kafka_partition, e.kafka_offset)
        for e in entries
        if e.event_type in (AuditEvent.ORDER_REJECTED, AuditEvent.ORDER_DEAD_LETTERED)
    )
    assert set(final.values()) <= {2}, "a rejection was audited twice"
    assert sum(stopped_at.values()) > 0, "the stop came before any commit"
    out = "".join(run.output for run in runs)
    assert out.count("tracker summary:") == 2
    assert "Traceback" not in out
