"""deploy/kibana: the NDJSON is generated from panels.yaml, parses, and its references are consistent."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.deploy.conftest import KIBANA_DIR

NDJSON = KIBANA_DIR / "saved_objects.ndjson"
KNOWN_TYPES = {"index-pattern", "search", "lens", "dashboard"}


def saved_objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in NDJSON.read_text().splitlines() if line.strip()]


def test_ndjson_is_up_to_date_with_panels_yaml():
    result = subprocess.run(
        [sys.executable, str(KIBANA_DIR / "build_saved_objects.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_line_is_a_saved_object_with_a_unique_id():
    objects = saved_objects()
    assert {o["type"] for o in objects} == KNOWN_TYPES
    ids = [(o["type"], o["id"]) for o in objects]
    assert len(ids) == len(set(ids))
    for o in objects:
        assert o["attributes"]["title"], o["id"]
        assert o["coreMigrationVersion"]
        assert o["typeMigrationVersion"]


def test_every_reference_points_to_an_object_in_the_file_defined_before_use():
    objects = saved_objects()
    seen: set[tuple[str, str]] = set()
    for o in objects:
        for ref in o["references"]:
            assert (ref["type"], ref["id"]) in seen, f"{o['id']} -> {ref} not defined earlier in the file"
        seen.add((o["type"], o["id"]))


def test_searches_use_their_index_reference():
    for o in saved_objects():
        if o["type"] != "search":
            continue
        source = json.loads(o["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        ref_names = {r["name"] for r in o["references"]}
        assert source["indexRefName"] in ref_names
        assert source["query"]["language"] == "kuery"
        assert o["attributes"]["columns"]


def test_lens_columns_reference_each_other_consistently():
    for o in saved_objects():
        if o["type"] != "lens":
            continue
        state = o["attributes"]["state"]
        layers = state["datasourceStates"]["formBased"]["layers"]
        ref_names = {r["name"] for r in o["references"]}
        for layer_id, layer in layers.items():
            assert f"indexpattern-datasource-layer-{layer_id}" in ref_names
            columns = layer["columns"]
            assert set(layer["columnOrder"]) == set(columns)
            for column in columns.values():
                for ref in column.get("references", []):
                    assert ref in columns
                order_by = column.get("params", {}).get("orderBy", {})
                if order_by.get("type") == "column":
                    assert order_by["columnId"] in columns
        accessors = json.dumps(state["visualization"])
        for layer in layers.values():
            visible = [
                c
                for c, col in layer["columns"].items()
                if not col.get("customLabel") or col["operationType"] in {"formula", "percentile"}
            ]
            for column_id in visible:
                assert f'"{column_id}"' in accessors, f"{o['id']}: column {column_id} not shown"


def test_dashboard_panels_and_controls_resolve():
    objects = {(o["type"], o["id"]): o for o in saved_objects()}
    dashboard = next(o for o in objects.values() if o["type"] == "dashboard")
    refs = {r["name"]: r for r in dashboard["references"]}
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    assert len(panels) >= 8
    for panel in panels:
        ref = refs[f"{panel['panelIndex']}:{panel['panelRefName']}"]
        assert (ref["type"], ref["id"]) in objects
        assert panel["type"] == ref["type"]
        grid = panel["gridData"]
        assert grid["x"] + grid["w"] <= 48
    controls = json.loads(dashboard["attributes"]["controlGroupInput"]["panelsJSON"])
    fields = {c["explicitInput"]["fieldName"] for c in controls.values()}
    assert "ml.prediction.id" in fields, "a prediction id control leads from a prediction to its trace"
    for control_id in controls:
        assert f"controlGroup_{control_id}:optionsListDataView" in refs


def test_prediction_to_trace_path_exists():
    objects = saved_objects()
    searches = {o["id"]: o for o in objects if o["type"] == "search"}
    views = {o["id"]: o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    on_traces = [s for s in searches.values() if views[s["references"][0]["id"]].startswith("traces")]
    on_logs = [s for s in searches.values() if views[s["references"][0]["id"]].startswith("logs")]
    assert any({"trace.id", "ml.prediction.id"} <= set(s["attributes"]["columns"]) for s in on_traces)
    assert any({"trace.id", "ml.prediction.id"} <= set(s["attributes"]["columns"]) for s in on_logs)


def test_discover_search_of_prediction_records_has_the_required_columns():
    records = next(o for o in saved_objects() if o["id"] == "otel-ml-search-prediction-records")
    assert records["attributes"]["columns"] == [
        "ml.model.name",
        "ml.model.version",
        "ml.prediction.id",
        "ml.prediction.status",
        "ml.prediction.latency_ms",
        "log.level",
        "message",
    ]


@pytest.mark.parametrize("query", ["ml.model.name : foo", 'a : "x" or b : "y"', 'a:"x" and (b : *)'])
def test_unsupported_kql_is_rejected(query: str):
    from panels import SpecError, parse_kql

    with pytest.raises(SpecError):
        parse_kql(query)


def test_kql_translation():
    from panels import kql_to_es

    assert kql_to_es('ml.prediction.status : * and not error.type : "ValueError"') == {
        "bool": {
            "filter": [{"exists": {"field": "ml.prediction.status"}}],
            "must_not": [{"match_phrase": {"error.type": "ValueError"}}],
        }
    }
