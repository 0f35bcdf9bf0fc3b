"""A window whose services are stuck, closed as Ctrl+Q closes it: the process must end.

Run as `python tests/gui/quit_app.py LIMIT TIMES`: it starts both (stuck) services,
closes the window TIMES times (1: wait for the limit; 2: a second Ctrl+Q), and prints
"closing" just before the first close. It never ends on its own otherwise.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from orderdesk.config import Settings
from orderdesk.gui import main_window
from tests.gui.fakes import StuckFactory


def main() -> None:
    limit, times = float(sys.argv[1]), int(sys.argv[2])
    app = QApplication(sys.argv)
    folder = Path(tempfile.mkdtemp(prefix="orderdesk-quit-"))
    store = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
    main_window.QUIT_MARGIN = 0.0
    settings = Settings(
        kafka={"bootstrap_servers": "127.0.0.1:1"},
        producer={"flush_timeout": limit},
        log_dir=folder / "logs",
    )
    window = main_window.MainWindow(
        settings, None, store, producer=StuckFactory(), tracker=StuckFactory(kind="tracker"),
        probe_interval_ms=60_000,
    )  # fmt: skip
    window.show()
    window.start_all()

    def close() -> None:
        print("closing", flush=True)
        for _ in range(times):
            window.close()

    QTimer.singleShot(500, close)
    app.exec()
    print("event loop returned", flush=True)  # never: the stuck threads are not waited for


if __name__ == "__main__":
    main()
