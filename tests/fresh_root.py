"""Run the README's quick start, as written, in a fresh Debian 12 root.

    sudo python3 tests/fresh_root.py [--display N] [--keep] [--skip-tests]

Builds a minimal Debian bookworm root with debootstrap (cached as a tarball under
~/.cache/orderdesk/fresh-root), copies this checkout into it as the home of a user with
sudo rights, and runs there, as that user, the commands the README's "Quick start" gives:
1. the Debian/Ubuntu system packages line;
2. the start command, on an Xvfb display of the host: it passes once a window named
   "OrderDesk" appears, which Ctrl+Q then closes (the app must exit 0);
3. the test command: it passes when the test suite does.

The commands are read from README.md, so the README cannot drift from what this checks.
The root has no Java, no Maven and no pip of its own; it reaches the network the host
does (Debian's mirror, PyPI, Maven Central). The host's CA bundle is handed to the
commands (SSL_CERT_FILE, PIP_CERT) so that a TLS-inspecting proxy works as on the host;
nothing is installed into the root's own trust store.

Needs root, debootstrap, Xvfb and xdotool on the host (Debian: apt-get install debootstrap
xvfb xdotool). Exits 0 when all three steps passed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
#: sudo, because the README's commands use it; nothing else beyond Debian's minimal base.
INCLUDE = ("sudo",)
CACHE = Path.home() / ".cache" / "orderdesk" / "fresh-root"
#: A cached root older than this is built again, so that it stays a current Debian.
MAX_TARBALL_AGE = 7 * 24 * 3600
USER = "user"
WINDOW_TITLE = "OrderDesk"
HOST_CA = "/etc/orderdesk-host-ca.pem"
WORKDIR_PARENT = "/var/tmp"
WORKDIR_PREFIX = "orderdesk-fresh-root-"

START_TIMEOUT = 600.0  # install and first window
QUIT_TIMEOUT = 60.0
TEST_TIMEOUT = 3600.0


def say(message: str) -> None:
    print(f"[fresh-root] {message}", flush=True)


class Failed(Exception):
    """One of the README's commands did not do what the README says."""


@dataclass(frozen=True)
class QuickStart:
    packages: str
    start: str
    test: str


def quick_start_commands(readme: str) -> QuickStart:
    """The Debian packages line, the start command and the test command of the README."""
    match = re.search(r"^## Quick start\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    if not match:
        raise Failed("README.md has no '## Quick start' section")
    blocks = re.findall(r"^```bash\n(.*?)^```", match.group(1), re.M | re.S)
    commands = [block.strip() for block in blocks]

    def one(what: str, predicate: object) -> str:
        found = [command for command in commands if predicate(command)]  # type: ignore[operator]
        if len(found) != 1:
            raise Failed(f"the Quick start should have one {what} block, found {len(found)}")
        return found[0]

    return QuickStart(
        packages=one("apt-get", lambda c: "apt-get install" in c),
        start=one("start", lambda c: "orderdesk" in c and "pytest" not in c and "install" in c
                  and "apt-get" not in c and "dnf" not in c),
        test=one("test", lambda c: "pytest" in c),
    )  # fmt: skip


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=True, text=True, **kwargs)  # type: ignore[call-overload,no-any-return]


def _fresh_tarball() -> Path:
    """A tarball of a fresh debootstrap root, built at most once a week."""
    name = f"debian-{SUITE}-minbase-{'-'.join(INCLUDE)}.tar"
    tarball = CACHE / name
    if tarball.is_file() and time.time() - tarball.stat().st_mtime < MAX_TARBALL_AGE:
        return tarball
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="debootstrap-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "root"
        say(f"debootstrap {SUITE} (minbase + {', '.join(INCLUDE)}) ...")
        started = time.monotonic()
        _run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(INCLUDE)}", SUITE,
             str(root), MIRROR],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        say(f"debootstrap took {time.monotonic() - started:.0f} s")
        partial = tarball.with_name(f"{name}.{os.getpid()}.tmp")
        _run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(partial), "."])
        os.replace(partial, tarball)
    return tarball


