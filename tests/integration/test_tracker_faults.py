"""The tracker under disk, broker and dead-letter faults: what it commits, audits and says.

Each test asserts the accounting (what is committed has its audit line, a restart audits
every order exactly once, the summary adds up), not just an exit status.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from confluent_kafka.admin import AdminClient, NewTopic
from tracker_support import (
    Background,
    committed_and_ends,
    produce,
    read_topic,
    run_drained,
    tracker_settings,
    valid_payload,
)

from orderdesk.domain import AuditEntry, AuditEvent
from orderdesk.service.base import ServiceError
from orderdesk.tracker.service import TrackerService
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def _audit(log_dir: Path) -> list[AuditEntry]:
    """Readable audit entries of every file in `log_dir` (a line cut by a fault is skipped)."""
    out = []
    for path in sorted(log_dir.glob("tracker.events*")):
        with path.open("rb") as f:
            for line in f:
                with contextlib.suppress(ValueError):
                    out.append(AuditEntry.model_validate_json(line))
    return out


def _validated(log_dir: Path) -> Counter[tuple[int, int]]:
    return Counter(
        (e.kafka_partition, e.kafka_offset)
        for e in _audit(log_dir)
        if e.event_type is AuditEvent.ORDER_VALIDATED
    )


def _assert_nothing_committed_unaudited(bootstrap: str, group: str, topic: str, log_dir: Path):
    committed, _ = committed_and_ends(bootstrap, group, topic)
    audited = set(_validated(log_dir))
    unaudited = [
        (p, o) for p, upto in committed.items() for o in range(upto) if (p, o) not in audited
    ]
    assert not unaudited, f"{len(unaudited)} orders committed without an audit line"
    return committed


def _assert_adds_up(result) -> None:
    s = result.stats
    assert s.received == s.valid + s.dead_lettered_total + result.left_for_next_run, (
        result.summary()
    )


@contextlib.contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _orders(count: int) -> list[tuple[bytes, bytes]]:
    return [(f"customer-{i % 31}".encode(), valid_payload(i + 1)) for i in range(count)]


def test_a_full_disk_commits_nothing_past_the_audit_trail(kafka_bootstrap, topic_factory, tmp_path):
    topic, dlq = topic_factory(3), topic_factory(1)
    sent = produce(kafka_bootstrap, topic, _orders(4000))  # about 6 MB of audit lines
    with _tmpfs(tmp_path / "small", "2m") as small:
        settings = tracker_settings(kafka_bootstrap, topic, dlq, small)
        with pytest.raises(ServiceError, match="cannot write") as caught:
            run_drained(TrackerService(settings))
        result = caught.value.result
        # Where to resume is named per partition that had a commit; a disk that fills at
        # the first flush (a loaded machine takes bigger batches) leaves none to name.
        assert not result.ok and (result.resume_at or result.committed == {}), result.summary()
        _assert_adds_up(result)
        assert result.left_for_next_run > 0
        committed = _assert_nothing_committed_unaudited(
            kafka_bootstrap, settings.tracker.group, topic, small
        )
        assert sum(committed.values()) < len(sent)
        # Space is freed: the trail moves to a roomy folder and the tracker starts again.
        roomy = tmp_path / "roomy"
        shutil.copytree(small, roomy)
    again = run_drained(TrackerService(settings.model_copy(update={"log_dir": roomy})))
    assert again.ok, again.summary()
    validated = _validated(roomy)
    assert set(validated) == {(m.partition(), m.offset()) for m in sent}
    assert max(validated.values()) == 1, "an order was audited twice"


def test_a_file_size_limit_stops_the_headless_tracker_with_what_is_left(
    kafka_bootstrap, topic_factory, tmp_path
):
    topic, dlq = topic_factory(3), topic_factory(1)
    sent = produce(kafka_bootstrap, topic, _orders(3000))
    log_dir = tmp_path / "logs"
    settings = tracker_settings(kafka_bootstrap, topic, dlq, log_dir)
    group = settings.tracker.group

    def limit() -> None:  # in the child: tracker.events may not grow past 1 MB
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    done = subprocess.run(
        [
            *(sys.executable, "-m", "orderdesk", "--tracker"),
            *_args(kafka_bootstrap, topic, dlq),
            *("--group", group, "--log-dir", str(log_dir)),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
        env=_env(),
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    summary = next(line for line in done.stdout.splitlines() if "tracker summary:" in line)
    assert "resume_at=" in summary and "stop=" in summary and "error=" in summary
    _assert_nothing_committed_unaudited(kafka_bootstrap, group, topic, log_dir)
    again = run_drained(TrackerService(settings))
    assert again.ok, again.summary()
    validated = _validated(log_dir)
    assert set(validated) == {(m.partition(), m.offset()) for m in sent}
    assert max(validated.values()) == 1, "an order was audited twice"


def test_sigterm_with_the_broker_frozen_exits_in_time_and_loses_nothing(tmp_path, record_property):
    from broker import KafkaBroker

    stop_timeout = 4.0
    with KafkaBroker() as broker:
        bootstrap = broker.bootstrap
        topic, dlq = "frozen-orders", "frozen-dlq"
        admin = AdminClient({"bootstrap.servers": bootstrap})
        for future in admin.create_topics([NewTopic(topic, 3), NewTopic(dlq, 1)]).values():
            future.result(30)
        sent = produce(bootstrap, topic, _orders(3000))
        log_dir = tmp_path / "logs"
        group = "frozen-group"
        config = tmp_path / "tracker.yaml"
        # Retries keep it busy with prefetched orders while the broker is frozen.
        config.write_text(
            yaml.safe_dump(
                {
                    "tracker": {
                        "stop_timeout": stop_timeout,
                        "retry_base_delay": 0.05,
                        "retry_max_delay": 0.1,
                        "transient_failure_rate": 0.3,
                    }
                }
            )
        )
        out = tmp_path / "out.txt"
        with out.open("w") as sink:
            proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "orderdesk", "--tracker", "--config", str(config)),
                    *_args(bootstrap, topic, dlq),
                    *("--group", group, "--log-dir", str(log_dir)),
                ],
                cwd=REPO,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=_env(),
            )
        try:
            wait_until(lambda: len(_audit(log_dir)) >= 300, what="the tracker to be under way")
            assert broker.pid is not None
            os.kill(broker.pid, signal.SIGSTOP)
            try:
                time.sleep(1.0)  # the tracker goes on with what it prefetched
                started = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                status = proc.wait(60)
                took = time.monotonic() - started
            finally:
                os.kill(broker.pid, signal.SIGCONT)
        finally:
            if proc.poll() is None:
                proc.kill()
        text = out.read_text()
        record_property("frozen_stop_seconds", round(took, 2))
        print(f"frozen broker: SIGTERM to exit {took:.2f} s (stop timeout {stop_timeout:g} s)")
        assert took <= stop_timeout + 3.0, text[-2000:]
        assert status == 1, text[-2000:]
        summary = next(line for line in text.splitlines() if "tracker summary:" in line)
        assert "stop=unclean" in summary and "resume_at=" in summary, summary
        assert "Traceback" not in text
        # The broker is back: a restart handles the rest, every order audited once.
        settings = tracker_settings(bootstrap, topic, dlq, log_dir, group=group)
        again = run_drained(TrackerService(settings))
        assert again.ok, again.summary()
        validated = _validated(log_dir)
        letters = {
            (e.kafka_partition, e.kafka_offset)
            for e in _audit(log_dir)
            if e.event_type is AuditEvent.ORDER_DEAD_LETTERED
        }
        produced = {(m.partition(), m.offset()) for m in sent}
        assert produced == set(validated) | letters, "an order went missing"
        assert max(validated.values()) == 1, "an order was audited twice"


def test_a_deleted_dead_letter_topic_holds_commits_and_is_not_silent(
    kafka_bootstrap, topic_factory, tmp_path
):
    topic, dlq = topic_factory(1), topic_factory(1)
    payloads = [(b"k", b"{not json" if i % 5 == 0 else valid_payload(i + 1)) for i in range(400)]
    produce(kafka_bootstrap, topic, payloads[:200])
    settings = tracker_settings(kafka_bootstrap, topic, dlq, tmp_path / "logs")
    logs = []
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    with Background(TrackerService(settings, on_log=logs.append)) as bg:
        wait_until(
            lambda: sum(1 for e in _audit(tmp_path / "logs")) >= 200, what="the first orders"
        )
        admin.delete_topics([dlq])[dlq].result(30)
        produce(kafka_bootstrap, topic, payloads[200:])
        # The broker creates the topic again on first use; until then letters fail.
        wait_until(
            lambda: committed_and_ends(kafka_bootstrap, settings.tracker.group, topic)[0][0] == 400,
            what="every order committed once the dead letters got through",
        )
        result = bg.stop()
    _assert_adds_up(result)
    assert result.ok, result.summary()
    dead = {
        e.kafka_offset
        for e in _audit(tmp_path / "logs")
        if e.event_type is AuditEvent.ORDER_DEAD_LETTERED
    }
    assert dead == set(range(0, 400, 5))
    assert {d.original_offset for d in _letters(kafka_bootstrap, dlq)} >= set(range(200, 400, 5))
    errors = [e for e in logs if e.level.value == "ERROR"]
    assert len(errors) <= 3 + 2 * (result.stats.elapsed / 10 + 1), "dead-letter errors flood"


def _letters(bootstrap: str, dlq: str):
    from orderdesk.domain import DeadLetterMessage

    return [DeadLetterMessage.model_validate_json(m.value()) for m in read_topic(bootstrap, dlq)]


def _args(bootstrap: str, topic: str, dlq: str) -> list[str]:
    return ["--bootstrap-servers", bootstrap, "--topic", topic, "--dlq-topic", dlq]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    env["PYTHONPATH"] = str(REPO)
    return env


def test_three_sigkills_in_20000_orders_lose_and_repeat_nothing(
    kafka_bootstrap, topic_factory, tmp_path, record_property
):
    topic, dlq = topic_factory(3), topic_factory(1)
    log_dir = tmp_path / "logs"
    settings = tracker_settings(kafka_bootstrap, topic, dlq, log_dir)
    group = settings.tracker.group
    command = [
        *(sys.executable, "-m", "orderdesk", "--tracker"),
        *_args(kafka_bootstrap, topic, dlq),
        *("--group", group, "--log-dir", str(log_dir)),
    ]
    out = (tmp_path / "out.txt").open("ab")

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, cwd=REPO, stdout=out, stderr=out, env=_env())

    payloads = [
        (f"customer-{i % 97}".encode(), b"{not json" if i % 50 == 0 else valid_payload(i + 1))
        for i in range(20_000)
    ]
    sent = []
    resumed = []
    proc = start()
    try:
        sent += produce(kafka_bootstrap, topic, payloads[:5000])
        for round_ in range(3):
            # The next chunk first, so that the restart always finds orders to consume.
            chunk = payloads[(round_ + 1) * 5000 : (round_ + 2) * 5000]
            target = len(_audit_lines(log_dir)) + 300 + 1000 * round_
            sent += produce(kafka_bootstrap, topic, chunk)
            # Killed while it works through them, after a growing number of audit lines.
            wait_until(lambda t=target: len(_audit_lines(log_dir)) >= t, what="progress")
            proc.kill()
            proc.wait(30)
            before = len(_audit_lines(log_dir))
            started = time.monotonic()
            proc = start()
            # A few more orders, so that there is something to consume even when the killed
            # tracker had got through everything.
            extra = payloads[round_ * 50 : round_ * 50 + 50]
            sent += produce(kafka_bootstrap, topic, extra)
            wait_until(lambda b=before: len(_audit_lines(log_dir)) > b, what="consuming again")
            resumed.append(time.monotonic() - started)
        wait_until(
            lambda: (
                committed_and_ends(kafka_bootstrap, group, topic)[0]
                == committed_and_ends(kafka_bootstrap, group, topic)[1]
            ),
            timeout=120,
            what="every order committed",
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    entries = _audit(log_dir)
    validated = Counter(
        (e.kafka_partition, e.kafka_offset)
        for e in entries
        if e.event_type is AuditEvent.ORDER_VALIDATED
    )
    rejected = Counter(
        (e.kafka_partition, e.kafka_offset)
        for e in entries
        if e.event_type is AuditEvent.ORDER_REJECTED
    )
    letters = Counter(
        (d.original_partition, d.original_offset) for d in _letters(kafka_bootstrap, dlq)
    )
    produced = {(m.partition(), m.offset()) for m in sent}
    missing = produced - set(validated) - set(rejected)
    audited_twice = sum(n - 1 for n in validated.values()) + sum(n - 1 for n in rejected.values())
    letters_twice = sum(n - 1 for n in letters.values())
    record_property("restart_seconds", [round(r, 2) for r in resumed])
    print(
        f"3 SIGKILLs in {len(sent)} orders: {len(missing)} missing, {audited_twice} audited "
        f"twice, {letters_twice} dead letters sent twice, consuming again after "
        + ", ".join(f"{r:.1f}" for r in resumed)
        + " s"
    )
    assert not missing
    assert audited_twice == 0
    assert set(letters) == set(rejected)
    assert all(r < 10 for r in resumed), resumed


def _audit_lines(log_dir: Path) -> list[bytes]:
    path = log_dir / "tracker.events"
    return path.read_bytes().splitlines() if path.exists() else []
