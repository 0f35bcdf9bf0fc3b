"""Following one audit file: index it in the background, poll it, start over when replaced.

A `ScanWorker` indexes the file into a feed; a GUI timer drains it into the index and the
model, a few blocks per pass within a time budget, so the first rows show after the first
block and the window stays live while a million lines are indexed. While following, a
timer checks the file twice a second: new lines are indexed (in place when they are few),
a rotated, truncated or rewritten file is indexed again from its start. A file none of
whose first lines is an audit entry is refused rather than listed as malformed lines.
While the browser is out of sight (a tab not shown) nothing is polled or drained; it
catches up when shown, through the scan thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from orderdesk.audit.index import CODE_MALFORMED, AuditIndex, FileChange
from orderdesk.gui.audit.model import AuditModel
from orderdesk.gui.audit.scan import ScanEnd, ScanWorker
from orderdesk.gui.widgets.threads import WorkerThread

#: Growth indexed on the GUI thread while following; more goes to the background thread.
#: Small: the tracker writes megabytes a second flat out, and indexing 4 MB on the GUI
#: thread stalled its event loop for tens of milliseconds.
INLINE_BYTES = 256 * 1024
DRAIN_INTERVAL_MS = 15
DRAIN_BUDGET_S = 0.006  # GUI time per pull of indexed blocks
#: Lines that must all be malformed before a file is taken for something else.
NOT_AUDIT_LINES = 20
#: Longest wait for a cancelled scan: it stops after the block in hand (milliseconds).
SCAN_STOP_MS = 10_000


class AuditFollower(QObject):
    """The index of the file shown, kept up to date.

    Signals:
        changed(): the status, the scan or the line count changed.
        progress(int): indexing progress in per mille; -1 when no scan runs.
        grew(): lines were added to the index.
        reset(): the file was replaced and is indexed again from its start.
        refused(str): the file (this name) is not an audit trail.
    """

    changed = Signal()
    progress = Signal(int)
    grew = Signal()
    reset = Signal()
    refused = Signal(str)

    def __init__(self, model: AuditModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.index: AuditIndex | None = None
        self.status = ""
        self.following = False
        self._scan: WorkerThread | None = None
        self._shut_down = False
        self._not_audit = False
        #: Whether the browser is out of sight (a tab not shown): polls and drains wait.
        self.is_hidden: Callable[[], bool] = lambda: False
        self._drain_timer = QTimer(self)
        self._drain_timer.setInterval(DRAIN_INTERVAL_MS)
        self._drain_timer.timeout.connect(self._drain)
        self.follow_timer = QTimer(self)
        self.follow_timer.setInterval(500)
        self.follow_timer.timeout.connect(self.poll)

    def open(self, path: Path) -> None:
        self._stop_scan()
        self._not_audit = False
        self.index = AuditIndex(path)
        self.model.set_index(self.index)
        self.status = ""
        if self.index.check() is FileChange.MISSING:
            self.status = "waiting for the file"
        else:
            self._start_scan()
        self.changed.emit()

    def follow(self, on: bool) -> None:
        """Follow the file as it grows (and is rotated), or leave it as indexed."""
        self.following = on
        if on and self.index is not None and not self._shut_down and not self._not_audit:
            self.follow_timer.start()
            self.poll()
        else:
            self.follow_timer.stop()

    def poll(self) -> None:
        """Check the file once: index what was added, start over if it was replaced."""
        if self.index is None or self._scan is not None or self._shut_down or self._not_audit:
            return
        if self.is_hidden():
            return  # caught up when shown again: the growth meanwhile goes to the scan thread
        change = self.index.check()
        if change is FileChange.MISSING:
            self._set_status("waiting for the file")
        elif change is FileChange.REPLACED:
            self.reindex()
        elif change is FileChange.GROWN:
            self._set_status("")
            if self.index.pending_bytes() > INLINE_BYTES:
                self._start_scan()
            else:
                try:
                    self.index.update()
                except (OSError, ValueError):
                    return  # replaced between the check and the read: next poll sees it
                self.model.sync()
                self.grew.emit()
        else:
            self._set_status("")

    def is_indexing(self) -> bool:
        return self._scan is not None

    def reindex(self) -> None:
        if self.index is None:
            return
        self._stop_scan()
        self.index.reset()
        self.model.reset_lines()
        self.reset.emit()
        self.status = "file replaced: indexing again"
        if self.index.check() is not FileChange.MISSING:
            self._start_scan()
        self.changed.emit()

    def shutdown(self) -> None:
        self._shut_down = True
        self.follow_timer.stop()
        self._stop_scan()

    def _set_status(self, text: str) -> None:
        if text != self.status:
            self.status = text
            self.changed.emit()

    def _start_scan(self) -> None:
        assert self.index is not None
        if self._scan is not None or self._shut_down:
            return
        worker = ScanWorker(self.index.path, self.index.indexed_size, self.index.identity)
        self._scan = WorkerThread(worker, "audit-indexer")
        self.progress.emit(0)
        self._scan.start()
        self._drain_timer.start()
        self.changed.emit()

    def _stop_scan(self) -> None:
        """Cancel the running scan and wait for its thread (a block takes milliseconds)."""
        if self._scan is None:
            return
        thread, self._scan = self._scan, None
        self._drain_timer.stop()
        thread.worker.request_stop()
        thread.wait(SCAN_STOP_MS)
        self.progress.emit(-1)

    def _drain(self) -> None:
        """Take what the scan worker indexed so far into the index and the model."""
        thread = self._scan
        if thread is None or self.index is None:
            self._drain_timer.stop()
            return
        if self.is_hidden():
            return  # the scanned blocks wait in the feed until the browser is shown
        blocks = thread.worker.blocks
        deadline = time.perf_counter() + DRAIN_BUDGET_S
        end: ScanEnd | None = None
        grew = False
        while time.perf_counter() < deadline:
            items = blocks.drain(1).items
            if not items:
                break
            if isinstance(items[0], ScanEnd):
                end = items[0]
                break
            grew |= bool(self.index.append(items[0]))
        if (grew or end is not None) and self._refuse_if_not_audit(finished=end is not None):
            return
        if grew:
            self.model.sync()
            self.grew.emit()
        size = self.index.file_size() or 1
        self.progress.emit(int(1000 * min(1.0, self.index.indexed_size / size)))
        if end is not None:
            self._scan = None
            self._drain_timer.stop()
            thread.wait(SCAN_STOP_MS)  # it put its last item and is returning
            self.progress.emit(-1)
            self.status = f"cannot read: {end.error}" if end.error else ""
            self.changed.emit()
            if self.following:
                self.poll()  # what was written while indexing, or a rotation meanwhile
            return
        self.changed.emit()

    def _refuse_if_not_audit(self, finished: bool) -> bool:
        """Stop at a file none of whose lines is an audit entry (a binary file, another
        log), instead of listing every line as malformed."""
        index = self.index
        if index is None or self._not_audit or not index.line_count:
            return self._not_audit
        if not finished and index.line_count < NOT_AUDIT_LINES:
            return False
        if bool((index.codes[:NOT_AUDIT_LINES] != CODE_MALFORMED).any()):
            return False
        self._not_audit = True
        self._stop_scan()
        self.follow_timer.stop()
        self.model.set_index(None)
        self.status = "not an audit trail: none of its first lines is an audit entry"
        self.refused.emit(index.path.name)
        self.changed.emit()
        return True
