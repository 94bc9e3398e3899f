"""Independent GELF decoders used as test peers for our collector's GELF exporter.

Two decoders that share no code with the exporter (nor with each other):

* :class:`GraylogHarness` runs ``tools/graylog-gelf-harness``: Graylog's own ``GelfChunkAggregator``
  and ``GelfCodec`` (graylog2-server from Maven Central, used at test time only) behind UDP, TCP
  (NUL-framed) and HTTP (``POST /gelf``) listeners. Each decoded message is one JSON line.
* :class:`TsharkCapture` captures loopback traffic with ``tshark`` and decodes it afterwards with
  Wireshark's GELF dissector (chunk reassembly, zlib/gzip inflation, JSON). Wireshark 4.0 has no
  GELF-over-TCP dissector, so for TCP tshark reassembles the stream (``-z follow,tcp,raw``) and
  only the NUL framing and JSON parsing are done here.

Both put the GELF payload's fields in ``message["gelf"]``, so the same assertion can run on each::

    with GraylogHarness() as graylog, TsharkCapture("udp", graylog.udp_port) as capture:
        send(graylog.udp_endpoint)
        (received,) = graylog.messages(timeout=10, count=1)
        (captured,) = capture.decode()
        assert received["gelf"]["short_message"] == captured["gelf"]["short_message"]

Missing java/mvn/tshark makes the test skip with the component's name, or fail under ``CI=true``.
Environment: ``GELF_DECODERS_CACHE`` (default ``.cache/gelf-decoders`` in the repository) holds the
built harness; ``scripts/fetch-gelf-decoders.sh`` fills it and is run on demand.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypedDict

from harness import REPO_ROOT
from harness.ports import Transport, free_port
from harness.processes import stop_process
from harness.requirements import require_executable, unavailable

FETCH_SCRIPT = REPO_ROOT / "scripts" / "fetch-gelf-decoders.sh"
HARNESS_MAIN_CLASS = "io.otelml.gelfharness.GraylogGelfHarness"


class GraylogDecoded(TypedDict):
    """What Graylog's codec built (``org.graylog2.plugin.Message``)."""

    id: str
    source: str | None
    message: str | None
    timestamp: str | None
    timestamp_ms: int
    fields: dict[str, Any]


class GraylogMessage(TypedDict, total=False):
    """One message decoded by the Graylog harness (one stdout line)."""

    transport: str
    remote: str
    chunked: bool
    chunk_count: int
    chunk_id: str
    compression: str
    payload_bytes: int
    received_at_ms: int
    gelf: dict[str, Any]
    graylog: GraylogDecoded


class TsharkMessage(TypedDict):
    """One GELF message as tshark decoded it."""

    transport: str
    frame: int
    chunked: bool
    chunk_count: int
    compression: str
    payload_bytes: int | None
    gelf: dict[str, Any]


FETCH_HINT = "run scripts/fetch-gelf-decoders.sh"


def cache_dir() -> Path:
    """Directory holding the built decoders (see ``scripts/fetch-gelf-decoders.sh``)."""
    return Path(os.environ.get("GELF_DECODERS_CACHE", REPO_ROOT / ".cache" / "gelf-decoders"))


_fetch_lock = threading.Lock()


