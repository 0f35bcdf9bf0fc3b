"""The desktop app: Qt widgets over the Qt-free services; nothing else imports Qt."""

from orderdesk.gui.qt_compat import protect_singletons

# Before any widget is built: see qt_compat for the PySide6 6.12.0 bug this guards against.
protect_singletons()