@contextlib.contextmanager
def mounted(root: Path) -> Iterator[None]:
    """/proc, /sys, /dev and the host's X11 sockets inside `root`; unmounted on exit."""
    mounts: list[Path] = []
    try:
        for kind, source, target in (
            ("proc", "proc", "proc"),
            ("sysfs", "sys", "sys"),
            ("rbind", "/dev", "dev"),
            ("bind", "/tmp/.X11-unix", "tmp/.X11-unix"),
        ):
            point = root / target
            point.mkdir(parents=True, exist_ok=True)
            if kind in ("rbind", "bind"):
                _run(["mount", f"--{kind}", source, str(point)])
                _run(["mount", "--make-rslave", str(point)])
            else:
                _run(["mount", "-t", kind, source, str(point)])
            mounts.append(point)
        yield
    finally:
        _kill_processes_in(root)
        for point in reversed(mounts):
            subprocess.run(["umount", "--recursive", "--lazy", str(point)], check=False)


def _kill_processes_in(root: Path) -> None:
    """SIGKILL whatever still runs inside `root` (all of it started by this script)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if os.readlink(proc / "root") == str(root):
                os.kill(int(proc.name), signal.SIGKILL)


def _mount_points_under(path: Path) -> list[str]:
    """Mount points at or below `path`: never delete a tree that reaches into the host."""
    prefix = str(path)
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return points


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_roots() -> None:
    """Unmount and delete the roots of runs that were killed (SIGKILL skips the cleanup)."""
    for workdir in Path(WORKDIR_PARENT).glob(f"{WORKDIR_PREFIX}*"):
        try:
            owner = int((workdir / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if _pid_alive(owner):
            continue
        root = workdir / "root"
        _kill_processes_in(root)
        for point in sorted(_mount_points_under(root), reverse=True):
            subprocess.run(["umount", "--recursive", "--lazy", point], check=False)
        if not _mount_points_under(workdir):
            say(f"removing {workdir}, left by a run that was killed")
            shutil.rmtree(workdir, ignore_errors=True)


def prepare(root: Path, tarball: Path) -> None:
    """Unpack the fresh root, add the user, copy this checkout into the user's home."""
    started = time.monotonic()
    _run(["tar", "-C", str(root), "--numeric-owner", "-xf", str(tarball)])
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    ca = next(
        (Path(p) for p in (os.environ.get("SSL_CERT_FILE"), os.environ.get("PIP_CERT"),
                           "/etc/ssl/certs/ca-certificates.crt") if p and Path(p).is_file()),
        None,
    )  # fmt: skip
    if ca is not None:
        shutil.copy(ca, root / HOST_CA.lstrip("/"))
    _run(["chroot", str(root), "useradd", "--create-home", "--shell", "/bin/bash", USER])
    sudoers = root / "etc" / "sudoers.d" / USER
    sudoers.write_text(f'{USER} ALL=(ALL) NOPASSWD: ALL\nDefaults env_keep += "DEBIAN_FRONTEND"\n')
    sudoers.chmod(0o440)
    checkout = root / "home" / USER / "orderdesk"
    checkout.mkdir()
    files = _run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():  # deleted but not yet committed: skip
            target = checkout / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    _run(["chroot", str(root), "chown", "-R", f"{USER}:{USER}", f"/home/{USER}"])
    say(f"root ready in {time.monotonic() - started:.0f} s: {root}")


def as_user(root: Path, command: str, display: str | None = None) -> list[str]:
    """`command` in the checkout, as the user, in a clean login-like environment."""
    env = [
        f"HOME=/home/{USER}",
        f"USER={USER}",
        f"LOGNAME={USER}",
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "LANG=C.UTF-8",
        "DEBIAN_FRONTEND=noninteractive",
    ]
    if (root / HOST_CA.lstrip("/")).is_file():
        env += [f"SSL_CERT_FILE={HOST_CA}", f"PIP_CERT={HOST_CA}"]
    if display:
        env.append(f"DISPLAY={display}")
    script = f"cd ~/orderdesk && {command}"
    return ["chroot", f"--userspec={USER}:{USER}", str(root),
            "/usr/bin/env", "-i", *env, "/bin/bash", "-c", script]  # fmt: skip


