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
from orderdesk.gui.widgets.plots import Curve, CurveSpec, PlotGroup, TimePlot
from orderdesk.gui.widgets.theme import SERIES_COLORS, SERIES_STYLES
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
RATE_CURVES = (
    ("produced", "produced", PRODUCED_RATE, "blue", Qt.PenStyle.SolidLine),
    ("committed", "committed", COMMITTED_RATE, "green", Qt.PenStyle.DashLine),
    ("dead", "dead-lettered", DEAD_RATE, "vermillion", Qt.PenStyle.DotLine),
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
        self._lag_curves: dict[int, Curve] = {}
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

        # The dashboard's plots: time before now, 0 baseline, SI labels, legend toggles,
        # cross-hair, Okabe-Ito colours with line styles (gui/widgets/plots.py).
        self.rate_plot = TimePlot(
            "Rates", "messages/s",
            [CurveSpec(key, label, color, style) for key, label, _, color, style in RATE_CURVES],
            value_format="{}/s", gaps=True,
        )  # fmt: skip
        self.success_plot = TimePlot(
            "Success", "% committed orders not dead-lettered",
            [CurveSpec("success", "success", "purple")],
            y_range=(0.0, 105.0), y_ticks=(0, 50, 100), value_format="{} %", gaps=True,
        )  # fmt: skip
        self.lag_plot = TimePlot("Lag per partition", "orders", [], y_floor=5.0, gaps=True)
        self.plot_group = PlotGroup([self.rate_plot, self.success_plot, self.lag_plot])
        for plot in (self.rate_plot, self.success_plot):
            plot.show_time_axis(False)
        self.plots = QWidget()
        plots = QVBoxLayout(self.plots)
        plots.setContentsMargins(0, 0, 0, 0)
        plots.setSpacing(4)
        for plot in self.plot_group.plots:
            plots.addWidget(plot, 1)
        self.curves = {**self.rate_plot.curves, **self.success_plot.curves}

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
        self.lag_plot.remove_curves()
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
        # `message.received` lines exist only where the tracker audits every arrival: a 0
        # beside thousands of outcomes would read as "nothing received".
        arrivals_audited = update.counts.get(AuditEvent.MESSAGE_RECEIVED.value, 0) > 0
        for name, label in self.event_counts.items():
            count = update.counts.get(name, 0)
            if not update.events_exist or (
                name == AuditEvent.MESSAGE_RECEIVED.value and not arrivals_audited
            ):
                text = "—"
            else:
                text = f"{count:,}"
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
        for key, _, channel, _, _ in RATE_CURVES:
            self.rate_plot.set_data(key, x, data[channel])
        self.rate_plot.fit_y()
        self.success_plot.set_data("success", x, data[SUCCESS])
        lag = self.series.lag
        lag_x = lag.times() - (time.monotonic() - self.series.t0)
        for i, (partition, values) in enumerate(lag.items()):
            curve = self._lag_curves.get(partition)
            if curve is None:
                color = SERIES_COLORS[i % len(SERIES_COLORS)]
                style = SERIES_STYLES[i % len(SERIES_STYLES)]
                curve = self.lag_plot.add_curve(CurveSpec(str(partition), f"p{partition}",
                                                          color, style))  # fmt: skip
                self._lag_curves[partition] = curve
            self.lag_plot.set_data(str(partition), lag_x, np.asarray(values))
        self.lag_plot.fit_y()

    def _fit_span(self, history: float) -> None:
        """Widen the time axis as history accumulates: no empty plot left of the data."""
        span = next((s for s in SPANS if s >= history), SPANS[-1])
        if span != self._span:
            self._span = span
            self.plot_group.set_span(span)

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
