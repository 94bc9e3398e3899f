"""One-shot setup of the compose demo: ES index templates, Kibana saved objects, Graylog objects.

Run by the ``setup`` service of deploy/compose/compose.yaml (image built from deploy/setup/Dockerfile,
repository files under ``/work``)::

    python /work/deploy/setup/setup.py

Steps, each idempotent:

1. ``scripts/setup-elasticsearch.py`` installs the index templates of ``collector/elasticsearch/``
   (it reads ``ELASTICSEARCH_ENDPOINT``).
2. ``POST {KIBANA_URL}/api/saved_objects/_import?overwrite=true`` with
   ``deploy/kibana/saved_objects.ndjson``.
3. ``deploy/graylog/setup_graylog.py`` (GELF UDP input, stream, saved search).

Environment: ``ELASTICSEARCH_ENDPOINT``, ``KIBANA_URL``, ``GRAYLOG_URL``, ``GRAYLOG_USERNAME``,
``GRAYLOG_PASSWORD``; ``REPO_ROOT`` (default: two directories above this file).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

REPO_ROOT = Path(os.environ.get("REPO_ROOT", Path(__file__).resolve().parents[2]))


def wait_for(url: str, timeout_s: float = 300.0) -> None:
    """Poll ``url`` until it answers 2xx."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(3)


def import_kibana_saved_objects(kibana_url: str, ndjson: Path) -> None:
    """Import the NDJSON file through Kibana's saved objects API; raise if any object failed."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{ndjson.name}"\r\n'
            "Content-Type: application/ndjson\r\n\r\n"
        ).encode()
        + ndjson.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        kibana_url.rstrip("/") + "/api/saved_objects/_import?overwrite=true",
        data=body,
        method="POST",
        headers={"kbn-xsrf": "true", "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    if not answer.get("success"):
        raise RuntimeError(f"Kibana import failed: {json.dumps(answer.get('errors'), indent=2)}")
    print(f"kibana: imported {answer.get('successCount')} saved objects")


def main() -> int:
    """Run the three setup steps in order."""
    es_url = os.environ.get("ELASTICSEARCH_ENDPOINT", "http://localhost:9200")
    kibana_url = os.environ.get("KIBANA_URL", "http://localhost:5601")
    wait_for(es_url)
    subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "setup-elasticsearch.py"), "--wait", "120"], check=True)
    wait_for(kibana_url.rstrip("/") + "/api/status")
    import_kibana_saved_objects(kibana_url, REPO_ROOT / "deploy" / "kibana" / "saved_objects.ndjson")
    subprocess.run([sys.executable, str(REPO_ROOT / "deploy" / "graylog" / "setup_graylog.py")], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
