"""Free ports on the loopback interface, chosen by the OS."""

from __future__ import annotations

import socket
from typing import Literal

LOOPBACK = "127.0.0.1"

Transport = Literal["tcp", "udp"]


def free_port(kind: Transport = "tcp") -> int:
    """Return a ``kind`` port that is free on 127.0.0.1 right now (racy by nature: retry on a clash)."""
    sock_type = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, sock_type) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def distinct_free_ports(count: int, kind: Transport = "tcp") -> list[int]:
    """Return ``count`` different free ports (for one process that listens on several)."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port(kind)
        if port not in ports:
            ports.append(port)
    return ports
