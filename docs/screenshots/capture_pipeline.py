"""Capture the Pipeline tab's screenshot: trackers running headless in other processes.

    Xvfb :27 -screen 0 1400x900x24 & DISPLAY=:27 python docs/screenshots/capture_pipeline.py \
        --bootstrap-servers 127.0.0.1:9092

Two headless trackers and a producer run as processes of their own; a third tracker joins
halfway. The window starts no service itself: what it shows comes from the cluster.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))


def capture(bootstrap: str, seconds: float) -> None:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from docs.screenshots.capture import save_small
    from orderdesk.config import load_settings
    from orderdesk.gui.main_window import MainWindow
    from tests.support.headless import Headless, tracker_args

    tag = uuid.uuid4().hex[:6]
    topic, dlq, group = f"orders-{tag}", f"orders-{tag}-dlq", f"tracker-{tag}"
    work = Path(tempfile.mkdtemp(prefix="orderdesk-shots-"))
    common = ["--bootstrap-servers", bootstrap, "--topic", topic, "--dlq-topic", dlq]
    producer = Headless(
        ["--producer", *common, "--rate", "120", "--faulty-ratio", "0.05", "--partitions", "3"]
    )

    def tracker(i: int) -> Headless:
        # A client id each, as the compose file gives its replicas.
        args = tracker_args(bootstrap, topic, dlq, group, work / f"t{i}")
        return Headless([*args, "--partitions", "3", "-X", f"client.id=orderdesk-tracker-{i}"])

    trackers = [tracker(1), tracker(2)]
    try:
        app = QApplication.instance() or QApplication(sys.argv)
        settings = load_settings(
            overrides={
                "kafka.bootstrap_servers": bootstrap,
                "topics.orders": topic,
                "topics.dlq": dlq,
                "tracker.group": group,
                "log_dir": str(work / "own"),
            },
            environ={},
        )
        store = QSettings(str(work / "gui.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings, None, store)
        window.resize(1200, 800)
        window.show()
        window.splitter.setSizes([620, 130])
        window.tabs.setCurrentIndex(3)
        window.watch_log_folder(work / "t1")

        def third() -> None:
            trackers.append(tracker(3))

        def shoot() -> None:
            save_small(window, HERE / "pipeline.png")
            window.close()

        QTimer.singleShot(int(seconds * 500), third)
        QTimer.singleShot(int(seconds * 1000), shoot)
        app.exec()
    finally:
        producer.stop()
        for tracker in trackers:
            tracker.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", required=True, help="a running broker")
    parser.add_argument("--seconds", type=float, default=50.0, help="run time before the shot")
    args = parser.parse_args()
    capture(args.bootstrap_servers, args.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
