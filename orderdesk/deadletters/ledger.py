"""Durable history of replays, so that 'replayed' survives a restart.

Choice: a local JSON Lines file, `dlq-replays.jsonl` in the per-user data directory next
to the tracker's logs (`settings.log_dir`), rather than a compacted topic:

* it needs nothing from the cluster: no topic to create, no ACL to ask for. The desk is
  meant to be pointed at dead-letter topics that other systems own, where creating a
  bookkeeping topic is often not allowed;
* it is written after the broker acknowledged the replay and read at start in
  milliseconds, with no consumer to catch up before the first guard check;
* a person can read it (`tail`, `jq`) and it is kept with the logs of the same machine.

What it gives up: the history is per machine and per user. The cluster still has the
record of every replay, because each republished message carries `orderdesk.replay.*`
headers naming the dead-letter entry, its time and its count.

A line is appended only once the broker acknowledged the republished message, so the
file never claims a replay that did not happen. A crash between the acknowledgement and
the append can lose one line; the replay headers on the target topic still show it.
Records are appended with one write call per batch in append mode, which local file
systems do not interleave, so two OrderDesk processes of the same user can share the
file; each ledger object reads only the bytes appended since it last looked.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

LEDGER_FILE = "dlq-replays.jsonl"


@dataclass(frozen=True)
class ReplayRecord:
    """One acknowledged replay of a dead-letter entry."""

    entry_id: str
    dlq_topic: str
    replayed_at: str
    #: 1 for the first replay of this entry, 2 for the second, ...
    replay_count: int
    target_topic: str
    target_partition: int
    target_offset: int
    payload_edited: bool = False
    user: str = ""

    @property
    def replayed_at_time(self) -> datetime:
        return datetime.fromisoformat(self.replayed_at)


class ReplayLedger:
    """The replay history in a JSON Lines file; thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._by_entry: dict[tuple[str, str], list[ReplayRecord]] = {}
        #: Bytes of the file already read: it only grows, so a change is read from here.
        self._read_upto = 0
        #: Identity of the file read (device, inode), to notice it was replaced.
        self._file_id: tuple[int, int] | None = None

    @classmethod
    def for_log_dir(cls, log_dir: Path) -> ReplayLedger:
        return cls(Path(log_dir) / LEDGER_FILE)

    def history(self, dlq_topic: str, entry_id: str) -> list[ReplayRecord]:
        """Replays of one entry, oldest first."""
        with self._lock:
            self._refresh()
            return list(self._by_entry.get((dlq_topic, entry_id), ()))

    def replay_count(self, dlq_topic: str, entry_id: str) -> int:
        return len(self.history(dlq_topic, entry_id))

    def replayed_ids(self, dlq_topic: str) -> dict[str, int]:
        """Entry id -> number of replays, for every replayed entry of one topic."""
        with self._lock:
            self._refresh()
            return {
                eid: len(recs)
                for (topic, eid), recs in self._by_entry.items()
                if topic == dlq_topic
            }

    def append(self, record: ReplayRecord, sync: bool = True) -> None:
        """Add one record; see `append_many`."""
        self.append_many([record], sync)

    def append_many(self, records: list[ReplayRecord], sync: bool = True) -> None:
        """Add records in one write. They reach the operating system at once (a crash of
        this process keeps them); with `sync` they are also on disk before this returns.
        A bulk replay appends without `sync` and calls `sync()` once at the end."""
        if not records:
            return
        text = "".join(json.dumps(asdict(r), separators=(",", ":")) + "\n" for r in records)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._refresh()
            if self._file_id is not None and self.path.stat().st_size > self._read_upto:
                # The file ends in a torn line (a crash mid-write): do not glue onto it.
                text = "\n" + text
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                if sync:
                    os.fsync(fh.fileno())
            self._refresh()

    def sync(self) -> None:
        """Put every appended line on disk."""
        with self._lock:
            try:
                fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return
            try:
                os.fsync(fd)
            except OSError:  # some platforms refuse fsync on a read-only descriptor
                pass
            finally:
                os.close(fd)

    def _refresh(self) -> None:
        """Read what was appended since the last call (by anyone); cheap when nothing was."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._by_entry = {}
            self._read_upto = 0
            self._file_id = None
            return
        file_id = (st.st_dev, st.st_ino)
        if file_id != self._file_id or st.st_size < self._read_upto:
            # A new or shortened file (replaced, edited by hand): read it all again.
            self._by_entry = {}
            self._read_upto = 0
            self._file_id = file_id
        if st.st_size == self._read_upto:
            return
        with open(self.path, "rb") as fh:
            fh.seek(self._read_upto)
            chunk = fh.read()
        # A line still being written has no newline yet: leave it for the next read.
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._read_upto += len(complete)
        for line in complete.decode("utf-8", errors="replace").splitlines():
            record = _parse(line)
            if record is not None:
                self._by_entry.setdefault((record.dlq_topic, record.entry_id), []).append(record)


def _parse(line: str) -> ReplayRecord | None:
    # A torn last line (crash mid-write) or a hand edit must not hide the rest of the file.
    line = line.strip()
    if not line:
        return None
    try:
        data = json.loads(line)
        return ReplayRecord(**{k: data[k] for k in ReplayRecord.__dataclass_fields__ if k in data})
    except (ValueError, TypeError, KeyError):
        return None
