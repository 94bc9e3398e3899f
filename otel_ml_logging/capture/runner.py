"""Run a command with its output captured: pipes, reader threads, signals, exit code, shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

from opentelemetry.sdk.resources import Resource

from otel_ml_logging.capture.buffer import LineBuffer
from otel_ml_logging.capture.pipeline import CaptureCounts, CapturePipeline
from otel_ml_logging.capture.reader import PipeReader, enlarge_pipe
from otel_ml_logging.capture.settings import CaptureSettings
from otel_ml_logging.version import __version__

FORWARDED_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH")
    if hasattr(signal, name)
)
READER_GRACE_SECONDS = 2.0
"""After the child exits, how long its own children may keep the pipes open before we stop reading."""


def exit_code(returncode: int) -> int:
    """Return the exit code by the shell's convention: the child's code, or 128+N when signal N ended it."""
    return 128 - returncode if returncode < 0 else returncode


def run_captured(command: Sequence[str], settings: CaptureSettings, resource: Resource | None = None) -> int:
    """Run ``command`` with stdout/stderr captured as log records; return the exit code to use."""
    resource = resource if resource is not None else Resource.create()
    sink = settings.build_sink(resource, __version__)
    buffer = LineBuffer(settings.max_lines, settings.max_bytes)
    pipes = {"stdout": os.pipe(), "stderr": os.pipe()}
    for _, write_end in pipes.values():
        enlarge_pipe(write_end)
    # before the child starts: a signal that comes before it exists is passed on once it does
    forwarder = SignalForwarder()
    try:
        try:
            # own session: a terminal's Ctrl-C reaches us once and we pass it on, instead of both of us
            child = subprocess.Popen(
                list(command), stdout=pipes["stdout"][1], stderr=pipes["stderr"][1], start_new_session=True
            )
        except OSError as error:
            for read_end, write_end in pipes.values():
                os.close(read_end)
                os.close(write_end)
            print(f"otel-ml-logging run: cannot start {command[0]!r}: {error}", file=sys.stderr)
            return 127 if isinstance(error, FileNotFoundError) else 126
        forwarder.attach(child)
        for _, write_end in pipes.values():
            os.close(write_end)  # the child (and its children) hold the write ends now
        echo_fds = {"stdout": sys.stdout.fileno(), "stderr": sys.stderr.fileno()} if settings.echo else {}
        readers = [PipeReader(read_end, echo_fds.get(name), name, buffer) for name, (read_end, _) in pipes.items()]
        pipeline = CapturePipeline(buffer, sink, settings.batch_size)
        for thread in (*readers, pipeline):
            thread.start()
        returncode = child.wait()
    finally:
        forwarder.restore()
    counts = _shut_down(readers, pipeline, buffer, settings.shutdown_timeout)
    print(counts.report(), file=sys.stderr)
    return exit_code(returncode)


class SignalForwarder:
    """Passes the signals of :data:`FORWARDED_SIGNALS` on to the child, from before the child exists.

    A signal that arrives while the child is being started is kept and sent as soon as it runs:
    otherwise a SIGTERM in that moment would end this process by the default action and leave the
    child, in its own session, running on its own.
    """

    def __init__(self) -> None:
        """Install the handlers (main thread only)."""
        self._child: subprocess.Popen[bytes] | None = None
        self._pending: list[int] = []
        self._previous = {signum: signal.signal(signum, self._forward) for signum in FORWARDED_SIGNALS}

    def attach(self, child: subprocess.Popen[bytes]) -> None:
        """Send the signals received so far to ``child``, and the next ones as they come."""
        self._child = child
        while self._pending:
            child.send_signal(self._pending.pop(0))

    def restore(self) -> None:
        """Put the previous handlers back."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        child = self._child
        if child is None:
            self._pending.append(signum)
        elif child.returncode is None:
            child.send_signal(signum)


def _shut_down(
    readers: list[PipeReader], pipeline: CapturePipeline, buffer: LineBuffer, timeout: float
) -> CaptureCounts:
    """Drain within ``timeout`` seconds of the child's exit; whatever is left is counted as unsent."""
    deadline = time.monotonic() + timeout
    reader_deadline = min(deadline, time.monotonic() + READER_GRACE_SECONDS)
    for reader in readers:
        reader.join(max(0.0, reader_deadline - time.monotonic()))
    pipeline.finish(len(readers))
    pipeline.join(max(0.0, deadline - time.monotonic()))
    if pipeline.is_alive():
        pipeline.abort()
        pipeline.join(1.0)
    counts = pipeline.counts
    counts.lines_dropped = buffer.dropped
    counts.lines_read = buffer.accepted + buffer.dropped
    counts.records_unsent += max(0, buffer.accepted - counts.lines_processed)
    if pipeline.sink is not None:
        pipeline.sink.shutdown()
    return counts
