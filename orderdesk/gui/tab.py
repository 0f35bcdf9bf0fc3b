"""What the main window knows of a tab: the small protocol it composes tabs through."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from orderdesk.config import Settings

log = logging.getLogger("orderdesk.gui")


class Tab(Protocol):
    """A tab of the main window.

    A tab class subclasses this protocol explicitly to take the defaults of the optional
    members: a tab without threads needs no `shutdown()`, one that ignores the settings no
    `apply_settings()`.
    """

    #: Shown on the tab and in the View menu.
    title: str
    #: The key sequence that shows the tab, such as "Ctrl+2".
    shortcut: str

    @property
    def widget(self) -> QWidget: ...

    def apply_settings(self, old: Settings, new: Settings) -> None:
        """The window's settings changed (another cluster, topic or log folder)."""
        return None

    def shutdown(self) -> None:
        """The window is closing: ask background work to stop; must return at once."""
        return None

    def busy(self) -> bool:
        """Whether background work is still running after `shutdown()`."""
        return False


@dataclass
class WidgetTab(Tab):
    """A tab that is just a widget: nothing to stop, no settings to follow."""

    title: str
    shortcut: str
    view: QWidget

    @property
    def widget(self) -> QWidget:
        return self.view


#: Builds a tab from the window's settings.
TabFactory = Callable[[Settings], Tab]


def placeholder(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("placeholder")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setStyleSheet("color: #666;")
    return label


def build_tab(title: str, shortcut: str, what: str, factory: TabFactory, settings: Settings) -> Tab:
    """The tab `factory` builds, or a placeholder that says why it could not be built."""
    try:
        return factory(settings)
    except ImportError as exc:
        text = f"The {what} is not available in this build ({exc})."
    except Exception as exc:  # a broken tab must not take the window down
        log.exception("cannot build the %s", what)
        text = f"The {what} could not be opened: {exc}"
    return WidgetTab(title, shortcut, placeholder(text))
