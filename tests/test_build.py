"""`trimtab build`: workflow definitions and derived form schemas, kept in git and checked."""
from __future__ import annotations

import json
import shutil

import jsonschema
import pytest

from conftest import ROOT
from clikit import trimtab
from trimtab.dsl.derive import derived_form, workflows


def test_generated_files_are_fresh():
    r = trimtab("build", "rules", "--check")
    assert r.returncode == 0, r.stderr


def test_every_workflow_matches_its_schema(shipped):
    schema = json.loads((ROOT / "workflows" / "workflow.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    docs = workflows(shipped)
    assert {d["kind"] for d in docs} == {"approval", "schedule"} and len(docs) == 7
    for doc in docs:
        validator.validate(doc)
    approval = next(d for d in docs if d["kind"] == "approval")
    assert approval["steps"][2] == {"id": "step3", "type": "approve", "roles": ["sales_director"],
                                    "when": "abs(change) > 15%"}
    assert approval["limit"]["message"] == "每个校准周期只能正式调整一次目标"
    monday = next(d for d in docs if d["name"] == "周一行动建议")
    assert monday["trigger"] == {"type": "weekly", "weekday": "monday", "time": "09:00",
                                 "timezone": "Asia/Shanghai"}


def test_derived_forms_carry_rule_constraints(shipped):
    for form in shipped.schemas:
        jsonschema.Draft202012Validator.check_schema(derived_form(shipped, form))
    plan = derived_form(shipped, "target_plan")
    v = jsonschema.Draft202012Validator(plan)
    base = {"region": "s", "quarter": "2026-Q3", "total_target": 100,
            "provinces": [{"name": "a", "market_potential": 1, "staffing_strength": 1,
                           "strategic_priority": 1, "adjustment": 0.1}]}
    # The shipped split: at most ±15%, every adjustment with a reason (seed 004).
    assert [e.message for e in v.iter_errors(base)] == ["'reason' is a required property"]
    base["provinces"][0]["reason"] = "新品上市"
    assert not list(v.iter_errors(base))                                   # with a reason: fine
    base["provinces"][0]["adjustment"] = 0.2
    assert [e.validator for e in v.iter_errors(base)] == ["maximum"]      # beyond: no reason helps
    del base["provinces"][0]["adjustment"], base["provinces"][0]["reason"]
    assert not list(v.iter_errors(base))                                   # no adjustment: free
    monthly = derived_form(shipped, "region_monthly")["properties"]["region_factor"]
    assert (monthly["minimum"], monthly["maximum"]) == (0.85, 1.15)
    change = derived_form(shipped, "target_change")
    assert "reason" in change["required"] and change["properties"]["reason"]["minLength"] == 1
    assert derived_form(shipped, "kr_progress")["x-trimtab-outputs"]["月度红绿灯"]["enum"] == \
        ["green", "yellow", "red"]


@pytest.fixture
def project(tmp_path):
    for name in ("rules", "form_schemas", "workflows"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


def test_check_fails_when_a_rule_changes_and_build_fixes_it(project):
    f = project / "rules" / "approvals.rules"
    f.write_text(f.read_text(encoding="utf-8").replace("step hrbp\n", "step hrbp\n    step headquarters\n"),
                 encoding="utf-8")
    r = trimtab("build", str(project / "rules"), "--check")
    assert r.returncode == 1 and "approval-目标变更.json: stale" in r.stderr
    assert "workflows/dingtalk/approval-目标变更.json: stale" in r.stderr      # the platforms' too
    assert trimtab("build", str(project / "rules")).returncode == 0
    assert trimtab("build", str(project / "rules"), "--check").returncode == 0
    doc = json.loads((project / "workflows" / "approval-目标变更.json").read_text(encoding="utf-8"))
    assert ["headquarters"] in [s["roles"] for s in doc["steps"]]
    feishu = json.loads((project / "workflows" / "feishu" / "approval-目标变更.json").read_text(encoding="utf-8"))
    assert "step3" in [n["id"] for n in feishu["approval"]["node_list"]]
