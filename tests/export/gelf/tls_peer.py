"""A TLS front for Graylog's GELF TCP input: certificates from the ``openssl`` CLI, TLS by Python's ``ssl``.

:func:`make_pki` writes a CA, a server certificate for 127.0.0.1 and a client certificate signed by it,
plus an unrelated CA. :class:`TlsFront` accepts TLS connections (optionally requiring a client
certificate signed by the CA) and forwards the decrypted bytes to a TCP port, so Graylog's own codec
decodes what came through TLS.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from harness.requirements import require_executable


@dataclass(frozen=True)
class Pki:
    """PEM files of a throwaway PKI."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def _openssl(*args: str) -> None:
    subprocess.run(
        [require_executable("openssl", "Debian: apt-get install openssl"), *args], check=True, capture_output=True
    )


def _ca(directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.pem"
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key))
    _openssl("req", "-x509", "-new", "-key", str(key), "-subj", f"/CN={name}", "-days", "1", "-out", str(cert))
    return cert, key


def _leaf(directory: Path, name: str, ca: tuple[Path, Path], extensions: str) -> tuple[Path, Path]:
    key, csr, cert, ext = (directory / f"{name}{suffix}" for suffix in (".key", ".csr", ".pem", ".ext"))
    ext.write_text(extensions)
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key))
    _openssl("req", "-new", "-key", str(key), "-subj", f"/CN={name}", "-out", str(csr))
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]), "-CAcreateserial",
        "-days", "1", "-extfile", str(ext), "-out", str(cert),
    )  # fmt: skip
    return cert, key


def make_pki(directory: Path) -> Pki:
    """Write the PKI into ``directory``."""
    ca = _ca(directory, "test-ca")
    server = _leaf(directory, "server", ca, "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    client = _leaf(directory, "client", ca, "extendedKeyUsage=clientAuth\n")
    other_ca, _ = _ca(directory, "other-ca")
    return Pki(ca[0], server[0], server[1], client[0], client[1], other_ca)


class TlsFront:
    """Terminate TLS on a loopback port and relay each connection to ``127.0.0.1:target_port`` (both ways)."""

    def __init__(self, pki: Pki, target_port: int, *, require_client_cert: bool) -> None:
        """Listen on a free port right away; serve until :meth:`close`."""
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(pki.server_cert, pki.server_key)
        if require_client_cert:
            self._context.verify_mode = ssl.CERT_REQUIRED
            self._context.load_verify_locations(pki.ca)
        self._target = target_port
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self.handshake_errors: list[str] = []
        threading.Thread(target=self._accept, name="tls-front", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                raw, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            tls = self._context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as error:
            self.handshake_errors.append(str(error))
            raw.close()
            return
        with tls, socket.create_connection(("127.0.0.1", self._target)) as upstream:
            back = threading.Thread(target=self._pump, args=(upstream, tls), daemon=True)  # answers (HTTP)
            back.start()
            self._pump(tls, upstream)
            upstream.shutdown(socket.SHUT_WR)
            back.join(5)

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        """Stop accepting."""
        self._server.close()

    def __enter__(self) -> TlsFront:
        """Return self."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close."""
        self.close()
