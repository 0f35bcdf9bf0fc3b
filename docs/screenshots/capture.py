"""Capture the README screenshots: the dashboard with both services running, the settings.

    xvfb-run -a -s "-screen 0 1400x900x24" python docs/screenshots/capture.py \
        --bootstrap-servers 127.0.0.1:9092

Without --bootstrap-servers it starts the test suite's throwaway broker (tests/broker.py).
Images are saved as opaque, fully compressed PNGs to keep the repository small.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def save_small(widget: object, path: Path) -> None:
    from PySide6.QtGui import QImage

    image = widget.grab().toImage()  # type: ignore[attr-defined]
    # Opaque RGB at the highest compression; a palette would turn the faint grid to dots.
    image.convertToFormat(QImage.Format.Format_RGB888).save(str(path), "PNG", 0)
    print(f"{path}: {image.width()}x{image.height()}, {path.stat().st_size // 1024} KiB")


def capture(bootstrap: str, seconds: float) -> None:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from orderdesk.config import load_settings
    from orderdesk.gui.main_window import MainWindow
    from orderdesk.gui.settings.dialog import SettingsDialog

    app = QApplication.instance() or QApplication(sys.argv)
    tag = uuid.uuid4().hex[:6]
    work = Path(tempfile.mkdtemp(prefix="orderdesk-shots-"))
    settings = load_settings(
        overrides={
            "kafka.bootstrap_servers": bootstrap,
            "topics.orders": f"orders-{tag}",
            "topics.dlq": f"orders-{tag}-dlq",
            "tracker.group": f"tracker-{tag}",
            "producer.rate": 150,
            "producer.faulty_ratio": 0.05,
            "tracker.transient_failure_rate": 0.02,
            "tracker.retry_base_delay": 0.05,
            "tracker.retry_max_delay": 0.2,
            "log_dir": str(work / "logs"),
        },
        environ={},
    )
    store = QSettings(str(work / "gui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings, None, store)
    window.resize(1100, 660)
    window.show()

    def shoot() -> None:
        save_small(window, HERE / "dashboard.png")
        dialog = SettingsDialog(settings.model_copy(update={"log_dir": Path("~/OrderDesk/logs")}))
        dialog.show()
        QTimer.singleShot(
            300, lambda: (save_small(dialog, HERE / "settings.png"), dialog.close(), window.close())
        )

    QTimer.singleShot(0, window.start_all)
    QTimer.singleShot(int(seconds * 1000), shoot)
    app.exec()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", help="a running broker (default: start one)")
    parser.add_argument("--seconds", type=float, default=12.0, help="run time before the shot")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        bootstrap = args.bootstrap_servers
        if not bootstrap:
            sys.path.insert(0, str(ROOT / "tests"))
            from broker import KafkaBroker

            bootstrap = stack.enter_context(KafkaBroker()).bootstrap
        capture(bootstrap, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
