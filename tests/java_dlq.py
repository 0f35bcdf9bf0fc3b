"""Real Spring Kafka and Kafka Connect dead letters for the integration tests, without Docker.

``tests/java-dlq/pom.xml`` names Spring Kafka, Kafka Connect (runtime, file connector,
JSON converter) and a small Java program, ``orderdesk.fixture.SpringDeadLetters``. Maven
compiles it and copies its jars once into a cache directory, keyed by the digest of the
POM and the sources; after that a run is only ``java -cp ...``.

* ``run_spring(...)`` writes keyed records with Java's producer and lets a Spring listener
  container with ``DefaultErrorHandler`` + ``DeadLetterPublishingRecoverer`` dead-letter
  them (one of them for a key that fails deserialization).
* ``ConnectWorker(...)`` runs Connect's standalone worker with a file sink, tolerating
  errors into a dead-letter queue with context headers.

From the repository root, ``python tests/java_dlq.py --resolve-only`` builds the cache
(``.ci/run`` does, next to ``tests/broker.py --resolve-only``).

Environment:
    ORDERDESK_JAVA_DLQ_CACHE  where the build is cached (default: ~/.cache/orderdesk/java-dlq)
    JAVA_HOME                 the JDK to use (else ``java``/``javac`` on PATH, 17 or newer)
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

PROJECT = Path(__file__).resolve().parent / "java-dlq"
SPRING_MAIN = "orderdesk.fixture.SpringDeadLetters"
CONNECT_MAIN = "org.apache.kafka.connect.cli.ConnectStandalone"
#: The key `SpringDeadLetters` writes besides the UUIDs, which the listener cannot read.
SPRING_BAD_KEY = "not-a-uuid"
JVM_OPTS = ("-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData")
_MARKER = "built.json"


class FixtureUnavailable(RuntimeError):
    """Java, a Java compiler or Maven is missing: the tests that need them are skipped."""


class FixtureError(RuntimeError):
    """The fixture could not be built or did not do its job."""


def _stderr(message: str) -> None:
    print(f"[java-dlq] {message}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    override = os.environ.get("ORDERDESK_JAVA_DLQ_CACHE")
    if override:
        return Path(override).expanduser()
    return Path.home() / ".cache" / "orderdesk" / "java-dlq"


def _tool(name: str) -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / name).is_file():
        return str(Path(home) / "bin" / name)
    found = shutil.which(name)
    if not found:
        raise FixtureUnavailable(f"no '{name}' on PATH and none in JAVA_HOME (needs a JDK 17+)")
    return found


def _digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(PROJECT.rglob("*")):
        if path.is_file() and "target" not in path.relative_to(PROJECT).parts:
            digest.update(str(path.relative_to(PROJECT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Fixture:
    """The built fixture: compiled classes and the jars they need."""

    classes: Path
    jars: tuple[Path, ...]

    @property
    def classpath(self) -> str:
        return os.pathsep.join(str(p) for p in (self.classes, *self.jars))

    def command(self, main: str, *args: str, log_level: str = "warn") -> list[str]:
        return [
            _tool("java"),
            *JVM_OPTS,
            f"-Dorg.slf4j.simpleLogger.defaultLogLevel={log_level}",
            "-cp",
            self.classpath,
            main,
            *args,
        ]


def _read_marker(cache: Path) -> Fixture | None:
    try:
        marker = json.loads((cache / _MARKER).read_text())
    except (OSError, ValueError):
        return None
    if marker.get("digest") != _digest():
        return None
    build = cache / "build"
    jars = tuple(build / "libs" / name for name in marker.get("jars", []))
    classes = build / "target" / "classes"
    if not jars or not all(j.is_file() for j in jars) or not classes.is_dir():
        return None
    return Fixture(classes, jars)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def resolve(cache: Path | None = None) -> Fixture:
    """The built fixture, building it with Maven on first use (or after a change)."""
    cache = cache or cache_dir()
    _tool("java")
    _tool("javac")  # a JRE alone cannot compile the fixture
    found = _read_marker(cache)
    if found:
        return found
    mvn = shutil.which("mvn")
    if not mvn:
        raise FixtureUnavailable("no 'mvn' on PATH: Maven builds the Spring/Connect fixture")
    with _locked(cache / ".lock"):
        found = _read_marker(cache)
        if found:
            return found
        for leftover in cache.glob("build.*"):
            shutil.rmtree(leftover, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix="build.", dir=cache))
        command = [
            mvn,
            "-q",
            "-B",
            "-U",
            "-Dstyle.color=never",
            "-f",
            str(PROJECT / "pom.xml"),
            f"-Dfixture.out={staging}",
            "compile",
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging / 'libs'}",
        ]
        _stderr(f"building the Spring Kafka / Kafka Connect fixture into {cache} ...")
        started = time.monotonic()
        try:
            for attempt in (1, 2):  # once more after a network hiccup
                result = subprocess.run(
                    command, capture_output=True, text=True, timeout=900, check=False
                )
                if result.returncode == 0:
                    break
                if attempt == 1:
                    _stderr("Maven failed; trying once more")
            if result.returncode != 0:
                raise FixtureError(
                    f"Maven failed ({result.returncode}):\n$ {shlex.join(command)}\n"
                    f"{result.stdout[-4000:]}{result.stderr[-4000:]}"
                )
            names = sorted(p.name for p in (staging / "libs").glob("*.jar"))
            build = cache / "build"
            shutil.rmtree(build, ignore_errors=True)
            staging.rename(build)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        tmp = cache / f"{_MARKER}.tmp"
        tmp.write_text(json.dumps({"digest": _digest(), "jars": names}, indent=1))
        os.replace(tmp, cache / _MARKER)
        _stderr(f"built with {len(names)} jars in {time.monotonic() - started:.1f}s")
        found = _read_marker(cache)
        assert found is not None
        return found


def run_spring(
    fixture: Fixture,
    bootstrap: str,
    topic: str,
    dlq_topic: str,
    count: int,
    group: str,
    timeout: float = 150.0,
) -> list[dict[str, Any]]:
    """Run `SpringDeadLetters`; its JSON lines: each record sent, then each dead letter."""
    command = fixture.command(SPRING_MAIN, bootstrap, topic, dlq_topic, str(count), group)
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise FixtureError(
            f"{SPRING_MAIN} failed ({result.returncode}):\n{result.stdout[-4000:]}"
            f"{result.stderr[-4000:]}"
        )
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


class ConnectWorker:
    """Kafka Connect's standalone worker: a file sink on `topic`, failures to `dlq_topic`.

    `errors.tolerance=all` with the dead-letter queue's context headers, the JSON
    converter for values: a value that is not JSON fails in the VALUE_CONVERTER stage and
    becomes a dead letter. Use as a context manager; the worker stops on exit.
    """

    def __init__(self, fixture: Fixture, bootstrap: str, topic: str, dlq_topic: str) -> None:
        self.fixture = fixture
        self.bootstrap = bootstrap
        self.topic = topic
        self.dlq_topic = dlq_topic
        self.workdir = Path(tempfile.mkdtemp(prefix="orderdesk-connect-"))
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "connect.log"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> ConnectWorker:
        worker = self.workdir / "worker.properties"
        worker.write_text(
            _properties(
                {
                    "bootstrap.servers": self.bootstrap,
                    "key.converter": "org.apache.kafka.connect.storage.StringConverter",
                    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                    "value.converter.schemas.enable": "false",
                    "offset.storage.file.filename": self.workdir / "offsets",
                    "offset.flush.interval.ms": 1000,
                    "listeners": "http://127.0.0.1:0",  # a free port for the REST API
                    "plugin.discovery": "only_scan",
                }
            )
        )
        sink = self.workdir / "sink.properties"
        sink.write_text(
            _properties(
                {
                    "name": "orders-sink",
                    "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
                    "tasks.max": 1,
                    "topics": self.topic,
                    "file": self.workdir / "sink.txt",
                    "errors.tolerance": "all",
                    "errors.deadletterqueue.topic.name": self.dlq_topic,
                    "errors.deadletterqueue.topic.replication.factor": 1,
                    "errors.deadletterqueue.context.headers.enable": "true",
                    "consumer.override.auto.offset.reset": "earliest",
                }
            )
        )
        command = self.fixture.command(CONNECT_MAIN, str(worker), str(sink))
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,
            )
        return self

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def sunk(self) -> list[str]:
        """The lines the file sink wrote: the records that did not fail."""
        try:
            return (self.workdir / "sink.txt").read_text().splitlines()
        except OSError:
            return []

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _properties(values: dict[str, object]) -> str:
    return "".join(f"{key}={value}\n" for key, value in values.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resolve-only", action="store_true", help="build the cache, then exit")
    args = parser.parse_args(argv)
    try:
        fixture = resolve()
    except FixtureUnavailable as exc:
        _stderr(f"skipped: {exc}")
        return 0
    except FixtureError as exc:
        _stderr(f"error: {exc}")
        return 1
    _stderr(f"{len(fixture.jars)} jars, classes in {fixture.classes}")
    if not args.resolve_only:
        print(fixture.classpath)
    return 0


if __name__ == "__main__":
    sys.exit(main())
