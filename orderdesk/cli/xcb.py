"""Check, before Qt is imported, that the system libraries of Qt's xcb platform are there.

The PySide6 wheels bring Qt itself but not the X11 client libraries its xcb platform plugin
links against. Without them Qt aborts the process (SIGABRT) in `QApplication()`, with a
hint that names only one of the missing libraries. This module finds every missing one
with `dlopen`, the way the dynamic linker will, and says which packages install them.

It never imports Qt: the check must run before Qt is loaded.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

#: Every library that the desktop app's Qt (QtCore, QtGui, QtWidgets, the xcb plugin and
#: the Qt libraries they load) links against and the PySide6 wheels do not ship: (soname,
#: Debian/Ubuntu package, Fedora package). From the wheels' DT_NEEDED entries (PySide6
#: 6.11); tests/unit/test_xcb.py checks the installed wheel against this table.
LIBRARIES: tuple[tuple[str, str, str], ...] = (
    ("libglib-2.0.so.0", "libglib2.0-0", "glib2"),
    ("libgthread-2.0.so.0", "libglib2.0-0", "glib2"),
    ("libGL.so.1", "libgl1", "mesa-libGL"),
    ("libEGL.so.1", "libegl1", "mesa-libEGL"),
    ("libfontconfig.so.1", "libfontconfig1", "fontconfig"),
    ("libfreetype.so.6", "libfreetype6", "freetype"),
    ("libdbus-1.so.3", "libdbus-1-3", "dbus-libs"),
    ("libX11.so.6", "libx11-6", "libX11"),
    ("libX11-xcb.so.1", "libx11-xcb1", "libX11-xcb"),
    ("libxkbcommon.so.0", "libxkbcommon0", "libxkbcommon"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11"),
    ("libxcb.so.1", "libxcb1", "libxcb"),
    ("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor"),
    ("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm"),
    ("libxcb-image.so.0", "libxcb-image0", "xcb-util-image"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms"),
    ("libxcb-randr.so.0", "libxcb-randr0", "libxcb"),
    ("libxcb-render.so.0", "libxcb-render0", "libxcb"),
    ("libxcb-render-util.so.0", "libxcb-render-util0", "xcb-util-renderutil"),
    ("libxcb-shape.so.0", "libxcb-shape0", "libxcb"),
    ("libxcb-shm.so.0", "libxcb-shm0", "libxcb"),
    ("libxcb-sync.so.1", "libxcb-sync1", "libxcb"),
    ("libxcb-util.so.1", "libxcb-util1", "xcb-util"),
    ("libxcb-xfixes.so.0", "libxcb-xfixes0", "libxcb"),
    ("libxcb-xkb.so.1", "libxcb-xkb1", "libxcb"),
)

Loader = Callable[[str], bool]


def platform_is_xcb(environ: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Whether Qt will pick its xcb platform: Linux, an X display, no other platform asked for.

    `QT_QPA_PLATFORM` set to anything but xcb is left to Qt; so is a Wayland session,
    where Qt tries its Wayland platform first.
    """
    if not platform.startswith("linux") or not environ.get("DISPLAY"):
        return False
    requested = environ.get("QT_QPA_PLATFORM", "").strip()
    if requested:
        return requested.split(";")[0].split(":")[0] == "xcb"
    wayland = environ.get("XDG_SESSION_TYPE") == "wayland" and environ.get("WAYLAND_DISPLAY")
    return not wayland


def can_load(soname: str) -> bool:
    """Whether the dynamic linker finds and loads `soname` (as Qt's own libraries will)."""
    try:
        ctypes.CDLL(soname, mode=os.RTLD_LAZY | os.RTLD_LOCAL)
    except OSError:
        return _bundled(soname)
    return True


def _bundled(soname: str) -> bool:
    """In a PyInstaller build, a library next to the bundled Qt counts as present."""
    bundle = getattr(sys, "_MEIPASS", None)
    if not getattr(sys, "frozen", False) or not bundle:
        return False
    return any(Path(bundle).rglob(soname))


def missing_libraries(load: Loader | None = None) -> list[str]:
    """The sonames of `LIBRARIES` that `load` (default: `can_load`) cannot load, in order."""
    load = load or can_load
    return [soname for soname, _debian, _fedora in LIBRARIES if not load(soname)]


def _distribution_family(os_release: str) -> str | None:
    """'debian', 'fedora' or None, from the text of /etc/os-release."""
    words: set[str] = set()
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("ID", "ID_LIKE"):
            words.update(value.strip().strip("\"'").lower().split())
    if words & {"debian", "ubuntu"}:
        return "debian"
    if words & {"fedora", "rhel", "centos"}:
        return "fedora"
    return None


def install_commands(missing: Sequence[str], os_release: str, root: bool = False) -> list[str]:
    """The command that installs the packages of `missing` on this distribution.

    Both the apt-get and the dnf command when the distribution is neither family.
    """
    by_soname = {soname: (debian, fedora) for soname, debian, fedora in LIBRARIES}
    sudo = "" if root else "sudo "
    debian = " ".join(dict.fromkeys(by_soname[name][0] for name in missing))
    fedora = " ".join(dict.fromkeys(by_soname[name][1] for name in missing))
    commands = {
        "debian": f"{sudo}apt-get install -y {debian}",
        "fedora": f"{sudo}dnf install -y {fedora}",
    }
    family = _distribution_family(os_release)
    if family is not None:
        return [commands[family]]
    return [f"{commands['debian']}    # Debian, Ubuntu", f"{commands['fedora']}    # Fedora"]


def _read_os_release() -> str:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            return Path(path).read_text(errors="replace")
        except OSError:
            continue
    return ""


def xcb_problem(
    environ: Mapping[str, str] | None = None,
    platform: str = sys.platform,
    load: Loader | None = None,
    os_release: str | None = None,
) -> str | None:
    """None when the desktop app can start; else the message that says what to install.

    The message is one line naming the missing libraries, then the command that installs
    them (both commands when the distribution is neither Debian-like nor Fedora-like).
    """
    environ = os.environ if environ is None else environ
    if not platform_is_xcb(environ, platform):
        return None
    missing = missing_libraries(load)
    if not missing:
        return None
    text = _read_os_release() if os_release is None else os_release
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    first = (
        "orderdesk: error: the desktop app needs system libraries that are missing "
        f"({', '.join(missing)}); install them with:"
    )
    return "\n".join([first, *(f"  {cmd}" for cmd in install_commands(missing, text, root))])
