"""The desktop app: Qt widgets over the Qt-free services; nothing else imports Qt."""
