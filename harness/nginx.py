"""nginx (Debian's) as a real TLS terminator and credential checker in front of test peers.

The test Elasticsearch node has no security module and Graylog's GELF codec harness speaks plain
TCP, so TLS and authentication are added the way many deployments add them: a reverse proxy.

* :func:`elasticsearch_auth_proxy` terminates HTTPS and lets a request through to Elasticsearch
  only when its ``Authorization`` header is exactly ``Basic base64(user:password)`` or
  ``ApiKey <encoded key>`` of the given credentials; anything else gets 401 with a
  ``WWW-Authenticate`` header, like Elasticsearch with security enabled. The header is removed
  before the request reaches Elasticsearch.
* :func:`tls_stream_proxy` terminates TLS for a TCP service (nginx ``stream`` module), optionally
  requiring a client certificate signed by the given CA (mTLS).

Each runs as its own ``nginx`` process (``daemon off``) with a generated configuration, logs and
temporary files under a directory of the caller, on free loopback ports::

    with run_nginx(tmp_path / "nginx", elasticsearch_auth_proxy(es.port, tls, users={"elastic": pw})) as proxy:
        url = proxy.url  # https://127.0.0.1:<port>
        ...
        assert [e["status"] for e in proxy.access_log()] == [200]

Access log lines are JSON (``status``, ``method``, ``uri``, ``principal`` = which credential
matched, never the credential itself). ``scripts/fetch-nginx.sh`` installs nginx and the stream
module with apt-get when they are missing; without them the test skips (fails under ``CI=true``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import REPO_ROOT
from harness.ports import LOOPBACK, free_port
from harness.processes import stop_process
from harness.requirements import unavailable
from harness.tls import TLSFiles

__all__ = [
    "NginxConfig",
    "RunningNginx",
    "basic_authorization",
    "elasticsearch_auth_proxy",
    "ensure_nginx",
    "run_nginx",
    "tls_stream_proxy",
]

FETCH_SCRIPT = REPO_ROOT / "scripts" / "fetch-nginx.sh"
STREAM_MODULE = Path("/usr/lib/nginx/modules/ngx_stream_module.so")

_nginx: str | None = None


def ensure_nginx() -> str:
    """Return the nginx binary, installing it with ``scripts/fetch-nginx.sh`` if needed (skip/fail if impossible)."""
    global _nginx
    if _nginx is not None:
        return _nginx
    result = subprocess.run(
        ["bash", str(FETCH_SCRIPT)], capture_output=True, text=True, check=False, timeout=600, cwd=REPO_ROOT
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines or shutil.which(lines[-1]) is None:
        unavailable("nginx", f"{FETCH_SCRIPT} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    _nginx = lines[-1]
    return _nginx


def basic_authorization(username: str, password: str) -> str:
    """Return the ``Authorization`` header value of HTTP basic auth for ``username``/``password``."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


@dataclass(frozen=True)
class NginxConfig:
    """The ``http`` and ``stream`` blocks of one nginx process and the ports they listen on."""

    ports: Sequence[int]
    http: str = ""
    stream: str = ""
    scheme: str = "https"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _credential_pattern(scheme: str, credential: str) -> str:
    """Build a case-sensitive map regex: the scheme in any case (RFC 9110), the credential exactly.

    Plain map keys are compared ignoring case, which would accept a wrong-case credential.
    """
    escaped = "".join(c if c.isalnum() else "\\" + c for c in credential)
    return _quoted(f"~^(?i:{scheme}) {escaped}$")


def elasticsearch_auth_proxy(
    upstream_port: int,
    tls: TLSFiles,
    *,
    users: Mapping[str, str] | None = None,
    api_keys: Mapping[str, str] | None = None,
    port: int | None = None,
) -> NginxConfig:
    """HTTPS on ``port`` (free one by default) → ``http://127.0.0.1:upstream_port``, with credential checks.

    Args:
        upstream_port: the Elasticsearch node's HTTP port.
        tls: the server certificate and key nginx presents.
        users: accepted basic-auth ``{username: password}``.
        api_keys: accepted ``{name: encoded API key}`` (the value after ``ApiKey ``).
        port: the port nginx listens on.

    """
    port = port or free_port()
    accepted = [("Basic", basic_authorization(u, p).split()[1], f"user:{u}") for u, p in (users or {}).items()]
    accepted += [("ApiKey", key, f"api_key:{name}") for name, key in (api_keys or {}).items()]
    entries = [
        f"        {_credential_pattern(scheme, cred)} {_quoted(principal)};" for scheme, cred, principal in accepted
    ]
    http = f"""
    map $http_authorization $principal {{
        default "";
{chr(10).join(entries)}
    }}
    log_format audit escape=json
        '{{"status":$status,"method":"$request_method","uri":"$uri","principal":"$principal",'
        '"ssl_protocol":"$ssl_protocol"}}';
    server {{
        listen {LOOPBACK}:{port} ssl;
        ssl_certificate {tls.server_cert};
        ssl_certificate_key {tls.server_key};
        ssl_protocols TLSv1.2 TLSv1.3;
        access_log access.log audit;
        client_max_body_size 0;
        location / {{
            if ($principal = "") {{
                add_header WWW-Authenticate 'Basic realm="security", ApiKey' always;
                return 401 '{{"error":"missing or wrong credentials","status":401}}';
            }}
            proxy_set_header Authorization "";
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://{LOOPBACK}:{upstream_port};
        }}
    }}
"""
    return NginxConfig(ports=(port,), http=http)


