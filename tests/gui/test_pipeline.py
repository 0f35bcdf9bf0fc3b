"""The Pipeline tab: the cluster view of trackers running elsewhere, a followed log folder."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from orderdesk.config import Settings
from orderdesk.gui.main_window import MainWindow
from orderdesk.gui.monitor.tab import PipelineTab
from orderdesk.gui.monitor.view import PipelineView
from orderdesk.monitor.cluster import ClusterSample, Member
from orderdesk.monitor.logfolder import FolderUpdate

from .fakes import FakeFactory

NOWHERE = "127.0.0.1:1"


def _sample(at: float, ends: list[int], committed: list[int], dead: int, members=()):
    return ClusterSample(
        at=at,
        wall=time.time(),
        orders={p: (0, e) for p, e in enumerate(ends)},
        dlq={0: dead},
        committed=dict(enumerate(committed)),
        members=members,
        state="STABLE",
    )


def test_view_shows_rates_lag_members_and_folder_counts(qtbot, tmp_path):
    view = PipelineView(Settings(kafka={"bootstrap_servers": NOWHERE}, log_dir=tmp_path))
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    assert "Cluster view" in view.source.text() and NOWHERE in view.source.text()
    t0 = view.series.t0
    members = (
        Member("orderdesk-a", "10.0.0.1", "m-1", (0,)),
        Member("orderdesk-b", "10.0.0.2", "m-2", (1,)),
    )
    view.add_sample(_sample(t0 + 1, [100, 100], [100, 100], 0, members))
    view.add_sample(_sample(t0 + 3, [200, 200], [190, 200], 10, members))
    assert view.kpis["produced"].value.text() == "100.0/s"
    assert view.kpis["committed"].value.text() == "95.0/s"
    assert view.kpis["dead"].value.text() == "5.0/s"
    assert view.kpis["lag"].value.text() == "10"
    assert view.kpis["members"].value.text() == "2"
    assert view.kpis["state"].value.text() == "stable"
    assert view.members.rowCount() == 2
    assert view.members.item(1, 0).text() == "orderdesk-b"
    assert view.members.item(1, 2).text() == "1"
    assert sorted(view._lag_curves) == [0, 1]

    from orderdesk.tracker.membership import instance_id

    own = Member("orderdesk", "10.0.0.3", "m-3", (), instance_id(view.settings))
    view.add_sample(_sample(t0 + 3.5, [200, 200], [190, 200], 10, (*members, own)))
    assert view.members.item(2, 0).text() == "orderdesk (this window)"
    assert view.members.item(0, 0).text() == "orderdesk-a"

    view.add_sample(ClusterSample(at=t0 + 4, wall=time.time(), error="no answer"))
    assert "no answer" in view.status.text()

    view.set_folder(tmp_path)
    view.add_folder_update(
        FolderUpdate(counts={"order.validated": 1234}, events=1234, events_exist=True)
    )
    assert view.event_counts["order.validated"].text() == "1,234"
    assert view.event_counts["order.rejected"].text() == "0"
    # A tracker that does not audit every arrival has no message.received lines: not "0".
    assert view.event_counts["message.received"].text() == "—"
    view.add_folder_update(
        FolderUpdate(
            counts={"message.received": 1300, "order.validated": 1234}, events=2534,
            events_exist=True,
        )
    )  # fmt: skip
    assert view.event_counts["message.received"].text() == "1,300"


def _write_folder(folder: Path) -> None:
    folder.mkdir(parents=True)
    entry = {"timestamp": "2026-01-01T00:00:00Z", "level": "WARNING", "service": "tracker"}
    (folder / "tracker.log").write_text(
        json.dumps({**entry, "message": "watched tracker says hello"}) + "\n"
    )
    line = '{"timestamp":"2026-01-01T00:00:00.000Z","event_type":"%s","kafka_topic":"orders"}\n'
    (folder / "tracker.events").write_text(
        "".join(line % kind for kind in ("order.validated", "order.validated", "order.retried"))
    )


def test_watching_a_log_folder_feeds_the_log_the_audit_tab_and_the_counts(
    qtbot, qsettings, tmp_path
):
    folder = tmp_path / "elsewhere"
    _write_folder(folder)
    settings = Settings(kafka={"bootstrap_servers": NOWHERE}, log_dir=tmp_path / "own")
    window = MainWindow(
        settings, None, qsettings, FakeFactory(kind="producer"), FakeFactory(kind="tracker")
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    file_menu = window.menuBar().actions()[0].menu()
    assert "Watch log folder…" in [a.text().replace("&", "") for a in file_menu.actions()]
    tab = window.feature_tabs[2]
    assert isinstance(tab, PipelineTab)

    window.watch_log_folder(folder)
    messages = lambda: [e.message for e in window.log_view.model._rows]  # noqa: E731
    qtbot.waitUntil(lambda: "watched tracker says hello" in messages(), timeout=10_000)
    qtbot.waitUntil(lambda: tab.view.event_counts["order.validated"].text() == "2", timeout=10_000)
    assert tab.view.event_counts["order.retried"].text() == "1"
    assert window.audit_browser.path == folder / "tracker.events"
    with (folder / "tracker.events").open("a") as f:
        f.write('{"timestamp":"2026-01-01T00:00:01.000Z","event_type":"order.validated"}\n')
    qtbot.waitUntil(lambda: tab.view.event_counts["order.validated"].text() == "3", timeout=10_000)
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)


@pytest.mark.kafka
def test_pipeline_tab_shows_trackers_running_elsewhere(
    qtbot, qsettings, kafka_bootstrap, topic_factory, tmp_path
):
    from tests.support.headless import Headless, tracker_args

    topic, dlq = topic_factory(2), topic_factory(1)
    group = f"gui-{topic}"
    trackers = [
        Headless(tracker_args(kafka_bootstrap, topic, dlq, group, tmp_path / name))
        for name in ("a", "b")
    ]
    producer = Headless(
        [
            *("--producer", "--bootstrap-servers", kafka_bootstrap, "--topic", topic),
            *("--dlq-topic", dlq, "--rate", "20", "--faulty-ratio", "0.1"),
        ]
    )
    try:
        settings = Settings(
            kafka={"bootstrap_servers": kafka_bootstrap},
            topics={"orders": topic, "dlq": dlq},
            tracker={"group": group},
            log_dir=tmp_path / "own",
        )
        window = MainWindow(
            settings, None, qsettings, FakeFactory(kind="producer"), FakeFactory(kind="tracker")
        )
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        try:
            window.tabs.setCurrentIndex(3)
            view = window.feature_tabs[2].view
            qtbot.waitUntil(
                lambda: (
                    view.members.rowCount() == 2 and view.kpis["state"].value.text() == "stable"
                ),
                timeout=60_000,
            )
            qtbot.waitUntil(
                lambda: (
                    view.kpis["produced"].value.text() != "—"
                    and float(view.kpis["produced"].value.text().rstrip("/s")) > 10
                ),
                timeout=30_000,
            )
            assert all(view.members.item(r, 1).text() for r in range(2))
            assert {view.members.item(r, 2).text() for r in range(2)} == {"0", "1"}
            # The window's own services never ran: what shows came from the cluster.
            assert not window.producer.is_active and not window.tracker.is_active
        finally:
            window.close()
            qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)
    finally:
        producer.stop()
        for tracker in trackers:
            tracker.stop()


def test_watch_logs_flag_opens_the_app_on_the_folder(qapp, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from orderdesk.cli.main import build_parser
    from orderdesk.config import APP_NAME
    from orderdesk.gui.app import ORGANIZATION, run_gui

    folder = tmp_path / "elsewhere"
    _write_folder(folder)
    args = build_parser().parse_args(["--watch-logs", str(folder)])
    assert args.watch_logs == folder
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    names = qapp.organizationName(), qapp.applicationName()
    qapp.setOrganizationName(ORGANIZATION)
    qapp.setApplicationName(APP_NAME)
    seen: dict[str, object] = {}

    def inspect() -> None:
        window = next(
            w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()
        )
        tab = window.feature_tabs[2]
        seen["folder"] = tab.monitor.folder
        seen["audit"] = window.audit_browser.path
        window.close()

    QTimer.singleShot(300, inspect)
    settings = Settings(kafka={"bootstrap_servers": NOWHERE}, log_dir=tmp_path / "own")
    try:
        assert run_gui(settings, None, watch_logs=args.watch_logs) == 0
    finally:
        qapp.setOrganizationName(names[0])
        qapp.setApplicationName(names[1])
    assert seen == {"folder": folder, "audit": folder / "tracker.events"}
