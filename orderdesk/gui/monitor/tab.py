"""The Pipeline tab: the cluster view, refreshed by a worker thread, and a followed folder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFrame, QScrollArea

from orderdesk.config import Settings
from orderdesk.gui.monitor.view import PipelineView, pick_folder
from orderdesk.gui.monitor.worker import PipelineWorker
from orderdesk.gui.tab import Tab
from orderdesk.gui.widgets.threads import WorkerThread
from orderdesk.monitor.logfolder import FolderUpdate


class PipelineMonitor(QObject):
    """Keeps one `PipelineWorker` running for the current settings and followed folder.

    Signals:
        log_entries(list): new `LogEntry`s of the followed folder's tracker.log.
        folder_changed(object): the followed folder (a Path), or None.
    """

    log_entries = Signal(list)
    folder_changed = Signal(object)

    def __init__(self, view: PipelineView, settings: Settings, cluster: bool = True) -> None:
        super().__init__(view)
        self.view = view
        self.settings = settings
        self.folder: Path | None = None
        self._cluster = cluster
        self._thread: WorkerThread | None = None
        #: Threads asked to stop and not ended yet (a settings change replaces the worker).
        self._retiring: list[WorkerThread] = []
        self._closed = False
        view.watch_requested.connect(self.ask_folder)
        view.unwatch_requested.connect(lambda: self.watch(None))
        # The cluster is read from the first time the view is shown (or a folder is
        # followed) on: a window that never shows the tab asks the cluster nothing.
        view.shown.connect(self.ensure_running)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def ensure_running(self) -> None:
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        if self._closed:
            return
        worker = PipelineWorker(self.settings, self.folder, cluster=self._cluster)
        worker.sampled.connect(self.view.add_sample)
        worker.folder_update.connect(self._folder_update)
        thread = WorkerThread(worker, "orderdesk-pipeline", self)
        thread.finished.connect(lambda t=thread: self._ended(t))
        self._thread = thread
        thread.start()

    def _stop_worker(self) -> None:
        thread = self._thread
        self._thread = None
        if thread is not None:
            thread.worker.stop()
            self._retiring.append(thread)

    def _ended(self, thread: WorkerThread) -> None:
        if thread in self._retiring:
            self._retiring.remove(thread)

    def apply_settings(self, settings: Settings) -> None:
        old = self.settings
        self.settings = settings
        if (settings.kafka, settings.topics, settings.tracker.group) == (
            old.kafka,
            old.topics,
            old.tracker.group,
        ):
            return
        self.view.set_settings(settings)
        if self._thread is not None:
            self._stop_worker()
            self._start()

    def ask_folder(self) -> None:
        folder = pick_folder(self.view, self.folder or self.settings.log_dir)
        if folder is not None:
            self.watch(folder)

    def watch(self, folder: Path | None) -> None:
        """Follow `folder` (a tracker's log folder), or stop following with None."""
        self.folder = folder
        self.view.set_folder(folder)
        if self._thread is not None:
            self._thread.worker.set_folder(folder)
        elif folder is not None:
            self._start()
        self.folder_changed.emit(folder)

    def _folder_update(self, update: FolderUpdate) -> None:
        self.view.add_folder_update(update)
        if update.logs:
            self.log_entries.emit(update.logs)

    def shutdown(self) -> None:
        self._closed = True
        self._stop_worker()

    def busy(self) -> bool:
        return bool(self._retiring) or self._thread is not None


class PipelineTab(Tab):
    """The Pipeline tab of the main window."""

    title = "Pipeline"
    shortcut = "Ctrl+4"

    def __init__(self, settings: Settings) -> None:
        self.view = PipelineView(settings)
        self.monitor = PipelineMonitor(self.view, settings)
        # Scrolled when the window is small: the tab must not raise the window's minimum
        # size (the tab widget takes the largest minimum of its tabs), nor squeeze the log.
        self.scroll = QScrollArea()
        self.scroll.setObjectName("pipelineTab")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self.view)

    @property
    def widget(self) -> QScrollArea:
        return self.scroll

    def apply_settings(self, old: Settings, new: Settings) -> None:
        self.monitor.apply_settings(new)

    def shutdown(self) -> None:
        self.monitor.shutdown()

    def busy(self) -> bool:
        return self.monitor.busy()
