r"""Create the Graylog GELF UDP input, the prediction-records stream and a saved search.

Idempotent: objects that already exist (matched by title) are left alone. Uses only the standard
library so it runs in any Python 3.10+ image. Example::

    GRAYLOG_URL=http://localhost:9000 GRAYLOG_USERNAME=admin GRAYLOG_PASSWORD=admin \\
        python deploy/graylog/setup_graylog.py

Definitions are read from the JSON files next to this script: ``gelf_udp_input.json`` (body of
``POST /api/system/inputs``), ``stream.json`` (``POST /api/streams``) and ``saved_search.json``
(turned into ``POST /api/views/search`` + ``POST /api/views``).

Environment: ``GRAYLOG_URL`` (default ``http://localhost:9000``), ``GRAYLOG_USERNAME`` /
``GRAYLOG_PASSWORD`` (default ``admin``/``admin``), ``GRAYLOG_GELF_PORT`` (overrides the input port).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


class GraylogClient:
    """Minimal Graylog REST API client (basic auth, JSON in and out)."""

    def __init__(self, url: str, username: str, password: str) -> None:
        """Remember the base URL and the credentials."""
        self._url = url.rstrip("/")
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._headers = {
            "Authorization": f"Basic {token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
            "X-Requested-By": "otel-ml-logging-setup",
        }

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Send one request and return the decoded JSON answer (``None`` for an empty body)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self._url + path, data=data, method=method, headers=self._headers)
        with urllib.request.urlopen(req, timeout=30) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def wait_until_alive(self, timeout_s: float = 300.0) -> None:
        """Poll ``/api/system/lbstatus`` until Graylog answers ``ALIVE``."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                req = urllib.request.Request(self._url + "/api/system/lbstatus", headers=self._headers)
                with urllib.request.urlopen(req, timeout=5) as response:
                    if b"ALIVE" in response.read():
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"Graylog at {self._url} not alive after {timeout_s:.0f}s")
            time.sleep(3)


def load(name: str) -> dict[str, Any]:
    """Load one JSON definition from this directory."""
    return json.loads((HERE / name).read_text())


def ensure_input(client: GraylogClient, definition: dict[str, Any]) -> str:
    """Create the GELF UDP input unless an input with the same title exists; return its id."""
    for existing in client.request("GET", "/api/system/inputs")["inputs"]:
        if existing["title"] == definition["title"]:
            return str(existing["id"])
    port = os.environ.get("GRAYLOG_GELF_PORT")
    if port:
        definition["configuration"]["port"] = int(port)
    return str(client.request("POST", "/api/system/inputs", definition)["id"])


def default_index_set_id(client: GraylogClient) -> str:
    """Return the id of the default index set."""
    answer = client.request("GET", "/api/system/indices/index_sets?skip=0&limit=0&stats=false")
    for index_set in answer["index_sets"]:
        if index_set.get("default"):
            return str(index_set["id"])
    raise RuntimeError("Graylog has no default index set")


def ensure_stream(client: GraylogClient, definition: dict[str, Any]) -> str:
    """Create and start the prediction-records stream unless it exists; return its id."""
    for existing in client.request("GET", "/api/streams")["streams"]:
        if existing["title"] == definition["title"]:
            return str(existing["id"])
    body = dict(definition, index_set_id=default_index_set_id(client))
    stream_id = str(client.request("POST", "/api/streams", body)["stream_id"])
    client.request("POST", f"/api/streams/{stream_id}/resume")
    return stream_id


def saved_search_bodies(definition: dict[str, Any], stream_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Build the ``/api/views/search`` and ``/api/views`` bodies of the saved search."""
    search_id = secrets.token_hex(12)  # Graylog object ids are 24 hex digits
    query_id, search_type_id, widget_id = (str(uuid.uuid4()) for _ in range(3))
    search = {
        "id": search_id,
        "queries": [
            {
                "id": query_id,
                "query": {"type": "elasticsearch", "query_string": definition["query_string"]},
                "timerange": {"type": "relative", "range": definition["range_seconds"]},
                "filter": {"type": "or", "filters": [{"type": "stream", "id": stream_id}]},
                "search_types": [
                    {
                        "id": search_type_id,
                        "type": "messages",
                        "limit": 150,
                        "offset": 0,
                        "sort": [{"field": "timestamp", "order": "DESC"}],
                        "decorators": [],
                        "streams": [],
                        "filters": [],
                    }
                ],
            }
        ],
        "parameters": [],
    }
    view = {
        "type": "SEARCH",
        "title": definition["title"],
        "summary": "",
        "description": definition["description"],
        "search_id": search_id,
        "properties": [],
        "requires": {},
        "state": {
            query_id: {
                "selected_fields": definition["fields"],
                "titles": {},
                "widgets": [
                    {
                        "id": widget_id,
                        "type": "messages",
                        "config": {
                            "fields": definition["fields"],
                            "show_message_row": True,
                            "decorators": [],
                            "sort": [{"type": "pivot", "field": "timestamp", "direction": "Descending"}],
                        },
                        "filter": None,
                        "filters": [],
                        "timerange": None,
                        "query": None,
                        "streams": [],
                    }
                ],
                "widget_mapping": {widget_id: [search_type_id]},
                "positions": {widget_id: {"col": 1, "row": 1, "height": 6, "width": "Infinity"}},
            }
        },
    }
    return search, view


def ensure_saved_search(client: GraylogClient, definition: dict[str, Any], stream_id: str) -> str:
    """Create the saved search unless a view with the same title exists; return the view id."""
    views = client.request("GET", "/api/views?page=1&per_page=100")
    for existing in views.get("views", views.get("elements", [])):
        if existing.get("title") == definition["title"]:
            return str(existing["id"])
    search, view = saved_search_bodies(definition, stream_id)
    client.request("POST", "/api/views/search", search)
    return str(client.request("POST", "/api/views", view)["id"])


def main() -> int:
    """Create the input, the stream and the saved search; print their ids."""
    client = GraylogClient(
        os.environ.get("GRAYLOG_URL", "http://localhost:9000"),
        os.environ.get("GRAYLOG_USERNAME", "admin"),
        os.environ.get("GRAYLOG_PASSWORD", "admin"),
    )
    client.wait_until_alive()
    input_id = ensure_input(client, load("gelf_udp_input.json"))
    stream_id = ensure_stream(client, load("stream.json"))
    view_id = ensure_saved_search(client, load("saved_search.json"), stream_id)
    print(f"graylog: input={input_id} stream={stream_id} saved_search={view_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