def tls_stream_proxy(
    upstream_port: int, tls: TLSFiles, *, require_client_cert: bool, port: int | None = None
) -> NginxConfig:
    """TLS on ``port`` → plain TCP ``127.0.0.1:upstream_port``; with ``require_client_cert`` only mTLS clients pass."""
    port = port or free_port()
    verify = (
        f"ssl_verify_client on;\n        ssl_client_certificate {tls.ca_cert};\n        ssl_verify_depth 2;"
        if require_client_cert
        else "ssl_verify_client off;"
    )
    stream = f"""
    log_format audit escape=json
        '{{"status":$status,"ssl_protocol":"$ssl_protocol","client_verify":"$ssl_client_verify",'
        '"client_subject":"$ssl_client_s_dn","bytes_received":$bytes_received}}';
    server {{
        listen {LOOPBACK}:{port} ssl;
        ssl_certificate {tls.server_cert};
        ssl_certificate_key {tls.server_key};
        ssl_protocols TLSv1.2 TLSv1.3;
        {verify}
        access_log access.log audit;
        proxy_pass {LOOPBACK}:{upstream_port};
    }}
"""
    return NginxConfig(ports=(port,), stream=stream, scheme="tls")


def _render(config: NginxConfig, directory: Path) -> str:
    parts = [
        f"load_module {STREAM_MODULE};" if config.stream else "",
        "daemon off;",
        "master_process on;",
        "worker_processes 1;",
        f"pid {directory / 'nginx.pid'};",
        f"error_log {directory / 'error.log'} info;",
        "events { worker_connections 256; }",
    ]
    if config.http:
        temp = "\n".join(
            f"    {name}_temp_path {directory / ('tmp-' + name)};"
            for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        parts.append(f"http {{\n{temp}\n{config.http}\n}}")
    if config.stream:
        parts.append(f"stream {{\n{config.stream}\n}}")
    return "\n".join(part for part in parts if part) + "\n"


@dataclass
class RunningNginx:
    """A started nginx (returned by :func:`run_nginx`)."""

    process: subprocess.Popen[bytes]
    directory: Path
    config: NginxConfig
    ports: Sequence[int] = field(default_factory=list)

    @property
    def port(self) -> int:
        """The first listening port."""
        return self.ports[0]

    @property
    def url(self) -> str:
        """``https://127.0.0.1:<port>`` (``tls://...`` for a stream proxy)."""
        return f"{self.config.scheme}://{LOOPBACK}:{self.port}"

    def access_log(self) -> list[dict[str, Any]]:
        """Return the JSON access log entries so far (stream entries are written when a connection ends)."""
        path = self.directory / "access.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def error_log(self) -> str:
        """Return the error log of nginx (handshake failures, refused client certificates, upstream errors)."""
        path = self.directory / "error.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def _accepting(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((LOOPBACK, port)) == 0


@contextlib.contextmanager
def run_nginx(directory: Path, config: NginxConfig, *, startup_timeout: float = 15.0) -> Iterator[RunningNginx]:
    """Run ``nginx`` with ``config`` (files under ``directory``) until the block ends; SIGTERM on exit."""
    binary = ensure_nginx()
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "nginx.conf"
    conf.write_text(_render(config, directory), encoding="utf-8")
    args = [binary, "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")]
    with (directory / "stdout.log").open("ab") as out:
        process = subprocess.Popen(args, cwd=directory, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    running = RunningNginx(process=process, directory=directory, config=config, ports=list(config.ports))
    try:
        deadline = time.monotonic() + startup_timeout
        while not all(_accepting(port) for port in config.ports):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"nginx did not start (exit code {process.poll()}): {running.error_log()[-3000:]}\n"
                    f"--- {conf} ---\n{conf.read_text()}"
                )
            time.sleep(0.05)
        yield running
    finally:
        stop_process(process, 10.0)
