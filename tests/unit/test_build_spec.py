"""build.spec, evaluated with stand-ins for PyInstaller's build steps, as each platform sees it.

Only Linux builds here; this checks what the spec asks PyInstaller for on macOS and
Windows (the GitHub workflow builds and smoke-tests those for real).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import orderdesk

pytest.importorskip("PyInstaller")

ROOT = Path(__file__).resolve().parents[2]


class Step:
    """Records the arguments of one PyInstaller build step (Analysis, EXE, BUNDLE...)."""

    made: list[Step]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs
        self.binaries: list[tuple[str, str, str]] = []
        self.datas: list[tuple[str, str, str]] = []
        self.pure: list[Any] = []
        self.scripts: list[Any] = []
        self.made.append(self)


def _evaluate(platform: str, monkeypatch, tmp_path: Path) -> dict[str, list[Step]]:
    made: dict[str, list[Step]] = {}

    def kind(name: str) -> type[Step]:
        made[name] = []
        return type(name, (Step,), {"made": made[name]})

    import PyInstaller.utils.hooks

    monkeypatch.setattr(PyInstaller.utils.hooks, "collect_submodules", lambda _name: [])
    monkeypatch.setattr(sys, "platform", platform)
    namespace = {
        "SPECPATH": str(ROOT),
        "workpath": str(tmp_path),
        **{name: kind(name) for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")},
    }
    source = (ROOT / "build.spec").read_text(encoding="utf-8")
    exec(compile(source, "build.spec", "exec"), namespace)
    return made


def test_macos_makes_an_app_and_keeps_the_command_line_executable(
    monkeypatch, tmp_path: Path
) -> None:
    made = _evaluate("darwin", monkeypatch, tmp_path)
    one_file, app_exe = made["EXE"]
    assert one_file.kwargs["name"] == "orderdesk" and one_file.kwargs["console"]
    assert app_exe.kwargs["exclude_binaries"] and not app_exe.kwargs["console"]
    # The default macOS file system ignores case: no name may clash with dist/orderdesk.
    names = {app_exe.kwargs["name"], made["COLLECT"][0].kwargs["name"]}
    assert "orderdesk" not in {n.lower() for n in names}

    (bundle,) = made["BUNDLE"]
    assert bundle.kwargs["name"] == "OrderDesk.app"
    assert bundle.args == (made["COLLECT"][0],)
    assert (
        bundle.kwargs["icon"].endswith("orderdesk.icns") and Path(bundle.kwargs["icon"]).is_file()
    )
    assert bundle.kwargs["bundle_identifier"] == "org.orderdesk.OrderDesk"
    plist = bundle.kwargs["info_plist"]
    assert plist["CFBundleShortVersionString"] == orderdesk.__version__
    assert plist["CFBundleVersion"] == orderdesk.__version__
    assert plist["NSHighResolutionCapable"] is True
    assert plist["CFBundleName"] == "OrderDesk"


@pytest.mark.parametrize("platform", ["linux", "win32"])
def test_elsewhere_one_file_executable_and_no_app(
    platform: str, monkeypatch, tmp_path: Path
) -> None:
    made = _evaluate(platform, monkeypatch, tmp_path)
    (exe,) = made["EXE"]
    assert exe.kwargs["name"] == "orderdesk" and exe.kwargs["console"]
    assert made["BUNDLE"] == [] and made["COLLECT"] == []
    if platform == "win32":
        assert exe.kwargs["icon"].endswith("orderdesk.ico")
        assert exe.kwargs["hide_console"] == "hide-early"
