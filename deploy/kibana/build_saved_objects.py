"""Generate ``saved_objects.ndjson`` (Kibana 8.x saved objects; Kibana migrates them on import) from ``panels.yaml``.

Usage::

    python deploy/kibana/build_saved_objects.py          # rewrite saved_objects.ndjson
    python deploy/kibana/build_saved_objects.py --check  # exit 1 if the file is out of date

Import the result with ``POST /api/saved_objects/_import?overwrite=true`` (the compose ``setup``
service does). Objects: one ``index-pattern`` per data view, one ``search`` per saved search, one
``lens`` per panel and a ``dashboard`` with options-list controls.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from panels import Spec, kql_fields, load_spec, panel_fields

OUTPUT = Path(__file__).resolve().parent / "saved_objects.ndjson"
CORE_MIGRATION_VERSION = "8.8.0"
# Lowest type versions of the 8.x format used here; Kibana migrates them up on import.
TYPE_MIGRATION_VERSION = {"index-pattern": "8.0.0", "search": "8.0.0", "lens": "8.9.0", "dashboard": "8.9.0"}
LAYER = "layer1"
RECORDS = "___records___"


def _saved_object(
    kind: str, object_id: str, attributes: dict[str, Any], references: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "id": object_id,
        "type": kind,
        "attributes": attributes,
        "references": references,
        "managed": False,
        "coreMigrationVersion": CORE_MIGRATION_VERSION,
        "typeMigrationVersion": TYPE_MIGRATION_VERSION[kind],
    }


def _kuery(query: str) -> dict[str, str]:
    return {"query": query, "language": "kuery"}


def data_view_object(view: dict[str, Any]) -> dict[str, Any]:
    """Return the ``index-pattern`` saved object of a data view."""
    formats = {
        field: {"id": "number", "params": {"pattern": pattern}}
        for field, pattern in view.get("number_formats", {}).items()
    }
    attributes = {
        "title": view["title"],
        "name": view["name"],
        "timeFieldName": view["time_field"],
        "fieldFormatMap": json.dumps(formats),
        "fieldAttrs": "{}",
        "runtimeFieldMap": "{}",
        "sourceFilters": "[]",
        "allowNoIndex": True,
    }
    return _saved_object("index-pattern", view["id"], attributes, [])


def search_object(search: dict[str, Any]) -> dict[str, Any]:
    """Return the Discover ``search`` saved object."""
    source = {
        "query": _kuery(search["query"]),
        "filter": [],
        "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
    }
    attributes = {
        "title": search["title"],
        "description": search.get("description", ""),
        "columns": list(search["columns"]),
        "sort": [["@timestamp", "desc"]],
        "grid": {},
        "hideChart": False,
        "isTextBasedQuery": False,
        "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(source)},
    }
    references = [
        {"name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern", "id": search["data_view"]}
    ]
    return _saved_object("search", search["id"], attributes, references)


def _count_column(label: str, kql: str | None = None, hidden: bool = False) -> dict[str, Any]:
    column: dict[str, Any] = {
        "label": label,
        "dataType": "number",
        "operationType": "count",
        "isBucketed": False,
        "scale": "ratio",
        "sourceField": RECORDS,
        "params": {"emptyAsNull": not hidden},
    }
    if kql is not None:
        column["filter"] = _kuery(kql)
    if hidden:
        column["customLabel"] = True
    return column


def _metric_columns(panel: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], list[str], list[str]]:
    """Return (columns, all column ids in order, visible metric column ids)."""
    metric = panel["metric"]
    if "percentiles" in metric:
        spec = metric["percentiles"]
        columns = {
            f"p{p}": {
                "label": f"p{p} {spec['field']}",
                "customLabel": True,
                "dataType": "number",
                "operationType": "percentile",
                "sourceField": spec["field"],
                "isBucketed": False,
                "scale": "ratio",
                "params": {"percentile": p},
            }
            for p in spec["percents"]
        }
        return columns, list(columns), list(columns)
    if "ratio" in metric:
        numerator = metric["ratio"]["numerator"]
        formula = f"count(kql='{numerator}') / count()"
        columns = {
            "rateX0": _count_column("Part of error rate", numerator, hidden=True),
            "rateX1": _count_column("Part of error rate", hidden=True),
            "rateX2": {
                "label": "Part of error rate",
                "customLabel": True,
                "dataType": "number",
                "operationType": "math",
                "isBucketed": False,
                "scale": "ratio",
                "params": {
                    "tinymathAst": {
                        "type": "function",
                        "name": "divide",
                        "args": ["rateX0", "rateX1"],
                        "location": {"min": 0, "max": len(formula)},
                        "text": formula,
                    }
                },
                "references": ["rateX0", "rateX1"],
            },
            "rate": {
                "label": panel["title"],
                "customLabel": True,
                "dataType": "number",
                "operationType": "formula",
                "isBucketed": False,
                "scale": "ratio",
                "params": {
                    "formula": formula,
                    "isFormulaBroken": False,
                    "format": {"id": "percent", "params": {"decimals": 1}},
                },
                "references": ["rateX2"],
            },
        }
        return columns, ["rate", "rateX0", "rateX1", "rateX2"], ["rate"]
    return {"count": _count_column("Predictions")}, ["count"], ["count"]


def lens_object(panel: dict[str, Any]) -> dict[str, Any]:
    """Return the ``lens`` saved object of a panel."""
    columns, metric_order, visible = _metric_columns(panel)
    order: list[str] = []
    if "split" in panel:
        split = panel["split"]
        columns["split"] = {
            "label": f"Top {split['size']} values of {split['field']}",
            "dataType": "string",
            "operationType": "terms",
            "sourceField": split["field"],
            "isBucketed": True,
            "scale": "ordinal",
            "params": {
                "size": split["size"],
                "orderBy": {"type": "column", "columnId": visible[0]},
                "orderDirection": "desc",
                "otherBucket": True,
                "missingBucket": False,
                "parentFormat": {"id": "terms"},
            },
        }
        order.append("split")
    if "x" in panel:
        columns["x"] = {
            "label": panel["x"],
            "dataType": "date",
            "operationType": "date_histogram",
            "sourceField": panel["x"],
            "isBucketed": True,
            "scale": "interval",
            "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False},
        }
        order.append("x")
    order += metric_order
    chart = panel["chart"]
    layer_base = {"layerId": LAYER, "layerType": "data"}
    if chart in {"bar_stacked", "line"}:
        vis_type = "lnsXY"
        layer = dict(layer_base, seriesType=chart, xAccessor="x", accessors=visible)
        if "split" in panel:
            layer["splitAccessor"] = "split"
        visualization: dict[str, Any] = {
            "legend": {"isVisible": True, "position": "right"},
            "valueLabels": "hide",
            "preferredSeriesType": chart,
            "layers": [layer],
        }
    elif chart == "donut":
        vis_type = "lnsPie"
        visualization = {
            "shape": "donut",
            "layers": [
                dict(
                    layer_base,
                    primaryGroups=["split"],
                    metrics=visible,
                    numberDisplay="percent",
                    categoryDisplay="default",
                    legendDisplay="default",
                )
            ],
        }
    elif chart == "metric":
        vis_type = "lnsMetric"
        visualization = dict(layer_base, metricAccessor=visible[0])
    else:
        vis_type = "lnsDatatable"
        visualization = dict(
            layer_base, columns=[{"columnId": c} for c in order if c in columns and c in (["split", "x", *visible])]
        )
    attributes = {
        "title": panel["title"],
        "description": "",
        "visualizationType": vis_type,
        "state": {
            "datasourceStates": {
                "formBased": {"layers": {LAYER: {"columns": columns, "columnOrder": order, "incompleteColumns": {}}}}
            },
            "visualization": visualization,
            "query": _kuery(panel.get("filter", "")),
            "filters": [],
            "adHocDataViews": {},
            "internalReferences": [],
        },
    }
    references = [{"type": "index-pattern", "id": panel["data_view"], "name": f"indexpattern-datasource-layer-{LAYER}"}]
    return _saved_object("lens", panel["id"], attributes, references)


def dashboard_object(spec: Spec) -> dict[str, Any]:
    """Return the ``dashboard`` saved object (panels by reference + options-list controls)."""
    dashboard = spec.dashboard
    lens_ids = {p["id"] for p in spec.panels}
    panels, references = [], []
    x = y = row_height = 0
    for index, item in enumerate(dashboard["layout"], start=1):
        if x + item["width"] > 48:
            x, y, row_height = 0, y + row_height, 0
        panel_index = f"p{index}"
        kind = "lens" if item["ref"] in lens_ids else "search"
        panels.append(
            {
                "type": kind,
                "gridData": {"x": x, "y": y, "w": item["width"], "h": item["height"], "i": panel_index},
                "panelIndex": panel_index,
                "embeddableConfig": {"enhancements": {}},
                "panelRefName": f"panel_{panel_index}",
            }
        )
        references.append({"name": f"{panel_index}:panel_{panel_index}", "type": kind, "id": item["ref"]})
        x += item["width"]
        row_height = max(row_height, item["height"])
    controls = {}
    for order, control in enumerate(dashboard.get("controls", [])):
        controls[control["id"]] = {
            "order": order,
            "width": "medium",
            "grow": True,
            "type": "optionsListControl",
            "explicitInput": {
                "id": control["id"],
                "fieldName": control["field"],
                "title": control["title"],
                "searchTechnique": "prefix",
                "selectedOptions": [],
                "enhancements": {},
            },
        }
        references.append(
            {
                "name": f"controlGroup_{control['id']}:optionsListDataView",
                "type": "index-pattern",
                "id": control["data_view"],
            }
        )
    attributes = {
        "title": dashboard["title"],
        "description": dashboard.get("description", ""),
        "panelsJSON": json.dumps(panels),
        "optionsJSON": json.dumps(
            {
                "useMargins": True,
                "syncColors": False,
                "syncCursor": True,
                "syncTooltips": False,
                "hidePanelTitles": False,
            }
        ),
        "timeRestore": True,
        "timeFrom": dashboard.get("time_from", "now-24h"),
        "timeTo": "now",
        "refreshInterval": {"pause": False, "value": 30000},
        "controlGroupInput": {
            "controlStyle": "oneLine",
            "chainingSystem": "HIERARCHICAL",
            "showApplySelections": False,
            "panelsJSON": json.dumps(controls),
            "ignoreParentSettingsJSON": json.dumps(
                {"ignoreFilters": False, "ignoreQuery": False, "ignoreTimerange": False, "ignoreValidations": False}
            ),
        },
        "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps({"query": _kuery(""), "filter": []})},
    }
    return _saved_object("dashboard", dashboard["id"], attributes, references)


def build(spec: Spec) -> list[dict[str, Any]]:
    """Return every saved object, data views first (Kibana resolves references in file order)."""
    objects = [data_view_object(v) for v in spec.data_views]
    objects += [search_object(s) for s in spec.searches]
    objects += [lens_object(p) for p in spec.panels]
    objects.append(dashboard_object(spec))
    return objects


def render(objects: list[dict[str, Any]]) -> str:
    """Serialise saved objects as NDJSON (one compact JSON object per line)."""
    return "".join(json.dumps(o, separators=(",", ":"), sort_keys=True) + "\n" for o in objects)


def referenced_fields(spec: Spec) -> dict[str, set[str]]:
    """Return, per data view id, every field the saved objects read (columns, queries, panels, controls)."""
    fields: dict[str, set[str]] = {v["id"]: {v["time_field"], *v.get("number_formats", {})} for v in spec.data_views}
    for search in spec.searches:
        fields[search["data_view"]] |= set(search["columns"]) | kql_fields(search["query"])
    for panel in spec.panels:
        fields[panel["data_view"]] |= panel_fields(panel)
    for control in spec.dashboard.get("controls", []):
        fields[control["data_view"]].add(control["field"])
    return fields


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) ``saved_objects.ndjson``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the NDJSON file is out of date")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render(build(load_spec()))
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date; run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
