"""The desktop app: Qt widgets over the Qt-free services (nothing outside this package imports Qt)."""
