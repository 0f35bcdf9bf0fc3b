"""The desktop app's check for Qt's xcb libraries, with a fake library lookup."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orderdesk import cli
from orderdesk.cli import xcb

DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'
UBUNTU = "ID=ubuntu\nID_LIKE=debian\n"
FEDORA = 'NAME="Fedora Linux"\nID=fedora\n'
ARCH = "ID=arch\n"
X11 = {"DISPLAY": ":0"}


def missing(*sonames: str) -> xcb.Loader:
    """A fake lookup that finds every library but `sonames`."""
    return lambda soname: soname not in sonames


@pytest.mark.parametrize(
    ("environ", "platform", "expected"),
    [
        (X11, "linux", True),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux", False),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland;xcb"}, "linux", False),
        ({}, "linux", False),
        ({"DISPLAY": ""}, "linux", False),
        (X11, "darwin", False),
        (X11, "win32", False),
        (
            {"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"},
            "linux",
            False,
        ),
        ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}, "linux", True),
    ],
)
def test_only_an_x_display_on_linux_without_another_platform_is_xcb(
    environ: dict[str, str], platform: str, expected: bool
) -> None:
    assert xcb.platform_is_xcb(environ, platform) is expected


def test_missing_libraries_are_listed_in_table_order() -> None:
    found = xcb.missing_libraries(missing("libxcb-icccm.so.4", "libxcb-cursor.so.0"))
    assert found == ["libxcb-cursor.so.0", "libxcb-icccm.so.4"]
    assert xcb.missing_libraries(missing()) == []


def test_the_message_names_every_missing_library_and_the_apt_command_on_debian() -> None:
    message = xcb.xcb_problem(
        X11, "linux", missing("libxcb-cursor.so.0", "libxcb-icccm.so.4"), os_release=DEBIAN
    )
    assert message is not None
    first, command = message.splitlines()
    assert first == (
        "orderdesk: error: the desktop app needs system libraries that are missing "
        "(libxcb-cursor.so.0, libxcb-icccm.so.4); install them with:"
    )
    assert (
        command.strip().removeprefix("sudo ") == "apt-get install -y libxcb-cursor0 libxcb-icccm4"
    )


def test_ubuntu_gets_apt_fedora_gets_dnf_each_package_once() -> None:
    # libglib-2.0 and libgthread-2.0 come from one package; so do libxcb-shape and -randr.
    lookup = missing("libglib-2.0.so.0", "libgthread-2.0.so.0", "libxcb-shape.so.0")
    libs = xcb.missing_libraries(lookup)
    assert xcb.install_commands(libs, UBUNTU) == [
        "sudo apt-get install -y libglib2.0-0 libxcb-shape0"
    ]
    assert xcb.install_commands(libs, FEDORA) == ["sudo dnf install -y glib2 libxcb"]
    assert xcb.install_commands(libs, FEDORA, root=True) == ["dnf install -y glib2 libxcb"]


def test_another_distribution_gets_both_commands() -> None:
    commands = xcb.install_commands(["libxcb-cursor.so.0"], ARCH)
    assert [command.split()[1] for command in commands] == ["apt-get", "dnf"]
    assert "xcb-util-cursor" in commands[1]


def test_nothing_to_say_when_all_are_there_or_the_platform_is_not_xcb() -> None:
    assert xcb.xcb_problem(X11, "linux", missing(), os_release=DEBIAN) is None
    offscreen = {"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}
    assert xcb.xcb_problem(offscreen, "linux", missing("libxcb.so.1"), DEBIAN) is None


def test_the_real_lookup_finds_libc_and_not_a_made_up_library() -> None:
    assert xcb.can_load("libc.so.6")
    assert not xcb.can_load("liborderdesk-does-not-exist.so.0")


def test_the_app_exits_2_with_the_message_before_importing_qt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(xcb, "can_load", missing("libxcb-cursor.so.0"))
    # Importing the GUI now would raise: the check has to come first.
    monkeypatch.setitem(sys.modules, "orderdesk.gui.app", None)
    monkeypatch.setattr(xcb, "_read_os_release", lambda: DEBIAN)

    assert cli.main([]) == 2

    err = capsys.readouterr().err
    assert "missing (libxcb-cursor.so.0)" in err
    assert "apt-get install -y libxcb-cursor0" in err


def _needed(library: Path) -> set[str]:
    out = subprocess.run(
        ["readelf", "-d", str(library)], capture_output=True, text=True, check=True
    ).stdout
    return {
        line.split("[", 1)[1].split("]", 1)[0] for line in out.splitlines() if "(NEEDED)" in line
    }


#: Part of every Linux base system (glibc, the C++ runtime, zlib, zstd), or of PySide6.
BASE = ("libc.so", "libm.so", "libstdc++.so", "libgcc_s.so", "ld-linux", "libpthread.so",
        "libdl.so", "librt.so", "libz.so", "libzstd.so", "libpyside6", "libshiboken6",
        "libicu")  # fmt: skip


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF libraries")
@pytest.mark.skipif(shutil.which("readelf") is None, reason="needs readelf (binutils)")
def test_the_table_covers_what_the_installed_qt_links_for_xcb() -> None:
    spec = importlib.util.find_spec("PySide6")
    assert spec is not None and spec.origin is not None
    package = Path(spec.origin).parent
    qt_lib = package / "Qt" / "lib"
    todo = [package / f"Qt{name}.abi3.so" for name in ("Core", "Gui", "Widgets")]
    todo.append(package / "Qt" / "plugins" / "platforms" / "libqxcb.so")
    seen: set[Path] = set()
    system: set[str] = set()
    while todo:  # the closure over the Qt libraries the wheel ships
        library = todo.pop()
        if library in seen:
            continue
        seen.add(library)
        for name in _needed(library):
            if name.startswith("libQt6"):
                todo.append(qt_lib / name)
            elif not name.startswith(BASE):
                system.add(name)
    assert qt_lib / "libQt6XcbQpa.so.6" in seen
    assert system - {soname for soname, _debian, _fedora in xcb.LIBRARIES} == set()
