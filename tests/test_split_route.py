"""/v1/splits holds the rule's band (issue #15): free within ±15%, a reason beyond it, refused
beyond ±30% with or without one; the shares are amounts that sum to the parent."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RULE = """split 区域目标拆分
    on target_plan per region
    divide total_target across provinces
    weight market_potential 50%
    weight staffing_strength 30%
    weight strategic_priority 20%
    adjust adjustment within ±15%, beyond require reason, never beyond ±30%, rebalance
"""


@pytest.fixture(scope="module")
def db_kind() -> str:
    return "sqlite"


@pytest.fixture
def app_config(tmp_path) -> dict:
    shutil.copytree(ROOT / "form_schemas", tmp_path / "form_schemas")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "split.rules").write_text(RULE, encoding="utf-8")
    return {"RULES_PATH": str(tmp_path / "rules")}


def _plan(adjustment, reason=None):
    second = {"name": "广西", "market_potential": 1, "staffing_strength": 1, "strategic_priority": 1,
              "adjustment": adjustment}
    if reason:
        second["reason"] = reason
    return {"region": "south", "quarter": "2026-Q3", "total_target": 1000000, "provinces": [
        {"name": "广东", "market_potential": 2, "staffing_strength": 1, "strategic_priority": 1},
        {"name": "海南", "market_potential": 0, "staffing_strength": 1, "strategic_priority": 1},
        second]}


def test_plus_18_with_a_reason_is_accepted_and_the_shares_keep_the_parent(client):
    r = client.post("/v1/splits", json={"facts": _plan(0.18, "新代理商签约")})
    assert r.status_code == 200, r.json
    split = r.json["split"]
    assert split["total"] == "1000000.00"
    assert sum(map(float, split["value"])) == pytest.approx(1000000)
    assert all(isinstance(v, str) and v.split(".")[1].__len__() == 2 for v in split["value"])
    assert split["band"] == {"field": "adjustment", "free": 0.15, "reason_field": "reason",
                             "limit": 0.3, "rebalance": True}


def test_plus_50_with_a_reason_is_refused(client):
    r = client.post("/v1/splits", json={"facts": _plan(0.5, "新代理商签约")})
    assert r.status_code == 422 and r.json["error"]["code"] == "adjustment_out_of_range"
    assert r.json["error"]["path"] == "$.provinces[2].adjustment"


def test_plus_18_without_a_reason_needs_one(client):
    r = client.post("/v1/splits", json={"facts": _plan(0.18)})
    assert r.status_code == 422 and r.json["error"]["code"] == "reason_required"
    assert r.json["error"]["path"] == "$.provinces[2].reason"


def test_the_derived_form_carries_the_same_limits(client):
    r = client.get("/v1/forms/target_plan")
    adjustment = r.json["properties"]["provinces"]["items"]["properties"]["adjustment"]
    assert (adjustment["minimum"], adjustment["maximum"]) == (-0.3, 0.3)
    assert adjustment["x-trimtab-free-band"] == 0.15 and adjustment["x-trimtab-rebalance"] is True
