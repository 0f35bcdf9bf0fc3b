"""Capture the README screenshots, light and dark: the dashboard with both services running,
the dead-letter desk (bulk bar, a payload fixed, the diff) and the settings dialog.

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/screenshots/capture.py \
        --bootstrap-servers 127.0.0.1:9092

Without --bootstrap-servers it starts the test suite's throwaway broker (tests/broker.py).
The window has the app's default size; images are the window at full size, saved as opaque,
fully compressed PNGs to keep the repository small. The dark shots come from a second run
started with `ORDERDESK_COLOR_SCHEME=dark`, as the app starts under a dark system scheme.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def save_small(widget: object, path: Path) -> None:
    from PySide6.QtGui import QImage

    image = widget.grab().toImage()  # type: ignore[attr-defined]
    # Opaque RGB at the highest compression; a palette would turn the faint grid to dots.
    image.convertToFormat(QImage.Format.Format_RGB888).save(str(path), "PNG", 0)
    print(f"{path}: {image.width()}x{image.height()}, {path.stat().st_size // 1024} KiB")


def capture(bootstrap: str, seconds: float, dark: bool) -> None:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from orderdesk.config import load_settings
    from orderdesk.gui.deadletters.details import TAB_DIFF, TAB_EDIT
    from orderdesk.gui.deadletters.model import EntryRole
    from orderdesk.gui.main_window import MainWindow
    from orderdesk.gui.settings.dialog import SettingsDialog
    from orderdesk.gui.settings.store import DEFAULT_WINDOW_SIZE
    from orderdesk.gui.widgets import theme

    os.environ[theme.ENV] = "dark" if dark else "light"
    app = QApplication.instance() or QApplication(sys.argv)
    theme.follow_system_scheme(app)  # type: ignore[arg-type]
    suffix = "-dark" if dark else ""
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
    window.resize(*DEFAULT_WINDOW_SIZE)
    window.show()
    inbox = window.dlq_inbox

    def dashboard(suffix: str) -> None:
        window.tabs.setCurrentIndex(0)
        save_small(window, HERE / f"dashboard{suffix}.png")

    def desk_bulk() -> None:
        window.tabs.setCurrentIndex(2)
        window.splitter.setSizes([620, 140])  # the log panel small: the desk is the subject
        inbox.table.selectRow(0)
        for row in range(1, 6):
            inbox.table.selectionModel().select(
                inbox.proxy.index(row, 0),
                inbox.table.selectionModel().SelectionFlag.Select
                | inbox.table.selectionModel().SelectionFlag.Rows,
            )

    def desk_fix() -> None:
        # A total that does not add up, fixed to what the error says it should be.
        for row in range(inbox.proxy.rowCount()):
            entry = inbox.proxy.data(inbox.proxy.index(row, 0), EntryRole)
            found = re.match(r"total: expected ([\d.]+)", entry.error_message or "")
            if found:
                inbox.table.selectRow(row)
                order = json.loads(inbox.editor.text())
                order["total"] = float(found.group(1))
                inbox.editor.edit.setPlainText(json.dumps(order, indent=2))
                inbox.editor.validate_now()
                break
        inbox.tabs.setCurrentIndex(TAB_EDIT)

    def settings_shot(suffix: str) -> None:
        dialog = SettingsDialog(settings.model_copy(update={"log_dir": Path("~/OrderDesk/logs")}))
        dialog.show()
        QTimer.singleShot(400, lambda: (save_small(dialog, HERE / f"settings{suffix}.png"),
                                        dialog.close()))  # fmt: skip

    steps: list[tuple[float, Callable[[], object]]] = [
        (seconds, lambda: dashboard(suffix)),
        (0.2, desk_bulk),
        # The inbox and the editor light only; the diff, dashboard and settings both ways.
        (0.8, lambda: dark or save_small(window, HERE / "dlq-inbox.png")),
        (0.2, desk_fix),
        (0.8, lambda: dark or save_small(window, HERE / "dlq-edit.png")),
        (0.2, lambda: inbox.tabs.setCurrentIndex(TAB_DIFF)),
        (0.8, lambda: save_small(window, HERE / f"dlq-diff{suffix}.png")),
        (0.2, lambda: settings_shot(suffix)),
        (1.0, window.close),
    ]
    at = 0.0
    for delay, step in steps:
        at += delay
        QTimer.singleShot(int(at * 1000), step)
    QTimer.singleShot(0, window.start_all)
    app.exec()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", help="a running broker (default: start one)")
    parser.add_argument("--seconds", type=float, default=25.0, help="run time before the shot")
    parser.add_argument("--scheme", choices=("light", "dark", "both"), default="both")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        bootstrap = args.bootstrap_servers
        if not bootstrap:
            sys.path.insert(0, str(ROOT / "tests"))
            from broker import KafkaBroker

            bootstrap = stack.enter_context(KafkaBroker()).bootstrap
        if args.scheme != "both":
            capture(bootstrap, args.seconds, dark=args.scheme == "dark")
            return 0
        for scheme in ("light", "dark"):  # one process each: a fresh app per scheme
            command = [sys.executable, __file__, "--bootstrap-servers", bootstrap,
                       "--seconds", str(args.seconds), "--scheme", scheme]  # fmt: skip
            subprocess.run(command, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