def run_step(name: str, command: list[str], log: Path, timeout: float) -> float:
    started = time.monotonic()
    with log.open("w") as out:
        try:
            result = subprocess.run(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                timeout=timeout, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise Failed(f"{name}: no result within {timeout:.0f} s\n{_tail(log)}") from exc
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise Failed(f"{name}: exit status {result.returncode}\n{_tail(log)}")
    say(f"{name}: passed in {seconds:.0f} s")
    return seconds


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def xvfb(display: int | None) -> Iterator[str]:
    """An Xvfb server on `display`, or on the first free one; ready once it is yielded."""
    read_fd, write_fd = os.pipe()
    command = ["Xvfb", "-displayfd", str(write_fd), "-nolisten", "tcp"]
    command += ["-screen", "0", "1280x1024x24"]
    if display is not None:
        command.insert(1, f":{display}")
    server = subprocess.Popen(
        command, pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    os.close(write_fd)
    try:
        # Xvfb writes the display number once it accepts connections, also on a given one.
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number.isdigit():
            raise Failed(f"Xvfb did not start (display {display})")
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


def _windows(display: str) -> list[str]:
    result = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--name", f"^{WINDOW_TITLE}$"],
        capture_output=True, text=True, env={**os.environ, "DISPLAY": display}, check=False,
    )  # fmt: skip
    return result.stdout.split()


def run_start_command(root: Path, command: str, display: str, log: Path) -> float:
    """Run the start command until its window appears; close it with Ctrl+Q."""
    started = time.monotonic()
    with log.open("w") as out:
        app = subprocess.Popen(
            as_user(root, command, display), stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            windows: list[str] = []
            while not windows:
                if app.poll() is not None:
                    raise Failed(f"start command: exit status {app.returncode} before a window\n"
                                 f"{_tail(log)}")  # fmt: skip
                if time.monotonic() - started > START_TIMEOUT:
                    raise Failed(f"start command: no window within {START_TIMEOUT:.0f} s\n"
                                 f"{_tail(log)}")  # fmt: skip
                time.sleep(1)
                windows = _windows(display)
            seconds = time.monotonic() - started
            say(f"start command: window {WINDOW_TITLE!r} after {seconds:.0f} s; Ctrl+Q")
            time.sleep(3)  # let the services it starts in demo mode run for a moment
            env = {**os.environ, "DISPLAY": display}
            subprocess.run(["xdotool", "windowfocus", "--sync", windows[-1]], env=env, check=False)
            subprocess.run(["xdotool", "key", "--clearmodifiers", "ctrl+q"], env=env, check=False)
            try:
                status = app.wait(QUIT_TIMEOUT)
            except subprocess.TimeoutExpired as exc:
                raise Failed(f"start command: still running {QUIT_TIMEOUT:.0f} s after Ctrl+Q\n"
                             f"{_tail(log)}") from exc  # fmt: skip
            if status != 0:
                raise Failed(f"start command: exit status {status} after Ctrl+Q\n{_tail(log)}")
            say(f"start command: closed, exit 0, {time.monotonic() - started:.0f} s in all")
            return seconds
        finally:
            if app.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(app.pid, signal.SIGKILL)
                app.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--display", type=int, help="Xvfb display number (default: a free one)")
    parser.add_argument("--keep", action="store_true", help="keep the root and its logs")
    parser.add_argument("--skip-tests", action="store_true", help="skip the test command")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("fresh_root.py: needs root (debootstrap, chroot, mount)", file=sys.stderr)
        return 2
    missing = [tool for tool in ("debootstrap", "Xvfb", "xdotool") if not shutil.which(tool)]
    if missing:
        print(f"fresh_root.py: missing on the host: {', '.join(missing)}", file=sys.stderr)
        return 2
    commands = quick_start_commands(README.read_text())
    timings: dict[str, float] = {}
    started = time.monotonic()
    tarball = _fresh_tarball()
    timings["fresh root"] = time.monotonic() - started
    remove_stale_roots()
    workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX, dir=WORKDIR_PARENT))
    (workdir / "owner.pid").write_text(str(os.getpid()))
    root = workdir / "root"
    root.mkdir()
    ok = False
    try:
        with mounted(root):
            prepare(root, tarball)
            timings["fresh root"] = time.monotonic() - started
            say(f"$ {commands.packages}")
            timings["system packages"] = run_step(
                "system packages", as_user(root, commands.packages), workdir / "packages.log", 900
            )
            with xvfb(args.display) as display:
                say(f"$ {commands.start}    (DISPLAY={display})")
                timings["start command to window"] = run_start_command(
                    root, commands.start, display, workdir / "start.log"
                )
            if not args.skip_tests:
                say(f"$ {commands.test}")
                timings["test command"] = run_step(
                    "test command", as_user(root, commands.test), workdir / "test.log", TEST_TIMEOUT
                )
                say(_tail(workdir / "test.log", 3))
        ok = True
    except (Failed, subprocess.CalledProcessError) as exc:
        print(f"[fresh-root] FAILED: {exc}", file=sys.stderr, flush=True)
    finally:
        summary = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items())
        say(f"timings: {summary}")
        if args.keep or not ok or _mount_points_under(workdir):
            say(f"logs and root kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
