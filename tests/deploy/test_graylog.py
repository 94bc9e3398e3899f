"""deploy/graylog: input, stream and saved-search definitions are consistent with each other and compose."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType

from tests.deploy.conftest import DEPLOY, load_compose

GRAYLOG_DIR = DEPLOY / "graylog"


def setup_module_() -> ModuleType:
    spec = importlib.util.spec_from_file_location("setup_graylog", GRAYLOG_DIR / "setup_graylog.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gelf_udp_input_matches_the_compose_port_and_the_collector_endpoint():
    definition = json.loads((GRAYLOG_DIR / "gelf_udp_input.json").read_text())
    assert definition["type"] == "org.graylog2.inputs.gelf.udp.GELFUDPInput"
    port = definition["configuration"]["port"]
    _, compose, _ = load_compose()
    assert f":{port}/udp" in " ".join(compose["services"]["graylog"]["ports"])
    assert compose["services"]["collector"]["environment"]["GELF_ENDPOINT"] == f"udp://graylog:{port}"


def test_stream_selects_prediction_records():
    stream = json.loads((GRAYLOG_DIR / "stream.json").read_text())
    assert stream["rules"], "a stream without rules matches nothing"
    fields = {rule["field"] for rule in stream["rules"]}
    assert fields == {"ml_prediction_id"}
    assert all(rule["type"] == 5 for rule in stream["rules"])  # 5 = field presence


def test_saved_search_bodies_are_wired_to_the_stream():
    module = setup_module_()
    definition = module.load("saved_search.json")
    search, view = module.saved_search_bodies(definition, "0123456789abcdef01234567")
    query = search["queries"][0]
    assert query["filter"]["filters"] == [{"type": "stream", "id": "0123456789abcdef01234567"}]
    assert view["search_id"] == search["id"]
    assert len(search["id"]) == 24
    state = view["state"][query["id"]]
    widget = state["widgets"][0]
    assert state["widget_mapping"][widget["id"]] == [query["search_types"][0]["id"]]
    for field in ("ml_model_name", "ml_model_version", "ml_prediction_id", "ml_prediction_status", "trace_id"):
        assert field in widget["config"]["fields"]
