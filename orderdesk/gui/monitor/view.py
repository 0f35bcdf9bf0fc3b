"""The pipeline as the cluster sees it: rates, success, lag per partition, members.

Unlike the dashboard, which shows the services this window runs, this view reads the
brokers (`orderdesk.monitor.cluster`): every tracker of the group appears, wherever it
runs. It also follows a tracker's log folder on request: its live log goes to the window's
log panel, its audit trail to the audit tab, and the counts by event type show here.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from orderdesk.config import Settings
from orderdesk.domain import AuditEvent
from orderdesk.monitor.cluster import (
    COMMITTED_RATE,
    DEAD_RATE,
    PRODUCED_RATE,
    SUCCESS,
    ClusterSample,
    Member,
    PipelineSeries,
    T,
)
from orderdesk.monitor.logfolder import FolderUpdate
from orderdesk.tracker.membership import instance_id

#: Spans of the time axis (seconds): it grows with the history, up to the last one.
SPANS = (60.0, 120.0, 300.0)
#: Okabe-Ito: told apart with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")
RATE_CURVES = (
    ("produced", "produced/s", PRODUCED_RATE, "#0072B2"),
    ("committed", "committed/s", COMMITTED_RATE, "#009E73"),
    ("dead", "dead-lettered/s", DEAD_RATE, "#D55E00"),
)
MEMBER_COLUMNS = ("Client id", "Host", "Partitions", "Instance id", "Member id")
NO_FOLDER = "none (File → Watch log folder… follows a tracker's folder)"
#: Event types counted for a followed folder, in the order of an order's life.
FOLDER_EVENTS = tuple(e.value for e in AuditEvent)


class Kpi(QFrame):
    """A titled value, changed only when its text changes."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("kpi")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(title)
        self.title.setStyleSheet("color: #555;")
        self.value = QLabel("—")
        font = self.value.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.value.setFont(font)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(0)
        layout.addWidget(self.title)
        layout.addWidget(self.value)

    def show_text(self, text: str) -> None:
        if self.value.text() != text:
            self.value.setText(text)


