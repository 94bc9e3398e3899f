"""Load and check ``panels.yaml``; translate its queries and aggregations to Elasticsearch requests.

``panels.yaml`` is the single description of the Kibana objects: ``build_saved_objects.py`` turns it
into ``saved_objects.ndjson`` and the tests run the equivalent Elasticsearch query + aggregation of
every panel. Example::

    from panels import load_spec, panel_search_body
    spec = load_spec()
    body = panel_search_body(spec.panel("otel-ml-lens-error-rate"))

KQL is restricted to a subset with an unambiguous Elasticsearch translation: ``field : *``,
``field : "value"``, ``not <clause>`` and clauses joined with ``and``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PANELS_FILE = Path(__file__).resolve().parent / "panels.yaml"
CHARTS = frozenset({"bar_stacked", "line", "donut", "datatable", "metric"})
_CLAUSE = re.compile(r'^(?P<not>not\s+)?(?P<field>[A-Za-z0-9_.@]+)\s*:\s*(?P<value>\*|"(?:[^"\\]|\\.)*")$')


class SpecError(ValueError):
    """``panels.yaml`` is malformed or uses something the builder cannot express."""


@dataclass(frozen=True)
class Spec:
    """The parsed ``panels.yaml``."""

    data_views: list[dict[str, Any]]
    searches: list[dict[str, Any]]
    panels: list[dict[str, Any]]
    dashboard: dict[str, Any]

    def panel(self, panel_id: str) -> dict[str, Any]:
        """Return the Lens panel with ``panel_id``."""
        return next(p for p in self.panels if p["id"] == panel_id)

    def data_view(self, data_view_id: str) -> dict[str, Any]:
        """Return the data view with ``data_view_id``."""
        return next(d for d in self.data_views if d["id"] == data_view_id)


def parse_kql(query: str) -> list[tuple[str, str | None, bool]]:
    """Split a KQL query of the supported subset into ``(field, value or None for *, negated)``."""
    if not query.strip():
        return []
    clauses = []
    for part in re.split(r"\s+and\s+", query.strip()):
        match = _CLAUSE.match(part.strip())
        if match is None:
            raise SpecError(f"unsupported KQL clause {part!r} in {query!r}")
        raw = match.group("value")
        value = None if raw == "*" else raw[1:-1].replace('\\"', '"')
        clauses.append((match.group("field"), value, match.group("not") is not None))
    return clauses


def kql_to_es(query: str) -> dict[str, Any]:
    """Translate a supported KQL query to an Elasticsearch ``bool`` query."""
    filters: list[dict[str, Any]] = []
    must_not: list[dict[str, Any]] = []
    for field, value, negated in parse_kql(query):
        clause = {"exists": {"field": field}} if value is None else {"match_phrase": {field: value}}
        (must_not if negated else filters).append(clause)
    return {"bool": {"filter": filters, "must_not": must_not}}


def kql_fields(query: str) -> set[str]:
    """Return the fields a supported KQL query refers to."""
    return {field for field, _, _ in parse_kql(query)}


def panel_fields(panel: dict[str, Any]) -> set[str]:
    """Return every field a Lens panel reads (filter, x axis, split, metric)."""
    fields = kql_fields(panel.get("filter", ""))
    if "x" in panel:
        fields.add(panel["x"])
    if "split" in panel:
        fields.add(panel["split"]["field"])
    metric = panel["metric"]
    if "percentiles" in metric:
        fields.add(metric["percentiles"]["field"])
    if "ratio" in metric:
        fields |= kql_fields(metric["ratio"]["numerator"])
    return fields


def aggregatable_fields(panel: dict[str, Any]) -> set[str]:
    """Return the fields a panel aggregates on (they must be keyword, numeric or date in the mapping)."""
    fields = set()
    if "x" in panel:
        fields.add(panel["x"])
    if "split" in panel:
        fields.add(panel["split"]["field"])
    if "percentiles" in panel["metric"]:
        fields.add(panel["metric"]["percentiles"]["field"])
    return fields


def _metric_aggs(metric: dict[str, Any]) -> dict[str, Any]:
    if "percentiles" in metric:
        spec = metric["percentiles"]
        return {"metric": {"percentiles": {"field": spec["field"], "percents": list(spec["percents"])}}}
    if "ratio" in metric:
        return {"numerator": {"filter": kql_to_es(metric["ratio"]["numerator"])}}
    return {}


def panel_search_body(panel: dict[str, Any]) -> dict[str, Any]:
    """Return the ``_search`` body computing what the panel shows, over the whole time range.

    Aggregations: ``split`` (terms, with the metric inside) when the panel has a split, the metric at
    the top level, and ``x`` (date_histogram, 1 minute) when the panel has a time axis.
    """
    metric = _metric_aggs(panel["metric"])
    aggs: dict[str, Any] = dict(metric)
    if "split" in panel:
        split = panel["split"]
        aggs["split"] = {"terms": {"field": split["field"], "size": split["size"]}, "aggs": metric}
    if "x" in panel:
        aggs["x"] = {"date_histogram": {"field": panel["x"], "fixed_interval": "1m", "min_doc_count": 1}}
    return {"size": 0, "track_total_hits": True, "query": kql_to_es(panel.get("filter", "")), "aggs": aggs}


def _metric_value(metric: dict[str, Any], bucket: dict[str, Any], total: int) -> Any:
    if "percentiles" in metric:
        return {float(k): v for k, v in bucket["metric"]["values"].items()}
    if "ratio" in metric:
        return bucket["numerator"]["doc_count"] / total if total else None
    return total


def panel_result(panel: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """Reduce a ``_search`` answer of :func:`panel_search_body` to what the panel displays.

    Returns ``{"total": <metric over all matching docs>, "by": {split key: metric}, "x_total": <sum of
    the date histogram buckets>}`` (``by``/``x_total`` only when the panel has a split/time axis).
    """
    metric = panel["metric"]
    aggs = response.get("aggregations", {})
    hits = response["hits"]["total"]["value"]
    result: dict[str, Any] = {"total": _metric_value(metric, aggs, hits)}
    if "split" in panel:
        result["by"] = {b["key"]: _metric_value(metric, b, b["doc_count"]) for b in aggs["split"]["buckets"]}
    if "x" in panel:
        result["x_total"] = sum(b["doc_count"] for b in aggs["x"]["buckets"])
    return result


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise SpecError(message)


def validate(spec: Spec) -> None:
    """Check ids are unique, references resolve, charts and metrics are supported and KQL parses."""
    ids = [d["id"] for d in spec.data_views] + [s["id"] for s in spec.searches] + [p["id"] for p in spec.panels]
    ids.append(spec.dashboard["id"])
    _require(len(ids) == len(set(ids)), f"duplicate ids in panels.yaml: {ids}")
    view_ids = {d["id"] for d in spec.data_views}
    for search in spec.searches:
        _require(search["data_view"] in view_ids, f"{search['id']}: unknown data view")
        _require(bool(search["columns"]), f"{search['id']}: no columns")
        parse_kql(search["query"])
    for panel in spec.panels:
        _require(panel["data_view"] in view_ids, f"{panel['id']}: unknown data view")
        _require(panel["chart"] in CHARTS, f"{panel['id']}: unknown chart {panel['chart']}")
        metric = panel["metric"]
        _require(
            len(metric) == 1 and next(iter(metric)) in {"count", "percentiles", "ratio"},
            f"{panel['id']}: metric must be one of count, percentiles, ratio",
        )
        _require(
            panel["chart"] != "metric" or ("split" not in panel and "x" not in panel),
            f"{panel['id']}: a metric chart has no split or x axis",
        )
        _require(panel["chart"] not in {"bar_stacked", "line"} or "x" in panel, f"{panel['id']}: a time chart needs x")
        _require(panel["chart"] != "donut" or "split" in panel, f"{panel['id']}: a donut needs split")
        parse_kql(panel.get("filter", ""))
        if "ratio" in metric:
            parse_kql(metric["ratio"]["numerator"])
    refs = {s["id"] for s in spec.searches} | {p["id"] for p in spec.panels}
    for item in spec.dashboard["layout"]:
        _require(item["ref"] in refs, f"dashboard layout refers to unknown {item['ref']}")
        _require(0 < item["width"] <= 48, f"dashboard panel {item['ref']}: width must be 1..48")
    for control in spec.dashboard.get("controls", []):
        _require(control["data_view"] in view_ids, f"control {control['id']}: unknown data view")


def load_spec(path: Path = PANELS_FILE) -> Spec:
    """Read and validate ``panels.yaml``."""
    raw = yaml.safe_load(path.read_text())
    spec = Spec(raw["data_views"], raw["searches"], raw["panels"], raw["dashboard"])
    validate(spec)
    return spec
