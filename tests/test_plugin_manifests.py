"""Every shipped plugin manifest validates against its JSON Schema and matches the rule set."""
from __future__ import annotations

import json

import jsonschema
import pytest

from conftest import ROOT

MANIFESTS = ROOT / "plugin_manifests"
PLATFORMS = ["generic", "jiandaoyun", "mingdao", "yida", "feishu_bitable"]


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
