"""A small OTLP/HTTP client: one keep-alive connection, bounded jittered retries, Retry-After.

Retries only transient outcomes (connection errors, 429, 502, 503, 504) and stops waiting as
soon as :meth:`OTLPHttpClient.shutdown` is called. A TLS refusal (the server's certificate not
trusted, or the server refusing ours) is not transient: that request fails at once.

TLS (``https://``): ``certificate_file`` is the CA bundle that verifies the server (default: the
system's), ``client_certificate_file`` and ``client_key_file`` the certificate presented for mTLS.
"""

from __future__ import annotations

import gzip
import http.client
import logging
import random
import ssl
import threading
import urllib.parse
from collections.abc import Mapping

_logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


class OTLPHttpClient:
    """POST request bodies to one OTLP/HTTP URL."""

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        compression: str | None,
        max_attempts: int = 5,
        certificate_file: str | None = None,
        client_certificate_file: str | None = None,
        client_key_file: str | None = None,
    ) -> None:
        """Prepare the connection settings; nothing is connected until the first export."""
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"OTLP endpoint {url!r} is not an http(s) URL")
        self.url = url
        self._https = parsed.scheme == "https"
        self._host = parsed.hostname
        self._port = parsed.port or (443 if self._https else 80)
        self._path = parsed.path or "/"
        self._headers = {"Content-Type": "application/json", **headers}
        if compression == "gzip":
            self._headers["Content-Encoding"] = "gzip"
        self._compression = compression
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._ssl_context = (
            tls_context(certificate_file, client_certificate_file, client_key_file) if self._https else None
        )
        self._connection: http.client.HTTPConnection | None = None
        self._shutdown = threading.Event()

    def forget_connection(self) -> None:
        """Drop the connection without closing it: a forked child must not write on its parent's socket."""
        self._connection = None

    def post(self, body: bytes) -> bool:
        """Send ``body``; True once the receiver accepted it, False after the last failed attempt."""
        if self._compression == "gzip":
            body = gzip.compress(body, compresslevel=1)
        for attempt in range(1, self._max_attempts + 1):
            if self._shutdown.is_set():
                return False
            retry_after: float | None = None
            try:
                status, retry_after_header = self._send(body)
            except (OSError, http.client.HTTPException) as error:
                self._close()
                outcome = f"{type(error).__name__}: {error}"
                if _tls_refusal(error):
                    _logger.debug("OTLP %s: TLS refused: %s (not retried)", self.url, outcome)
                    return False
            else:
                if 200 <= status < 300:
                    return True
                outcome = f"HTTP {status}"
                if status not in RETRYABLE_STATUSES:
                    _logger.debug("OTLP %s rejected a request: %s (not retried)", self.url, outcome)
                    return False
                retry_after = _parse_retry_after(retry_after_header)
            if attempt == self._max_attempts:
                _logger.debug("OTLP %s: giving up after %d attempts (%s)", self.url, attempt, outcome)
                return False
            delay = retry_after if retry_after is not None else random.uniform(0, min(8.0, 0.5 * 2**attempt))
            if self._shutdown.wait(delay):
                return False
        return False

    def shutdown(self) -> None:
        """Stop retrying and close the connection."""
        self._shutdown.set()
        self._close()

    def _send(self, body: bytes) -> tuple[int, str | None]:
        if self._connection is None:
            self._connection = (
                http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout, context=self._ssl_context)
                if self._https
                else http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            )
        self._connection.request("POST", self._path, body=body, headers=self._headers)
        response = self._connection.getresponse()
        response.read()
        if response.getheader("Connection", "").lower() == "close":
            self._close()
        return response.status, response.getheader("Retry-After")

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def tls_context(
    certificate_file: str | None, client_certificate_file: str | None, client_key_file: str | None
) -> ssl.SSLContext:
    """Build a verifying client context; a file that cannot be loaded is left out with one warning naming it.

    Telemetry must not stop the service from starting: without the CA the server's certificate is
    checked against the system's CAs, without the client certificate a server requiring one refuses
    the connection; either way the delivery report counts what could not be sent.
    """
    try:
        context = ssl.create_default_context(cafile=certificate_file)
    except (OSError, ssl.SSLError) as error:
        _logger.warning(
            "OTLP certificate file %r cannot be used (%s); verifying with the system's CAs", certificate_file, error
        )
        context = ssl.create_default_context()
    if client_certificate_file:
        try:
            context.load_cert_chain(client_certificate_file, client_key_file)
        except (OSError, ssl.SSLError) as error:
            _logger.warning(
                "OTLP client certificate %r / key %r cannot be used (%s); connecting without one",
                client_certificate_file,
                client_key_file,
                error,
            )
    elif client_key_file:
        _logger.warning("OTLP client key %r given without a client certificate; ignored", client_key_file)
    return context


def _tls_refusal(error: BaseException) -> bool:
    """Tell whether a retry cannot fix ``error``: a certificate verification failure or an alert from the peer."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return True
    return (
        isinstance(error, ssl.SSLError)
        and "ALERT" in str(error.reason or "")
        and "CLOSE_NOTIFY" not in str(error.reason)
    )


def _parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, min(float(value), 30.0))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
