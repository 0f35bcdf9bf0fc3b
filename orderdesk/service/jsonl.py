"""Append-only JSON Lines files with size-based rotation, shared by the tracker's two streams.

Writers buffer lines in memory and hand them to the operating system in one `write` call per
`flush()`; the tracker flushes before every offset commit, so a committed message always has
its lines in the file (at-least-once: a crash may repeat lines, never lose one). Files are
not fsync'ed: a process crash loses nothing that was flushed, a power cut may. A write that
fails (disk full, file size limit) raises and keeps every byte that did not reach the file,
so nothing queued is dropped and a later flush continues exactly where the file stops.

Rotation keeps `backups` older files, or, with a `Retention`, as many as its total size and
age allow; every file it removes is reported to its callback.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: Pending bytes after which a writer flushes on its own, to bound its memory.
AUTO_FLUSH_BYTES = 1 << 20


def rotated_name(path: Path, index: int) -> Path:
    """`tracker.events` -> `tracker.events.1`: the name of the `index`-th older file."""
    return path.with_name(f"{path.name}.{index}")


@dataclass(frozen=True)
class Retention:
    """How much rotated history to keep: files go, oldest first, past either limit."""

    max_total_bytes: int
    max_age_seconds: float
    #: Called with each removed file, its size and why (`"size"` or `"age"`).
    on_remove: Callable[[Path, int, str], None] | None = None


def rotated_files(path: Path) -> list[Path]:
    """The rotated files of `path` that exist, newest first (`.1`, `.2`, ...)."""
    out: list[Path] = []
    index = 1
    while True:
        candidate = rotated_name(path, index)
        if not candidate.exists():
            return out
        out.append(candidate)
        index += 1


class JsonLinesWriter:
    """Append-only, buffered, size-rotated file of lines (each line already ends in `\\n`).

    When a line would take the file past `max_bytes`, the file becomes `<name>.1`, older
    ones shift up to `<name>.<backups>` (the oldest is dropped) and a new file is started;
    with `backups=0` the file is truncated instead. Not thread-safe: one owner thread.
    """

    def __init__(
        self, path: Path, max_bytes: int, backups: int, retention: Retention | None = None
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self.retention = retention
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = self._open()
        self._size = os.fstat(self._fd).st_size
        self._terminate_partial_line()

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _terminate_partial_line(self) -> None:
        # A process killed in the middle of a write may leave half a line: end it, so that
        # the next line starts on a line of its own and only the broken one is unreadable.
        if self._size == 0:
            return
        with open(self.path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            last = f.read(1)
        if last != b"\n":
            self._write(b"\n")

    @property
    def size(self) -> int:
        """Bytes in the current file, pending lines included."""
        return self._size + self._pending_bytes

    def write_line(self, line: bytes) -> None:
        """Queue one line (ending in a newline) for the next flush."""
        self.write_parts((line,), len(line))

    def write_parts(self, parts: tuple[bytes, ...], n: int) -> None:
        """Queue one line given as pieces of `n` bytes in all, the last ending in a newline.

        The pieces are joined only at flush time, once for all queued lines.
        """
        if self._size + self._pending_bytes + n > self.max_bytes and (
            self._size or self._pending_bytes
        ):
            self._write_pending()
            self._rotate()
        self._pending.extend(parts)
        self._pending_bytes += n
        if self._pending_bytes >= AUTO_FLUSH_BYTES:
            self._write_pending()

    def flush(self) -> None:
        """Hand every queued line to the operating system."""
        if self._pending:
            self._write_pending()

    def close(self) -> None:
        if self._fd < 0:
            return
        try:
            self.flush()
        finally:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> JsonLinesWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write_pending(self) -> None:
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        try:
            self._write(data)
        except _PartialWrite as exc:
            # Keep what did not reach the file: the next flush continues from there.
            rest = data[exc.written :]
            self._pending.append(rest)
            self._pending_bytes = len(rest)
            raise exc.error from None

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        done = 0
        try:
            while done < len(data):
                done += os.write(self._fd, view[done:])
        except OSError as exc:
            self._size += done
            raise _PartialWrite(done, exc) from None
        self._size += done

    def _rotate(self) -> None:
        os.close(self._fd)
        self._fd = -1
        keep = len(rotated_files(self.path)) + 1 if self.retention else self.backups
        if keep > 0:
            for i in range(keep - 1, 0, -1):
                src = rotated_name(self.path, i)
                if src.exists():
                    os.replace(src, rotated_name(self.path, i + 1))
            os.replace(self.path, rotated_name(self.path, 1))
            self._fd = self._open()
        else:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC)
        self._size = 0
        if self.retention is not None:
            apply_retention(self.path, self.retention)


def apply_retention(path: Path, retention: Retention, now: float | None = None) -> list[Path]:
    """Remove the rotated files of `path` that `retention` does not keep; returns them.

    Newest first, files are kept while the running total (the current file included) stays
    within `max_total_bytes` and their last write is younger than `max_age_seconds`; from
    the first file that breaks either limit on, every older file goes too.
    """
    now = time.time() if now is None else now
    try:
        total = path.stat().st_size
    except OSError:
        total = 0
    removed = []
    reason = None
    for rotated in rotated_files(path):
        try:
            st = rotated.stat()
        except OSError:
            continue
        if reason is None:
            total += st.st_size
            if total > retention.max_total_bytes:
                reason = "size"
            elif now - st.st_mtime > retention.max_age_seconds:
                reason = "age"
        if reason is None:
            continue
        try:
            rotated.unlink()
        except OSError:
            continue
        removed.append(rotated)
        if retention.on_remove is not None:
            retention.on_remove(rotated, st.st_size, reason)
    return removed


class _PartialWrite(Exception):
    def __init__(self, written: int, error: OSError) -> None:
        super().__init__(error)
        self.written = written
        self.error = error
