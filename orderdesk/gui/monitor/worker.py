"""The pipeline tab's background work: cluster samples and a followed log folder."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from orderdesk.config import Settings
from orderdesk.kafka.errors import error_text
from orderdesk.monitor.cluster import REFRESH_INTERVAL, ClusterReader, ClusterSample
from orderdesk.monitor.logfolder import LogFolder

#: Seconds between two looks at the followed folder.
FOLDER_INTERVAL = 0.5
#: Longest a cluster request may take: a dead broker must not hold a stop (the window's
#: close) up for long; a slow first connection just fails one sample, the next one works.
SAMPLE_TIMEOUT = 1.5


class PipelineWorker(QObject):
    """Samples the cluster every `interval` seconds and polls a log folder, until stopped.

    Runs on a `WorkerThread`; `stop()` and `set_folder()` are thread-safe and return at
    once.

    Signals:
        sampled(object): a `ClusterSample`.
        folder_update(object): a `FolderUpdate` of the followed folder.
        finished(): the run is over.
    """

    sampled = Signal(object)
    folder_update = Signal(object)
    finished = Signal()

    def __init__(
        self,
        settings: Settings,
        folder: Path | None = None,
        interval: float = REFRESH_INTERVAL,
        cluster: bool = True,
    ) -> None:
        super().__init__()
        # librdkafka would print every refused connection; the tab shows the error instead.
        kafka = settings.kafka
        quiet = kafka.model_copy(update={"properties": {**kafka.properties, "log_level": 0}})
        self._settings = settings.model_copy(update={"kafka": quiet})
        self._interval = interval
        self._cluster = cluster
        self._stop = threading.Event()
        self._folder_path = folder
        self._folder: LogFolder | None = None

    def stop(self) -> None:
        self._stop.set()

    def set_folder(self, folder: Path | None) -> None:
        """Follow another folder (None: none) from the next poll on."""
        self._folder_path = folder

    @Slot()
    def run(self) -> None:
        try:
            reader = None
            if self._cluster:
                reader = ClusterReader.from_settings(self._settings, timeout=SAMPLE_TIMEOUT)
            next_sample = 0.0
            while not self._stop.is_set():
                now = time.monotonic()
                if reader is not None and now >= next_sample:
                    next_sample = now + self._interval
                    self.sampled.emit(self._sample(reader))
                self._poll_folder()
                wait = FOLDER_INTERVAL if reader is None else next_sample - time.monotonic()
                self._stop.wait(max(0.0, min(FOLDER_INTERVAL, wait)))
        finally:
            self.finished.emit()

    def _sample(self, reader: ClusterReader) -> ClusterSample:
        try:
            return reader.sample()
        except Exception as exc:  # never let the thread die: the tab shows what went wrong
            return ClusterSample(at=time.monotonic(), wall=time.time(), error=error_text(exc))

    def _poll_folder(self) -> None:
        path = self._folder_path
        if path is None:
            self._folder = None
            return
        if self._folder is None or self._folder.folder != path:
            self._folder = LogFolder(path)
        try:
            update = self._folder.poll()
        except OSError:
            return  # a share that went away for a moment: the next poll tries again
        self.folder_update.emit(update)
