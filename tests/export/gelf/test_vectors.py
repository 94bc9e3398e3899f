"""The shared GELF mapping vectors (collector/gelfexporter/testdata/vectors), run on the Python exporter.

The Go exporter's ``vectors_test.go`` reads the same files: each is an OTLP JSON request in and the GELF
messages expected out. Both compare after JSON normalisation (key order, exact numbers).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from otel_ml_logging.export.gelf import GelfEncoder, GelfMapping
from tests.export.gelf.otlp_json import read_json, readable_records

VECTORS = Path(__file__).resolve().parents[3] / "collector" / "gelfexporter" / "testdata" / "vectors"
FILES = sorted(VECTORS.glob("*.json"))

MAPPING_KEYS = {
    "host_attributes",
    "include_attributes",
    "exclude_attributes",
    "include_resource_attributes",
    "max_attribute_value_length",
}


def normalize(raw: bytes | str) -> Any:
    """Parse JSON with every number exact (so 100 == 100.0 and 1e21 == 1e+21, never rounded)."""
    return json.loads(raw, parse_float=Decimal, parse_int=Decimal)


def mapping_of(vector: dict[str, Any]) -> GelfMapping:
    settings = vector.get("mapping", {})
    assert set(settings) <= MAPPING_KEYS, f"unknown mapping keys {set(settings) - MAPPING_KEYS}"
    return GelfMapping(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}  # type: ignore[arg-type]
    )


def test_vectors_exist() -> None:
    assert len(FILES) >= 10, f"shared vectors missing in {VECTORS}"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector(path: Path) -> None:
    vector = read_json(path)
    encoder = GelfEncoder(mapping_of(vector), fallback_host=vector["fallback_host"])
    records = readable_records(vector["otlp"])
    assert len(records) == len(vector["gelf"]), vector["description"]
    for index, (record, expected) in enumerate(zip(records, vector["gelf"], strict=True)):
        encoded = encoder.encode(record)
        got = normalize(encoded)
        assert got == normalize(json.dumps(expected)), f"{vector['description']}: record {index}: {encoded!r}"
        as_dict = encoder.to_gelf(record)
        assert as_dict.pop("timestamp") == got.pop("timestamp")
        assert normalize(json.dumps(as_dict)) == got
