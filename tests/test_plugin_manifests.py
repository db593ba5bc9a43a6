"""Every shipped plugin manifest validates against its JSON Schema and matches the rule set."""
from __future__ import annotations

import json

import jsonschema
import pytest

from conftest import ROOT

MANIFESTS = ROOT / "plugin_manifests"
PLATFORMS = ["generic", "jiandaoyun", "mingdao", "yida", "feishu"]


@pytest.fixture(scope="module")
def validator():
    schema = json.loads((MANIFESTS / "manifest.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_manifest_validates_and_covers_every_form(platform, validator, shipped):
    doc = json.loads((MANIFESTS / f"{platform}.json").read_text(encoding="utf-8"))
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(doc)]
    assert errors == []
    assert doc["platform"]["id"] == platform
    assert sorted(h["form"] for h in doc["webhooks"]) == sorted(shipped.schemas)
    for hook in doc["webhooks"]:
        if "mapping" in hook:
            mapping = json.loads((MANIFESTS / hook["mapping"]).read_text(encoding="utf-8"))
            props = shipped.schemas[hook["form"]].raw["properties"]
            assert set(mapping["fields"].values()) == set(props)
    assert {a["id"] for a in doc["actions"]} == {"request_target_change", "approve", "reject"}


def test_a_broken_manifest_is_refused(validator):
    doc = json.loads((MANIFESTS / "jiandaoyun.json").read_text(encoding="utf-8"))
    doc["auth"]["type"] = "none"
    del doc["plugin"]["name"]["en"]
    paths = sorted(e.json_path for e in validator.iter_errors(doc))
    assert paths == ["$.auth.type", "$.plugin.name"]


@pytest.mark.slow
@pytest.mark.parametrize("db_kind", ["sqlite"])
@pytest.mark.parametrize("platform", ["jiandaoyun", "mingdao", "yida", "feishu"])
def test_form_export_carries_fields_types_required_bounds_and_options(platform, shipped, app):
    from serverkit import as_admin
    client = as_admin(app.test_client())
    doc = client.get(f"/platforms/{platform}/forms/target_change").json
    assert doc == json.loads((MANIFESTS / "exports" / platform / "target_change.json").read_text(encoding="utf-8"))
    fields_of = {"jiandaoyun": lambda d: d["widgets"], "mingdao": lambda d: d["controls"],
                 "yida": lambda d: d["components"], "feishu": lambda d: d["table"]["fields"]}[platform]
    fields = fields_of(doc)
    assert len(fields) == len(shipped.schemas["target_change"].raw["properties"])
    member = {"jiandaoyun": "user", "mingdao": 26, "yida": "EmployeeField", "feishu": 11}[platform]
    assert fields[0]["type" if platform != "yida" else "componentName"] == member     # rep
    if platform != "feishu":        # Bitable's create-table body has no required flag
        by_name = {f.get("name") or f.get("alias") or f.get("fieldId"): f for f in fields}
        assert by_name["reason"]["required"] is True                    # from the approval rule
        assert by_name["current_target"]["min"] == 0
    weekly = fields_of(client.get(f"/platforms/{platform}/forms/weekly_metrics").json)
    assert len(weekly) == len(shipped.schemas["weekly_metrics"].raw["properties"])
    assert client.get("/platforms/nowhere/forms/target_change").status_code == 404
    assert client.get(f"/platforms/{platform}/forms/nothing").status_code == 400
