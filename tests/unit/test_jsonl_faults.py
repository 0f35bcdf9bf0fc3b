"""JSON Lines files under a failing disk, and the audit trail's retention."""

from __future__ import annotations

import errno
import os
import time

import pytest

from orderdesk.service import jsonl
from orderdesk.service.jsonl import JsonLinesWriter, Retention, apply_retention, rotated_name


def test_a_failed_write_keeps_what_did_not_reach_the_file(tmp_path, monkeypatch):
    path = tmp_path / "x.jsonl"
    writer = JsonLinesWriter(path, 1 << 20, 1)
    writer.write_line(b'{"a":1}\n')
    writer.write_line(b'{"b":2}\n')
    real_write = os.write
    calls = []

    def short_then_full(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:5]))  # a short write ...
        raise OSError(errno.ENOSPC, "No space left on device")  # ... then the disk is full

    monkeypatch.setattr(jsonl.os, "write", short_then_full)
    with pytest.raises(OSError):
        writer.flush()
    assert path.read_bytes() == b'{"a":'
    monkeypatch.setattr(jsonl.os, "write", real_write)
    writer.flush()  # space again: the file continues exactly where it stopped
    writer.close()
    assert path.read_bytes() == b'{"a":1}\n{"b":2}\n'


def test_retention_removes_the_oldest_files_past_the_size_and_says_so(tmp_path):
    path = tmp_path / "tracker.events"
    path.write_bytes(b"x" * 100)
    for i in range(1, 6):
        rotated_name(path, i).write_bytes(b"y" * 100)
    removed = []
    retention = Retention(350, 3600, lambda p, size, why: removed.append((p.name, why)))
    apply_retention(path, retention)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "tracker.events",
        "tracker.events.1",
        "tracker.events.2",
    ]
    assert removed == [(f"tracker.events.{i}", "size") for i in (3, 4, 5)]


def test_retention_removes_files_older_than_its_age(tmp_path):
    path = tmp_path / "tracker.events"
    path.write_bytes(b"x")
    for i in (1, 2):
        rotated_name(path, i).write_bytes(b"y")
    old = time.time() - 10 * 86_400
    os.utime(rotated_name(path, 2), (old, old))
    gone = apply_retention(path, Retention(1 << 30, 86_400))
    assert [p.name for p in gone] == ["tracker.events.2"]


def test_a_writer_with_retention_keeps_every_file_within_it(tmp_path):
    path = tmp_path / "tracker.events"
    writer = JsonLinesWriter(path, 1024, backups=1, retention=Retention(1 << 20, 86_400))
    for i in range(100):
        writer.write_line(b'{"n":%d,"pad":"%s"}\n' % (i, b"p" * 100))
    writer.close()
    # Far more rotated files than `backups`: retention, not the backup count, decides.
    assert rotated_name(path, 8).exists()
