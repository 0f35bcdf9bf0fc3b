"""Append-only JSON Lines files with size-based rotation, shared by the tracker's two streams.

Writers buffer lines in memory and hand them to the operating system in one `write` call per
`flush()`; the tracker flushes before every offset commit, so a committed message always has
its lines in the file (at-least-once: a crash may repeat lines, never lose one). Files are
not fsync'ed: a process crash loses nothing that was flushed, a power cut may.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Pending bytes after which a writer flushes on its own, to bound its memory.
AUTO_FLUSH_BYTES = 1 << 20


def rotated_name(path: Path, index: int) -> Path:
    """`tracker.events` -> `tracker.events.1`: the name of the `index`-th older file."""
    return path.with_name(f"{path.name}.{index}")


class JsonLinesWriter:
    """Append-only, buffered, size-rotated file of lines (each line already ends in `\\n`).

    When a line would take the file past `max_bytes`, the file becomes `<name>.1`, older
    ones shift up to `<name>.<backups>` (the oldest is dropped) and a new file is started;
    with `backups=0` the file is truncated instead. Not thread-safe: one owner thread.
    """

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
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
        self._write(data)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += len(data)

    def _rotate(self) -> None:
        os.close(self._fd)
        self._fd = -1
        if self.backups > 0:
            for i in range(self.backups - 1, 0, -1):
                src = rotated_name(self.path, i)
                if src.exists():
                    os.replace(src, rotated_name(self.path, i + 1))
            os.replace(self.path, rotated_name(self.path, 1))
            self._fd = self._open()
        else:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC)
        self._size = 0
