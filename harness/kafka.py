"""A real Apache Kafka 3.9 broker in KRaft mode (no ZooKeeper) on loopback (test peer, not shipped).

The broker is the ``kafka_2.13`` jar from Maven Central with its dependencies
(``scripts/fetch-kafka.sh``), one JVM acting as broker and controller, heap capped (default
256 MiB), listening on free loopback ports, its log directory under a directory the caller owns.
Topics are created on first use with ``partitions`` partitions (``auto.create.topics.enable``)::

    with run_kafka(tmp_path / "kafka", partitions=4) as kafka:
        env = {"KAFKA_BROKERS": kafka.bootstrap}
        ...
        kafka.stop()   # and kafka.start() again: same ports, same data

Environment: ``KAFKA_HEAP`` (default ``256m``), ``KAFKA_CACHE_DIR``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from harness import REPO_ROOT
from harness.ports import LOOPBACK, distinct_free_ports
from harness.processes import stop_process

FETCH_SCRIPT = REPO_ROOT / "scripts" / "fetch-kafka.sh"
KAFKA_VERSION = "3.9.1"

_LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
"""


class KafkaUnavailableError(RuntimeError):
    """Java or Maven is missing, so no broker can be fetched or started."""


class KafkaStartError(RuntimeError):
    """The broker did not start; the message carries the tail of its log."""


def ensure_kafka() -> Path:
    """Fetch (once, cached) the broker's jars; return the directory holding ``lib/``.

    Raises :class:`KafkaUnavailableError` when ``java`` or ``mvn`` is missing.
    """
    missing = [tool for tool in ("java", os.environ.get("MVN", "mvn")) if shutil.which(tool) is None]
    if missing:
        raise KafkaUnavailableError(f"{', '.join(missing)} not on PATH (need Java 17+ and Maven)")
    result = subprocess.run([str(FETCH_SCRIPT)], capture_output=True, text=True, check=False, timeout=900)
    if result.returncode != 0:
        raise KafkaStartError(f"{FETCH_SCRIPT} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


class RunningKafka:
    """One KRaft broker+controller process on loopback."""

    def __init__(self, base_dir: Path, cache_dir: Path, partitions: int = 4, heap: str | None = None) -> None:
        """Prepare (not start) a broker whose config, data and log live under ``base_dir``."""
        self.base_dir = base_dir
        self.cache_dir = cache_dir
        self.partitions = partitions
        self.heap = heap or os.environ.get("KAFKA_HEAP", "256m")
        self.port, self.controller_port = distinct_free_ports(2)
        self.bootstrap = f"{LOOPBACK}:{self.port}"
        self.log_path = base_dir / "kafka.log"
        self.data_dir = base_dir / "data"
        self.process: subprocess.Popen[bytes] | None = None
        self._cluster_id = uuid.uuid4().bytes.hex()[:22]

    def _properties(self) -> Path:
        path = self.base_dir / "server.properties"
        path.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@{LOOPBACK}:{self.controller_port}",
                    f"listeners=PLAINTEXT://{LOOPBACK}:{self.port},CONTROLLER://{LOOPBACK}:{self.controller_port}",
                    f"advertised.listeners=PLAINTEXT://{LOOPBACK}:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    "inter.broker.listener.name=PLAINTEXT",
                    f"log.dirs={self.data_dir}",
                    f"num.partitions={self.partitions}",
                    "auto.create.topics.enable=true",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=4",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "",
                ]
            )
        )
        (self.base_dir / "log4j.properties").write_text(_LOG4J)
        return path

    def _java(self, main: str, *args: str, heap: str) -> list[str]:
        return [
            "java",
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{self.base_dir / 'log4j.properties'}",
            "-cp",
            str(self.cache_dir / "lib" / "*"),
            main,
            *args,
        ]

    def start(self, timeout: float = 90.0) -> None:
        """Format the storage on the first start, start the broker, wait until it takes connections."""
        if self.is_running():
            return
        self.base_dir.mkdir(parents=True, exist_ok=True)
        properties = self._properties()
        if not (self.data_dir / "meta.properties").exists():
            subprocess.run(
                self._java(
                    "kafka.tools.StorageTool", "format", "-t", self._cluster_id, "-c", str(properties), heap="128m"
                ),
                check=True,
                capture_output=True,
                timeout=120,
            )
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {time.strftime('%H:%M:%S')} port {self.port} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self._java("kafka.Kafka", str(properties), heap=self.heap),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise KafkaStartError(f"Kafka exited with {self.process.returncode}\n{self.log_tail()}")
            this_run = self.log_path.read_bytes().rsplit(b"===== start", 1)[-1]
            if b"Kafka Server started" in this_run and _accepts(LOOPBACK, self.port):
                return
            time.sleep(0.3)
        self.stop()
        raise KafkaStartError(f"Kafka not started after {timeout:.0f}s\n{self.log_tail()}")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the broker (SIGTERM, SIGKILL after ``timeout``); data stays."""
        if self.process is not None:
            stop_process(self.process, timeout)
            self.process = None

    def kill(self) -> None:
        """SIGKILL the broker (a crash); data stays."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
            self.process = None

    def is_running(self) -> bool:
        """Return True while the JVM process is alive."""
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        """Return the last ``lines`` lines of the broker's console log."""
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _accepts(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1.0):
        return True
    return False


@contextlib.contextmanager
def run_kafka(base_dir: Path, partitions: int = 4, heap: str | None = None) -> Iterator[RunningKafka]:
    """Start a broker under ``base_dir``, yield it, stop it on exit (log tail printed on an error)."""
    broker = RunningKafka(base_dir, ensure_kafka(), partitions=partitions, heap=heap)
    try:
        broker.start()
        yield broker
    except BaseException:
        print(f"----- Kafka log ({broker.log_path}) -----\n{broker.log_tail(120)}")
        raise
    finally:
        broker.stop()
