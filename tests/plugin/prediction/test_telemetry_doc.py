"""docs/telemetry.md is the contract: its tables are read and compared with what the decorator emits.

Runs one successful and one failing prediction through the in-memory SDK pipeline of conftest.py, on
both paths (deferred and inline), and checks every documented name against the emitted telemetry and
every emitted name against the document.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics.export import Histogram, Sum
from opentelemetry.trace import SpanKind, StatusCode

from otel_ml_logging import OTelLoggingDecorator
from tests.plugin.conftest import Telemetry, on_path
from tests.plugin.models import ScoringInput, ScoringModel

DOC = Path(__file__).resolve().parents[3] / "docs" / "telemetry.md"
FIELDS = {"input": ["temperature", "city"], "output": ["score", "label"]}
RECORD_COLUMNS = {"requested": "ml.prediction.requested", "created": "ml.prediction.created"}
RECORD_COLUMNS["exception"] = "ml.prediction.exception"
TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "double": (float,),
    "scalar": (str, bool, int, float),
}


def sections() -> dict[str, list[dict[str, str]]]:
    """The markdown tables of the document, by the ``##`` heading above them (first word)."""
    tables: dict[str, list[dict[str, str]]] = {}
    heading = ""
    header: list[str] | None = None
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            heading, header = line[3:].split()[0].lower(), None
        elif line.startswith("|") and heading:
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if header is None:
                header = [cell.lower() for cell in cells]
            elif not set(line) <= set("|-: "):
                tables.setdefault(heading, []).append(dict(zip(header, cells, strict=True)))
        else:
            header = None if not line.startswith("|") else header
    return tables


def names(cell: str) -> list[str]:
    """The back-quoted names of a table cell."""
    return re.findall(r"`([^`]+)`", cell)


def expand(name: str) -> list[str]:
    """``ml.prediction.input.<field>`` → one name per configured field."""
    for kind, fields in FIELDS.items():
        if name == f"ml.prediction.{kind}.<field>":
            return [f"ml.prediction.{kind}.{field}" for field in fields]
    return [name]


@dataclass
class Emitted:
    spans: list
    records: list
    telemetry: Telemetry


@pytest.fixture
def emitted(path, telemetry) -> Emitted:
    options = {"input_fields": FIELDS["input"], "output_fields": FIELDS["output"]}
    model = on_path(OTelLoggingDecorator(**options).set_model(ScoringModel()), path)
    model.predict(ScoringInput(temperature=21.5, city="oslo"))
    with contextlib.suppress(LookupError):
        model.predict(ScoringInput(temperature=3.0, city="nowhere"))
    spans, records = telemetry.spans(), telemetry.records()
    assert len(spans) == 2
    return Emitted(spans, records, telemetry)


def test_document_has_the_tables_this_test_reads():
    tables = sections()
    assert {"span", "attributes", "log", "metrics"} <= set(tables)
    assert len(tables["attributes"]) >= 10


def test_span_name_kind_status_and_events_match_the_document(emitted):
    span_doc = {row["property"]: row["value"] for row in sections()["span"]}
    assert names(span_doc["name"])[0] == "predict <model qualified name>"
    kind = names(span_doc["kind"])[0]
    (event_name, *event_attributes) = names(span_doc["events"])
    for span in emitted.spans:
        assert span.name == f"predict {ScoringModel.qualified_name}"
        assert span.kind is SpanKind[kind]
    failed = next(s for s in emitted.spans if s.status.status_code is StatusCode.ERROR)
    assert failed.status.description == f"{failed.attributes['error.type']}: no such city: nowhere"
    assert [(e.name, sorted(e.attributes)) for e in failed.events] == [(event_name, sorted(event_attributes))]
    succeeded = next(s for s in emitted.spans if s is not failed)
    assert succeeded.status.status_code is StatusCode.UNSET
    assert not succeeded.events


def emitted_attributes(emitted: Emitted) -> dict[str, list[dict[str, object]]]:
    """Attributes of everything emitted, by the column names of the document's attribute table."""
    by_column: dict[str, list[dict[str, object]]] = {"span": [dict(s.attributes) for s in emitted.spans]}
    for column, event_name in RECORD_COLUMNS.items():
        by_column[column] = [
            dict(r.log_record.attributes or {}) for r in emitted.records if r.log_record.event_name == event_name
        ]
    by_column["model log lines"] = [
        dict(r.log_record.attributes or {}) for r in emitted.records if str(r.log_record.body).startswith("scoring ")
    ]
    assert all(by_column.values()), {column: len(found) for column, found in by_column.items()}
    return by_column


def test_attribute_table_lists_exactly_what_each_span_and_record_carries(emitted):
    rows = sections()["attributes"]
    for column, found in emitted_attributes(emitted).items():
        documented = {name for row in rows if row[column] == "✓" for name in expand(names(row["attribute"])[0])}
        sent = {key for attributes in found for key in attributes}
        assert sent - documented == set(), f"{column}: emitted but not in docs/telemetry.md"
        assert documented - sent == set(), f"{column}: documented but not emitted"


def test_attribute_types_match_the_document(emitted):
    types = {
        name: TYPES[row["type"]] for row in sections()["attributes"] for name in expand(names(row["attribute"])[0])
    }
    for found in emitted_attributes(emitted).values():
        for attributes in found:
            for key, value in attributes.items():
                assert isinstance(value, types[key]), (key, value)


def test_log_record_table_matches_the_records(emitted):
    documented = set()
    for row in sections()["log"]:
        severity = re.fullmatch(r"(\w+) \((\d+)\)", row["severity"])
        assert severity, row["severity"]
        (event_name,) = names(row["event name (`eventname`)"])
        (body,) = names(row["body"])
        documented.add((event_name, body, severity.group(1), int(severity.group(2))))
    sent = {
        (r.log_record.event_name, r.log_record.body, r.log_record.severity_text, r.log_record.severity_number.value)
        for r in emitted.records
        if r.log_record.event_name
    }
    assert sent == documented
    span_ids = {(s.context.trace_id, s.context.span_id) for s in emitted.spans}
    assert {(r.log_record.trace_id, r.log_record.span_id) for r in emitted.records} <= span_ids


def test_metric_table_matches_the_instruments(emitted):
    kinds = {"counter": Sum, "histogram": Histogram}
    data = emitted.telemetry.metric_reader.get_metrics_data()
    assert data is not None
    metrics = {
        metric.name: metric
        for resource_metrics in data.resource_metrics
        for scope_metrics in resource_metrics.scope_metrics
        if scope_metrics.scope.name == "otel_ml_logging"
        for metric in scope_metrics.metrics
    }
    rows = sections()["metrics"]
    assert {names(row["instrument"])[0] for row in rows} == set(metrics)
    for row in rows:
        metric = metrics[names(row["instrument"])[0]]
        assert isinstance(metric.data, kinds[row["kind"]]), row
        if isinstance(metric.data, Sum):
            assert metric.data.is_monotonic
        assert metric.unit == names(row["unit"])[0]
        assert metric.data.data_points
        for point in metric.data.data_points:
            assert set(point.attributes or {}) == set(names(row["attributes"])), row