class PipelineView(QWidget):
    """Cluster view of one pipeline, and the counts of a followed log folder.

    Signals:
        watch_requested(): the user asked to pick a log folder to follow.
        unwatch_requested(): the user stopped following the folder.
        shown(): the view became visible.
    """

    watch_requested = Signal()
    unwatch_requested = Signal()
    shown = Signal()

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series = PipelineSeries()
        self.settings = settings
        self._members: tuple[Member, ...] | None = None
        self._lag_curves: dict[int, pg.PlotCurveItem] = {}
        self.samples = 0

        self.source = QLabel()
        self.source.setTextFormat(Qt.TextFormat.RichText)
        # One line, no word wrap: a wrapped label would make the scroll area around the tab
        # size it by its preferred height (heightForWidth) and scroll for nothing.
        self.source.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status = QLabel("waiting for the first reading…")
        self.status.setStyleSheet("color: #666;")

        self.kpis = {
            key: Kpi(title)
            for key, title in (
                ("produced", "Produced"),
                ("committed", "Committed"),
                ("dead", "Dead-lettered"),
                ("success", "Success"),
                ("lag", "Lag"),
                ("state", "Group state"),
                ("members", "Members"),
            )
        }
        kpi_row = QHBoxLayout()
        for kpi in self.kpis.values():
            kpi_row.addWidget(kpi)

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        self.rate_plot = self._plot(0, "Rates", "msg/s")
        self.rate_plot.setTitle(
            "Rates: "
            + " · ".join(
                f"<span style='color:{c}'>■ {label}</span>" for _, label, _, c in RATE_CURVES
            ),
            color="#222",
            size="10pt",
        )
        self.success_plot = self._plot(1, "Success: committed orders not dead-lettered", "%")
        # A little room above 100 and below 0, so that both keep their labels.
        self.success_plot.disableAutoRange(axis="y")
        self.success_plot.setYRange(-8, 108, padding=0)
        self.success_plot.getAxis("left").setTicks([[(v, str(v)) for v in (0, 50, 100)]])
        self.lag_plot = self._plot(2, "Lag per partition", "orders")
        self.lag_plot.setLabel("bottom", "seconds ago")
        self.curves = {key: self._curve(self.rate_plot, color) for key, _, _, color in RATE_CURVES}
        self.curves["success"] = self._curve(self.success_plot, "#6a1b9a")

        self.members = QTableWidget(0, len(MEMBER_COLUMNS))
        self.members.setHorizontalHeaderLabels(MEMBER_COLUMNS)
        self.members.verticalHeader().hide()
        self.members.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.members.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # The long ids are elided in the middle (the whole id is in the cell's tooltip).
        for col in (3, 4):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(col, 130)
        header.setStretchLastSection(True)
        self.members.setWordWrap(False)
        self.members.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.members.setMinimumWidth(300)
        self.members.setMinimumHeight(90)
        members_box = QGroupBox("Members of the tracker group")
        QVBoxLayout(members_box).addWidget(self.members)
        self._span = SPANS[0]

        self.folder_box = self._folder_box()

        body = QHBoxLayout()
        body.addWidget(self.plots, 5)
        body.addWidget(members_box, 3)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addWidget(self.source)
        outer.addLayout(kpi_row)
        outer.addLayout(body, 1)
        outer.addWidget(self.folder_box)
        outer.addWidget(self.status)
        # Below this the scroll area around the tab scrolls instead of squeezing the plots.
        self.plots.setMinimumHeight(180)
        self.setMinimumWidth(720)
        self.set_settings(settings)

    # -- construction ------------------------------------------------------------------

    def _plot(self, row: int, title: str, units: str) -> pg.PlotItem:
        plot = self.plots.addPlot(row=row, col=0)
        plot.setTitle(title, color="#222", size="10pt")
        plot.setLabel("left", units)
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.setXRange(-SPANS[0], 0, padding=0)
        plot.enableAutoRange(axis="y")
        plot.getAxis("left").setWidth(60)
        if row < 2:
            plot.hideAxis("bottom")
        return plot

    @staticmethod
    def _curve(plot: pg.PlotItem, color: str) -> pg.PlotCurveItem:
        curve = pg.PlotCurveItem(pen=pg.mkPen(color, width=2), connect="finite")
        plot.addItem(curve)
        return curve

    def _folder_box(self) -> QGroupBox:
        """One row: the followed folder, its counts by event type, and the buttons."""
        box = QGroupBox("Followed log folder")
        self.folder_label = QLabel(NO_FOLDER)
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.watch_button = QPushButton("Watch log folder…")
        self.watch_button.clicked.connect(self.watch_requested)
        self.unwatch_button = QPushButton("Stop watching")
        self.unwatch_button.clicked.connect(self.unwatch_requested)
        self.unwatch_button.setEnabled(False)
        row = QHBoxLayout(box)
        row.setContentsMargins(8, 2, 8, 4)
        row.addWidget(self.folder_label, 1)
        self.event_counts: dict[str, QLabel] = {}
        for name in FOLDER_EVENTS:
            title = QLabel(name.split(".", 1)[1].replace("_", "-") + ":")
            title.setStyleSheet("color: #555;")
            title.setToolTip(f"{name} lines in the folder's tracker.events")
            label = QLabel("—")
            label.setObjectName(name)
            label.setMinimumWidth(40)
            self.event_counts[name] = label
            row.addWidget(title)
            row.addWidget(label)
        row.addWidget(self.watch_button)
        row.addWidget(self.unwatch_button)
        return box

    # -- data in -----------------------------------------------------------------------

    def set_settings(self, settings: Settings) -> None:
        """Another cluster, topic or group: start the series anew."""
        self.settings = settings
        self.series = PipelineSeries()
        self._members = None
        for curve in self._lag_curves.values():
            self.lag_plot.removeItem(curve)
        self._lag_curves.clear()
        self.source.setText(
            "<b>Cluster view</b>, every tracker of the group wherever it runs: group "
            f"<b>{settings.tracker.group}</b> on <b>{settings.topics.orders}</b>, dead letters "
            f"on <b>{settings.topics.dlq}</b>, at <b>{settings.kafka.bootstrap_servers}</b>"
        )
        self.source.setToolTip(
            "Read from the brokers with the admin API (end offsets, the group's committed "
            "offsets and members); joins no group and commits nothing. The services this "
            "window runs are on the Dashboard tab."
        )

    def add_sample(self, sample: ClusterSample) -> None:
        self.samples += 1
        self.series.add(sample)
        if sample.error and not sample.orders:
            self.status.setText(f"Cluster: {sample.error}")
            self.status.setStyleSheet("color: #c62828;")
        else:
            when = datetime.fromtimestamp(sample.wall).strftime("%H:%M:%S")
            extra = f" ({sample.error})" if sample.error else ""
            self.status.setText(f"Read from the cluster at {when}{extra}")
            self.status.setStyleSheet("color: #666;")
        self._show_members(sample.members)
        if self.isVisible():
            self.refresh()

    def add_folder_update(self, update: FolderUpdate) -> None:
        for name, label in self.event_counts.items():
            text = f"{update.counts.get(name, 0):,}" if update.events_exist else "—"
            if label.text() != text:
                label.setText(text)

    def set_folder(self, folder: Path | None) -> None:
        self.unwatch_button.setEnabled(folder is not None)
        if folder is None:
            self.folder_label.setText(NO_FOLDER)
            for label in self.event_counts.values():
                label.setText("—")
        else:
            self.folder_label.setText(f"<b>{folder}</b>")
            self.folder_label.setToolTip(
                f"{folder}: its live log is in the log panel, its audit trail in the Audit tab"
            )

    # -- painting ----------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.shown.emit()
        self.refresh()

    def refresh(self) -> None:
        status = self.series.status(_ReaderNames(self.settings))
        if status is None:
            return
        k = self.kpis
        rates = status.window > 0
        k["produced"].show_text(f"{status.produced_per_s:,.1f}/s" if rates else "—")
        k["committed"].show_text(f"{status.committed_per_s:,.1f}/s" if rates else "—")
        k["dead"].show_text(f"{status.dead_lettered_per_s:,.1f}/s" if rates else "—")
        success = status.success_percent
        k["success"].show_text("—" if success is None else f"{success:.1f} %")
        k["lag"].show_text(f"{status.lag_total:,}" if status.lag else "—")
        k["state"].show_text(status.state.replace("_", " ").lower())
        k["members"].show_text(str(len(status.members)))
        data = self.series.samples.view()
        if not data.shape[1]:
            return
        x = data[T] - (time.monotonic() - self.series.t0)
        self._fit_span(-float(x[0]))
        for key, _, channel, _ in RATE_CURVES:
            self.curves[key].setData(x, data[channel])
        self.curves["success"].setData(x, data[SUCCESS])
        lag = self.series.lag
        lag_x = lag.times() - (time.monotonic() - self.series.t0)
        for i, (partition, values) in enumerate(lag.items()):
            curve = self._lag_curves.get(partition)
            if curve is None:
                curve = self._curve(self.lag_plot, PALETTE[i % len(PALETTE)])
                self._lag_curves[partition] = curve
                self._title_lag()
            curve.setData(lag_x, np.asarray(values))

    def _fit_span(self, history: float) -> None:
        """Widen the time axis as history accumulates: no empty plot left of the data."""
        span = next((s for s in SPANS if s >= history), SPANS[-1])
        if span != self._span:
            self._span = span
            for plot in (self.rate_plot, self.success_plot, self.lag_plot):
                plot.setXRange(-span, 0, padding=0)

    def _title_lag(self) -> None:
        parts = sorted(self._lag_curves)
        legend = " · ".join(
            f"<span style='color:{PALETTE[i % len(PALETTE)]}'>■ p{p}</span>"
            for i, p in enumerate(parts)
        )
        self.lag_plot.setTitle(f"Lag per partition: {legend}", color="#222", size="10pt")

    def _show_members(self, members: tuple[Member, ...]) -> None:
        if members == self._members:
            return
        self._members = members
        # This window's tracker joins with the instance id its settings give (static
        # membership); the others run elsewhere.
        own = instance_id(self.settings)
        table = self.members
        table.setRowCount(len(members))
        for row, m in enumerate(members):
            values = (
                m.client_id,
                m.host,
                ",".join(map(str, m.partitions)) or "—",
                m.instance_id or "—",
                m.member_id,
            )
            mine = own is not None and m.instance_id == own
            for col, value in enumerate(values):
                item = QTableWidgetItem(f"{value} (this window)" if mine and col == 0 else value)
                item.setToolTip(value)
                if mine:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                    item.setToolTip(f"{value}: the tracker this window runs")
                table.setItem(row, col, item)


class _ReaderNames:
    """The names a `PipelineStatus` carries, without a client."""

    def __init__(self, settings: Settings) -> None:
        self.topic = settings.topics.orders
        self.dlq_topic = settings.topics.dlq
        self.group = settings.tracker.group


def pick_folder(parent: QWidget, start: Path) -> Path | None:
    """Ask for a tracker's log folder (the one holding tracker.log and tracker.events)."""
    chosen = QFileDialog.getExistingDirectory(
        parent, "Watch a tracker's log folder", str(start if start.exists() else Path.home())
    )
    return Path(chosen) if chosen else None
