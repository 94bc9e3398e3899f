#!/usr/bin/env python3
"""Apply the otel-ml-logging component and index templates to an Elasticsearch cluster.

Idempotent: every template is written with ``PUT`` (create or replace), component templates
first, then the index templates that compose them. Existing data streams keep their current
backing index; the new mapping applies from the next rollover (``--rollover`` forces one).

Run it once before pointing the collector (``collector/config.elasticsearch.yaml``) at a
cluster::

    ELASTICSEARCH_ENDPOINT=http://localhost:9200 scripts/setup-elasticsearch.py
    scripts/setup-elasticsearch.py --endpoint https://es:9200 --ca-cert ca.pem --wait 60

Environment variables (command-line options win):

- ``ELASTICSEARCH_ENDPOINT``: cluster URL (default ``http://localhost:9200``)
- ``ELASTICSEARCH_API_KEY``: encoded API key, sent as ``Authorization: ApiKey ...``
- ``ELASTICSEARCH_USERNAME`` / ``ELASTICSEARCH_PASSWORD``: HTTP basic auth (used when no API key)
- ``ELASTICSEARCH_CA_CERT``: PEM file to verify the server certificate

The templates live in ``collector/elasticsearch/`` as ``component_template.<name>.json`` and
``index_template.<name>.json``: every file there is applied, so the data streams of all three
signals (``logs-otel_ml-*``, ``traces-otel_ml-*``, ``metrics-otel_ml-*``) and of span events get
their template. Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "collector" / "elasticsearch"
DEFAULT_ENDPOINT = "http://localhost:9200"


class SetupError(RuntimeError):
    """Raised when Elasticsearch rejects a template or cannot be reached."""


@dataclass(frozen=True)
class Template:
    """One template file: its API kind (``component_template``/``index_template``), name, body."""

    kind: str
    name: str
    body: dict[str, object]

    @property
    def path(self) -> str:
        """The REST path the template is written to."""
        return f"/_{self.kind}/{urllib.parse.quote(self.name, safe='@')}"


def load_templates(directory: Path = TEMPLATE_DIR) -> list[Template]:
    """Read the template files, component templates first (index templates reference them)."""
    templates: list[Template] = []
    for kind in ("component_template", "index_template"):
        for file in sorted(directory.glob(f"{kind}.*.json")):
            name = file.name[len(kind) + 1 : -len(".json")]
            templates.append(Template(kind, name, json.loads(file.read_text(encoding="utf-8"))))
    if not templates:
        raise SetupError(f"no template files in {directory}")
    return templates


class Client:
    """A minimal JSON-over-HTTP client for the few Elasticsearch APIs this script needs."""

    def __init__(
        self,
        endpoint: str,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        ca_cert: str | None = None,
        insecure: bool = False,
        timeout: float = 30.0,
    ) -> None:
        """Build the client; API key wins over basic auth when both are given."""
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"ApiKey {api_key}"
        elif username:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"
        self.context: ssl.SSLContext | None = None
        if self.endpoint.startswith("https://"):
            self.context = ssl.create_default_context(cafile=ca_cert)
            if insecure:
                self.context.check_hostname = False
                self.context.verify_mode = ssl.CERT_NONE

    def request(self, method: str, path: str, body: object | None = None) -> dict[str, object]:
        """Send one request; return the decoded JSON body or raise SetupError on HTTP errors."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.endpoint + path, data=data, method=method, headers=self.headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self.context) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise SetupError(f"{method} {path}: HTTP {exc.code}: {detail}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise SetupError(f"{method} {path}: {exc}") from exc
        return json.loads(raw) if raw else {}

    def wait_until_available(self, seconds: float) -> None:
        """Poll cluster health until it is at least yellow or ``seconds`` elapse."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.request("GET", "/_cluster/health?wait_for_status=yellow&timeout=5s")
                return
            except SetupError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(1)


def apply_templates(client: Client, templates: list[Template], rollover: bool = False) -> list[str]:
    """PUT every template (idempotent); optionally roll over matching data streams.

    Returns one human-readable line per action.
    """
    done: list[str] = []
    for template in templates:
        client.request("PUT", template.path, template.body)
        done.append(f"PUT {template.path}")
    if rollover:
        for template in templates:
            if template.kind != "index_template":
                continue
            patterns = template.body.get("index_patterns", [])
            assert isinstance(patterns, list)
            for pattern in patterns:
                resolved = client.request("GET", f"/_resolve/index/{pattern}")
                for stream in resolved.get("data_streams", []):  # type: ignore[union-attr]
                    name = stream["name"]
                    client.request("POST", f"/{name}/_rollover")
                    done.append(f"POST /{name}/_rollover")
    return done


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line, with defaults taken from the environment."""
    env = os.environ
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--endpoint", default=env.get("ELASTICSEARCH_ENDPOINT") or DEFAULT_ENDPOINT)
    parser.add_argument("--api-key", default=env.get("ELASTICSEARCH_API_KEY") or None)
    parser.add_argument("--username", default=env.get("ELASTICSEARCH_USERNAME") or None)
    parser.add_argument("--password", default=env.get("ELASTICSEARCH_PASSWORD") or None)
    parser.add_argument("--ca-cert", default=env.get("ELASTICSEARCH_CA_CERT") or None)
    parser.add_argument("--insecure", action="store_true", help="skip TLS verification (dev only)")
    parser.add_argument("--templates", type=Path, default=TEMPLATE_DIR, help="template directory")
    parser.add_argument("--wait", type=float, default=0, metavar="SECONDS", help="wait for the cluster")
    parser.add_argument(
        "--rollover", action="store_true", help="roll over existing data streams so new mappings apply now"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point: returns 0 on success, 1 on any Elasticsearch or file error."""
    args = parse_args(argv)
    client = Client(args.endpoint, args.api_key, args.username, args.password, args.ca_cert, args.insecure)
    try:
        templates = load_templates(args.templates)
        if args.wait:
            client.wait_until_available(args.wait)
        for line in apply_templates(client, templates, rollover=args.rollover):
            print(line)
    except (SetupError, OSError, ValueError) as exc:
        print(f"setup-elasticsearch: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