def harness_classpath() -> str:
    """Return the harness classpath, building it with the fetch script when not cached."""
    require_executable("java", FETCH_HINT)
    classpath_file = cache_dir() / "graylog-gelf-harness" / "classpath.txt"
    with _fetch_lock:
        if not classpath_file.is_file():
            require_executable("mvn", FETCH_HINT)
            result = subprocess.run(
                ["bash", str(FETCH_SCRIPT), "--harness-only"],
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            if result.returncode != 0 or not classpath_file.is_file():
                unavailable(
                    "graylog-gelf-harness",
                    f"{FETCH_SCRIPT.name} exited {result.returncode}: {result.stderr[-2000:]}",
                )
    return classpath_file.read_text(encoding="utf-8").strip()


class GraylogHarness:
    """Graylog's own GELF decoding (chunk aggregator + codec) listening on local ports.

    Ports default to ephemeral ones chosen by the JVM; pass a fixed port to start a receiver late on
    a port an exporter already targets. ``http=True`` also starts ``POST /gelf``.
    """

    def __init__(
        self,
        *,
        udp: bool = True,
        tcp: bool = True,
        http: bool = False,
        udp_port: int = 0,
        tcp_port: int = 0,
        http_port: int = 0,
        startup_timeout: float = 60.0,
    ) -> None:
        """Configure which listeners to start; nothing runs until ``__enter__``."""
        self._wanted = {"udp": (udp, udp_port), "tcp": (tcp, tcp_port), "http": (http, http_port)}
        self._startup_timeout = startup_timeout
        self._proc: subprocess.Popen[str] | None = None
        self._messages: list[GraylogMessage] = []
        self._errors: list[dict[str, Any]] = []
        self._stderr: list[str] = []
        self._cond = threading.Condition()
        self._ready: queue.Queue[dict[str, Any]] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self.ports: dict[str, int] = {}
        self.graylog_version: str | None = None

    def __enter__(self) -> GraylogHarness:
        """Start the JVM and wait until every listener is bound."""
        classpath = harness_classpath()
        args = ["java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", classpath]
        args.append(HARNESS_MAIN_CLASS)
        for name, (enabled, port) in self._wanted.items():
            if enabled:
                args += [f"--{name}", str(port)]
        self._proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        assert self._proc.stdout is not None
        assert self._proc.stderr is not None
        self._threads = [
            threading.Thread(target=self._read_stdout, args=(self._proc.stdout,), name="graylog-out", daemon=True),
            threading.Thread(target=self._read_stderr, args=(self._proc.stderr,), name="graylog-err", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        try:
            ready = self._ready.get(timeout=self._startup_timeout)
        except queue.Empty:
            self._stop()
            raise RuntimeError(f"Graylog harness did not start: {self.stderr_tail()}") from None
        if ready.get("event") != "ready":
            self._stop()
            raise RuntimeError(f"Graylog harness exited before binding: {self.stderr_tail()}")
        self.graylog_version = ready.get("graylog_version")
        self.ports = {k[: -len("_port")]: int(v) for k, v in ready.items() if k.endswith("_port")}
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the JVM."""
        self._stop()

    def _stop(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        stop_process(proc, grace=10)
        for thread in self._threads:
            thread.join(timeout=5)

    def _read_stdout(self, stream: IO[str]) -> None:
        for line in stream:
            with contextlib.suppress(json.JSONDecodeError):
                message: GraylogMessage = json.loads(line)
                with self._cond:
                    self._messages.append(message)
                    self._cond.notify_all()

    def _read_stderr(self, stream: IO[str]) -> None:
        for line in stream:
            with self._cond:
                self._stderr.append(line.rstrip("\n"))
            event: dict[str, Any] | None = None
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    event = json.loads(line)
            if event is None:
                continue
            if event.get("event") == "ready":
                self._ready.put(event)
            elif event.get("event") == "error":
                with self._cond:
                    self._errors.append(event)
                    self._cond.notify_all()
        self._ready.put({"event": "exited"})

    def _port(self, name: str) -> int:
        if name not in self.ports:
            raise RuntimeError(f"harness was started without a {name} listener")
        return self.ports[name]

    @property
    def udp_port(self) -> int:
        """Bound UDP port."""
        return self._port("udp")

    @property
    def tcp_port(self) -> int:
        """Bound TCP port."""
        return self._port("tcp")

    @property
    def udp_endpoint(self) -> str:
        """``udp://127.0.0.1:PORT`` (the form ``GELF_ENDPOINT`` takes)."""
        return f"udp://127.0.0.1:{self.udp_port}"

    @property
    def tcp_endpoint(self) -> str:
        """``tcp://127.0.0.1:PORT``."""
        return f"tcp://127.0.0.1:{self.tcp_port}"

    @property
    def http_endpoint(self) -> str:
        """``http://127.0.0.1:PORT/gelf``."""
        return f"http://127.0.0.1:{self._port('http')}/gelf"

    def messages(self, timeout: float = 10.0, count: int = 1) -> list[GraylogMessage]:
        """Wait up to ``timeout`` s until ``count`` messages were decoded; return all decoded so far.

        Returns early once ``count`` is reached; returns fewer on timeout (the caller asserts).
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return list(self._messages)

    def errors(self) -> list[dict[str, Any]]:
        """Rejections reported by the harness (aggregator or codec), as JSON objects."""
        with self._cond:
            return list(self._errors)

    def stderr_tail(self, lines: int = 30) -> str:
        """Last stderr lines (Graylog's own log output and harness events), for assertion messages."""
        with self._cond:
            return "\n".join(self._stderr[-lines:])


def _json_value(member: dict[str, Any]) -> Any:
    """Turn one tshark ``json.member_tree`` entry into a Python value."""
    if "json.value.string" in member:
        return member["json.value.string"]
    if "json.value.number" in member:
        text = str(member["json.value.number"])
        try:
            return int(text)
        except ValueError:
            return float(text)
    if "json.value.true" in member:
        return True
    if "json.value.false" in member:
        return False
    if "json.value.null" in member:
        return None
    if "json.object" in member:
        return _json_object(member["json.object"])
    if "json.array" in member:
        return member["json.array"]
    raise ValueError(f"unrecognised tshark JSON member: {member}")


def _json_object(obj: dict[str, Any]) -> dict[str, Any]:
    members = obj.get("json.member_tree", [])
    if isinstance(members, dict):
        members = [members]
    return {member["json.key"]: _json_value(member) for member in members}


def _compression(gelf_type: str) -> str:
    """Name the payload encoding from Wireshark's ``gelf.type`` (the payload's first two bytes)."""
    value = int(gelf_type, 16) if gelf_type.startswith("0x") else -1
    if value == 0x1E0F:
        return "unknown"  # chunked: the dissector reports the chunk magic, not the payload's type
    if value == 0x1F8B:
        return "gzip"
    if value >> 8 == 0x78:
        return "zlib"
    return "uncompressed"


class TsharkCapture:
    """Capture GELF traffic to one loopback port with tshark and decode it with Wireshark's dissectors.

    For UDP nothing needs to listen on the port. For TCP something must accept the connection: pass
    ``sink=True`` (default when no port is given) to run a byte sink, or capture in front of a
    :class:`GraylogHarness` TCP port.
    """

    def __init__(self, transport: Transport = "udp", port: int | None = None, *, sink: bool | None = None) -> None:
        """Choose transport and port (a free one when ``None``); nothing runs until ``__enter__``."""
        self.transport: Transport = transport
        self.port = port if port is not None else free_port(transport)
        self._sink_wanted = sink if sink is not None else (transport == "tcp" and port is None)
        self._workdir = Path(tempfile.mkdtemp(prefix="gelf-tshark-"))
        self.pcap_path = self._workdir / "capture.pcapng"
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr_path = self._workdir / "tshark.stderr"
        self._sink: socket.socket | None = None
        self._sink_threads: list[threading.Thread] = []
        self._probe_port = free_port("udp")

    @property
    def endpoint(self) -> str:
        """``udp://127.0.0.1:PORT`` or ``tcp://127.0.0.1:PORT``."""
        return f"{self.transport}://127.0.0.1:{self.port}"

    def __enter__(self) -> TsharkCapture:
        """Start tshark and return once it demonstrably captures (a probe datagram reached the file)."""
        tshark = require_executable("tshark", FETCH_HINT)
        if self._sink_wanted:
            self._start_sink()
        capture_filter = f"{self.transport} port {self.port} or udp port {self._probe_port}"
        with self._stderr_path.open("wb") as stderr:
            self._proc = subprocess.Popen(
                [tshark, "-i", "lo", "-f", capture_filter, "-w", str(self.pcap_path)],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        try:
            self._wait_until_capturing(timeout=20.0)
        except BaseException:
            self._stop()
            raise
        return self

    def _wait_until_capturing(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        assert self._proc is not None
        while not ("Capturing on" in self._stderr_text() and self.pcap_path.exists()):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                unavailable("tshark", f"capture on lo did not start: {self._stderr_text()[-1000:]}")
            time.sleep(0.05)
        # The file exists before packets are flushed to it; probe until one shows up.
        baseline = self.pcap_path.stat().st_size
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            while self.pcap_path.stat().st_size <= baseline:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    unavailable("tshark", f"capture wrote no packets: {self._stderr_text()[-1000:]}")
                probe.sendto(b"tshark-probe", ("127.0.0.1", self._probe_port))
                time.sleep(0.1)

    def _stderr_text(self) -> str:
        try:
            return self._stderr_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def _start_sink(self) -> None:
        if self.transport == "udp":
            return  # nothing needs to receive UDP for it to be captured
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(16)
        self._sink = server

        def drain(conn: socket.socket) -> None:
            with conn:
                while conn.recv(65536):
                    pass

        def accept() -> None:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                thread = threading.Thread(target=drain, args=(conn,), daemon=True)
                thread.start()
                self._sink_threads.append(thread)

        thread = threading.Thread(target=accept, name="tshark-tcp-sink", daemon=True)
        thread.start()
        self._sink_threads.append(thread)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop capturing and delete the capture directory."""
        self._stop()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def _stop(self, grace: float = 0.5) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            time.sleep(grace)  # let the last packets get written
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def decode(self) -> list[TsharkMessage]:
        """Stop the capture (if running) and return every GELF message in it, in capture order."""
        self._stop()
        if self.transport == "udp":
            return self._decode_udp()
        return self._decode_tcp()

    def _run_tshark(self, *args: str) -> str:
        result = subprocess.run(
            ["tshark", "-r", str(self.pcap_path), *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"tshark {' '.join(args)} failed ({result.returncode}): {result.stderr[-2000:]}")
        return result.stdout

    def _decode_udp(self) -> list[TsharkMessage]:
        out = self._run_tshark(
            "-d",
            f"udp.port=={self.port},gelf",
            "-Y",
            f"udp.dstport=={self.port} && gelf && json",
            "-T",
            "json",
            "--no-duplicate-keys",
        )
        packets: list[dict[str, Any]] = json.loads(out) if out.strip() else []
        messages: list[TsharkMessage] = []
        for packet in packets:
            layers = packet["_source"]["layers"]
            gelf_layer = layers["gelf"]
            json_layer = layers["json"]
            chunked = str(gelf_layer.get("gelf.chunked")) == "1"
            gelf_type = str(gelf_layer.get("gelf.type", ""))
            fragments = gelf_layer.get("gelf.fragments") or {}
            length = gelf_layer.get("gelf.reassembled.length") or fragments.get("gelf.reassembled.length")
            messages.append(
                TsharkMessage(
                    transport="udp",
                    frame=int(layers["frame"]["frame.number"]),
                    chunked=chunked,
                    chunk_count=int(gelf_layer.get("gelf.chunk.count", 0)),
                    compression=_compression(gelf_type),
                    payload_bytes=int(length) if length is not None else None,
                    gelf=_json_object(json_layer["json.object"]),
                )
            )
        return messages

    def _decode_tcp(self) -> list[TsharkMessage]:
        streams_out = self._run_tshark(
            "-Y", f"tcp.dstport=={self.port} && tcp.len > 0", "-T", "fields", "-e", "tcp.stream"
        )
        streams = sorted({int(s) for s in streams_out.split()})
        messages: list[TsharkMessage] = []
        for stream in streams:
            follow = self._run_tshark("-q", "-z", f"follow,tcp,raw,{stream}")
            client = bytearray()
            for line in follow.splitlines():
                # follow,raw prints the first node's (client's) data unindented, the peer's with a tab.
                if not line or line.startswith(("\t", "=", "Follow:", "Filter:", "Node ")):
                    continue
                client += bytes.fromhex(line.strip())
            frames = bytes(client).split(b"\0")
            trailing = frames.pop()  # bytes after the last NUL: an unterminated frame
            if trailing:
                raise AssertionError(f"TCP stream {stream} ends with {len(trailing)} bytes not NUL-terminated")
            for frame in frames:
                if not frame:
                    continue
                messages.append(
                    TsharkMessage(
                        transport="tcp",
                        frame=stream,
                        chunked=False,
                        chunk_count=0,
                        compression="uncompressed",
                        payload_bytes=len(frame),
                        gelf=json.loads(frame.decode("utf-8")),
                    )
                )
        return messages


@contextlib.contextmanager
def both_decoders(transport: Transport) -> Iterator[tuple[GraylogHarness, TsharkCapture]]:
    """Run a Graylog harness with a tshark capture in front of its ``transport`` port."""
    with GraylogHarness(udp=transport == "udp", tcp=transport == "tcp") as graylog:
        port = graylog.udp_port if transport == "udp" else graylog.tcp_port
        with TsharkCapture(transport, port, sink=False) as capture:
            yield graylog, capture
