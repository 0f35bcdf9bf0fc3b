"""Entry point of the desktop app: the QApplication, stored preferences and the window."""

from __future__ import annotations

import gc
import json
import signal
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QWidget

from orderdesk import __version__
from orderdesk.config import APP_NAME, ConfigError, Settings, validate_settings
from orderdesk.gui.settings.connections import CHOICES_KEY, CONNECTION_KEY, EMBEDDED, Secrets
from orderdesk.gui.settings.dialog import EDITED_KEYS, get_dotted, set_dotted

ORGANIZATION = "OrderDesk"
#: Seconds a thread may hold the GIL while another waits for it (Python's default: 0.005).
GIL_SWITCH_INTERVAL = 0.0005


def configure_interpreter() -> None:
    """Hand the GIL over sooner, for a smoother event loop while services run flat out.

    Every Python callback of a repaint (pyqtgraph paints in Python) takes the GIL back from
    the service threads; each hand-over waits up to the switch interval. With the default
    5 ms, bench/gui_stall.py measured repaint stalls of about 0.5 s with both services flat
    out; with 1 ms about 0.3-0.4 s, and the services lost no throughput. Most of the rest
    went once the dashboard stopped relayouting and re-ticking its plots (about 0.1 s max,
    p99 about 50 ms). 0.1 ms measured no better than 1 ms, within the noise of a 2-core
    machine, and cost the tracker throughput, so 1 ms stayed. Once the hidden tabs stopped
    working on the GUI thread, 0.5 ms measured better than 1 ms (interleaved rounds: longest
    stall 41-72 ms against 58-71 ms, p99 27-35 ms against 39-40 ms); the tracker in the
    window reached about 13 % fewer orders and the producer about 15 % more.

    What is loaded by now (Qt, pyqtgraph, pydantic, numpy and OrderDesk's modules) is
    moved out of the garbage collector's reach (`gc.freeze`): a full collection, which
    holds the GIL throughout wherever it runs, no longer walks it (89 -> 52 ms at most
    with both services flat out).
    """
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    gc.collect()
    gc.freeze()


def merge_last_settings(settings: Settings, stored: str | None) -> Settings:
    """Apply the settings last chosen in the dialog where `settings` kept the defaults.

    A value that the config file, the environment or a flag set wins over the stored one;
    a stored value that no longer validates is ignored. Nothing but the dialog's choices
    is ever stored (see `connections.remember`).
    """
    if not stored:
        return settings
    try:
        last = json.loads(stored)
    except (TypeError, ValueError):
        return settings
    if not isinstance(last, dict):
        return settings
    data = settings.to_yaml_dict()
    defaults = Settings().to_yaml_dict()
    changed = False
    for key in EDITED_KEYS:
        if key in last and _dotted(data, key) == _dotted(defaults, key):
            set_dotted(data, key, last[key])
            changed = True
    if not changed:
        return settings
    try:
        return validate_settings(data)
    except ConfigError:
        return settings


def _dotted(data: dict[str, Any], key: str) -> Any:
    try:
        return get_dotted(data, key)
    except KeyError:
        return None


def chosen_connection(stored: str | None) -> str | None:
    """The connection last chosen in the dialog: a saved name, `embedded`, or None."""
    try:
        last = json.loads(stored) if stored else {}
    except (TypeError, ValueError):
        return None
    value = last.get(CONNECTION_KEY) if isinstance(last, dict) else None
    return value if isinstance(value, str) else None


def with_stored_secret(settings: Settings, connection: str | None) -> Settings:
    """The saved connection's password from the keyring, where none was given otherwise."""
    kafka = settings.kafka
    if not connection or connection == EMBEDDED or kafka.sasl_password is not None:
        return settings
    if not kafka.sasl_username:
        return settings
    secret = Secrets().get(connection)
    if not secret:
        return settings
    kafka = kafka.model_copy(update={"sasl_password": SecretStr(secret)})
    return settings.model_copy(update={"kafka": kafka})


#: Share of deliberately bad orders in demo mode, unless the user chose one.
DEMO_FAULTY_RATIO = 0.05


