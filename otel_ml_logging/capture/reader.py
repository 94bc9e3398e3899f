"""Drain one pipe of the child: echo every byte, hand complete lines to the buffer.

The reader does as little as it can per read (one ``os.read``, one ``os.write`` of the same
bytes, one ``split``) so that the pipe never fills and the child never waits on it.
"""

from __future__ import annotations

import contextlib
import os
import threading

from otel_ml_logging.capture.buffer import LineBuffer

READ_SIZE = 1 << 20
MAX_LINE_BYTES = 1 << 16
"""A longer line is cut into pieces of this size (each becomes its own record)."""
PIPE_SIZE = 1 << 20
"""Pipe capacity asked of Linux (``F_SETPIPE_SZ``): room for bursts while the reader is descheduled."""


def enlarge_pipe(fd: int, size: int = PIPE_SIZE) -> int:
    """Ask for a larger pipe buffer; return the size obtained (0 where the platform cannot)."""
    try:
        import fcntl

        set_size = getattr(fcntl, "F_SETPIPE_SZ", 1031)
        get_size = getattr(fcntl, "F_GETPIPE_SZ", 1032)
        with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: keep what there is
            fcntl.fcntl(fd, set_size, size)
        return int(fcntl.fcntl(fd, get_size))
    except (ImportError, OSError):
        return 0


class PipeReader(threading.Thread):
    """Read ``fd`` until end of file, echo to ``echo_fd``, queue lines as ``stream``."""

    def __init__(self, fd: int, echo_fd: int | None, stream: str, buffer: LineBuffer) -> None:
        """Prepare the reader; :meth:`start` it."""
        super().__init__(name=f"otel-ml-logging capture {stream}", daemon=True)
        self.fd = fd
        self.echo_fd = echo_fd
        self.stream = stream
        self.buffer = buffer
        self.bytes_read = 0
        self.echo_failed = False

    def run(self) -> None:
        """Read until every writer has closed the pipe (the child and its children)."""
        partial = b""
        read, put = os.read, self.buffer.put
        try:
            while True:
                chunk = read(self.fd, READ_SIZE)
                if not chunk:
                    break
                self.bytes_read += len(chunk)
                self._echo(chunk)
                lines = (partial + chunk).split(b"\n") if partial else chunk.split(b"\n")
                partial = lines.pop()
                if len(partial) > MAX_LINE_BYTES:
                    lines.append(partial[:MAX_LINE_BYTES])
                    partial = partial[MAX_LINE_BYTES:]
                if lines:
                    put(self.stream, lines)
            if partial:
                put(self.stream, [partial])
        finally:
            os.close(self.fd)
            self.buffer.close_stream(self.stream)

    def _echo(self, chunk: bytes) -> None:
        if self.echo_fd is None or self.echo_failed:
            return
        view = memoryview(chunk)
        try:
            while view:
                view = view[os.write(self.echo_fd, view) :]
        except OSError:
            self.echo_failed = True  # our own stdout is gone: keep capturing, stop echoing
