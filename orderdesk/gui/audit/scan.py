"""Background indexing of an audit file: a worker that hands blocks to the GUI by feed."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from orderdesk.audit.index import FileIdentity, scan_file
from orderdesk.gui.widgets.feed import Feed


@dataclass(frozen=True)
class ScanEnd:
    """The last item of a scan's feed; `error` is empty when the file was read to its end."""

    error: str


class ScanWorker(QObject):
    """Indexes one file from an offset, block by block, into a feed the GUI drains.

    No signal per block: the GUI pulls on a timer at its own pace (several blocks per
    pull when it lags), and nothing but the feed crosses threads.

    Signals:
        finished(): the scan ended; its `ScanEnd` is the feed's last item.
    """

    finished = Signal()

    #: A small first block puts rows on screen at once; later blocks are larger.
    first_block_bytes = 1 << 20
    block_bytes = 8 << 20

    def __init__(self, path: Path, start: int, identity: FileIdentity | None) -> None:
        super().__init__()
        self.path = path
        self.start_offset = start
        self.identity = identity
        self._stop = threading.Event()
        #: ScannedChunk items, then one ScanEnd.
        self.blocks: Feed[Any] = Feed()

    def request_stop(self) -> None:
        """Stop after the block in hand; safe from any thread."""
        self._stop.set()

    @Slot()
    def run(self) -> None:
        error = ""
        try:
            for block in scan_file(
                self.path,
                self.start_offset,
                self.identity,
                chunk_bytes=self.block_bytes,
                stop=self._stop,
                first_chunk_bytes=self.first_block_bytes,
            ):
                self.blocks.put(block)
        except (OSError, ValueError) as exc:  # ValueError: mmap of a file emptied meanwhile
            error = str(exc)
        self.blocks.put(ScanEnd(error))
        self.finished.emit()