def run_gui(
    settings: Settings,
    config_path: Path | None = None,
    bootstrap_configured: bool = True,
    watch_logs: Path | None = None,
) -> int:
    """Open the main window and run the event loop; returns the exit status.

    The settings last chosen in the dialog are merged first; only then is the embedded
    broker decided on (`resolve_broker`), so a cluster saved in the dialog counts as
    configured. `bootstrap_configured` says whether the flags, environment or config file
    named one. When no broker is configured and none answers locally, the embedded broker
    starts in demo mode: the window starts the producer and tracker by itself.
    `watch_logs` names a tracker's log folder to follow from the start.
    """
    import pyqtgraph as pg

    from orderdesk.gui.main_window import MainWindow, app_icon
    from orderdesk.gui.widgets.theme import follow_system_scheme
    from orderdesk.kafka.embedded import EmbeddedBrokerError, resolve_broker

    configure_interpreter()
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("orderdesk")
    icon = app_icon()
    if icon is not None:
        app.setWindowIcon(icon)
    # Plain lines: antialiasing costs paint time that the event loop cannot spare under load.
    pg.setConfigOptions(antialias=False)
    follow_system_scheme(app)  # light or dark as the system is, and when it changes
    store = QSettings()
    stored = store.value(CHOICES_KEY)
    merged = merge_last_settings(settings, stored)
    connection = chosen_connection(stored)
    saved_cluster = merged.kafka.bootstrap_servers != settings.kafka.bootstrap_servers
    if saved_cluster:
        merged = with_stored_secret(merged, connection)
    elif connection == EMBEDDED and not bootstrap_configured:
        merged = merged.model_copy(update={"embedded": True})  # chosen in the dialog
    asked_for_embedded = merged.embedded
    try:
        merged, broker = resolve_broker(merged, bootstrap_configured or saved_cluster)
    except EmbeddedBrokerError as exc:
        print(f"orderdesk: error: {exc}", file=sys.stderr)
        show_startup_error(f"orderdesk: error: {exc}")
        return 1
    demo = broker is not None and not asked_for_embedded
    demo_faulty = demo and merged.producer.faulty_ratio == 0
    if demo_faulty:
        # A demo should show the dead-letter path at work too: one order in twenty is bad.
        producer = merged.producer.model_copy(update={"faulty_ratio": DEMO_FAULTY_RATIO})
        merged = merged.model_copy(update={"producer": producer})
    window: MainWindow | None = None
    try:
        notice = broker.notice if broker is not None else ""
        window = MainWindow(
            merged, config_path, store, demo=demo, broker_notice=notice, broker=broker
        )
        if demo_faulty:
            window.demo_faulty_ratio = DEMO_FAULTY_RATIO
        window.show()
        if watch_logs is not None:
            window.watch_log_folder(watch_logs)
        previous = _close_on_signals(window)
        try:
            return app.exec()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    finally:
        # Clients still referenced from cycles would log a refused connection for each
        # retry once the broker is gone; collecting them first closes them quietly.
        gc.collect()
        if window is not None:
            window.broker_keeper.stop()  # the embedded broker, restarted or not
        elif broker is not None:
            broker.stop()


def _close_on_signals(window: QWidget) -> dict[int, Any]:
    """SIGINT/SIGTERM close the window, so services stop as they do on Ctrl+Q.

    Python runs signal handlers only between bytecodes; the window's steady timer keeps the
    interpreter waking up a few times a second, so the handler runs promptly.
    """
    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[signum] = signal.signal(signum, lambda *_: window.close())
        except (ValueError, OSError):  # not the main thread, or not supported here
            continue
    return previous


def show_startup_error(text: str, title: str = "OrderDesk cannot start") -> None:
    """The one line a failed start prints on stderr, in a message box too: started from a
    desktop entry or the no-console executable, nobody sees stderr."""
    from PySide6.QtWidgets import QMessageBox

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName(APP_NAME)
    box = QMessageBox(QMessageBox.Icon.Critical, title, text)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.exec()
