"""Limits on what enters (issue 13 part 1): schema-valid-looking numbers, texts and periods that
used to be 500s on SQLite or PostgreSQL are 4xx naming the path, and nothing is stored."""
from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from serverkit import bearer, set_target, week
from trimtab.server.storage.models import Approval, Delivery, Fact


@pytest.fixture(scope="module")
def module_config() -> dict:
    return {"LANG": "en"}


@pytest.fixture
def world(shared_server):
    """One server per database for the module (conftest's `shared_server`)."""
    return shared_server


def stored(app) -> tuple[int, int, int]:
    with app.extensions["trimtab.sessions"]() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (Fact, Delivery, Approval))


def raw_with(facts: dict, field: str, literal: str) -> bytes:
    """`facts` as JSON text with `field`'s value written as `literal`, as a platform could."""
    facts = dict(facts, **{field: "@@"})
    return json.dumps(facts, ensure_ascii=False).replace('"@@"', literal).encode()


CHANGE = {"rep": "east.li", "date": "2026-08-12", "metric": "new_customers", "current_target": 80,
          "proposed_target": 70, "reason": "竞品", "meeting": "calibration", "requested_by": "east.li"}
MONTHLY = {"region": "east", "month": "2026-07", "closed_amount": 100, "industry_growth": 0.1,
           "region_factor": 1}
RECEIVABLE = {"account": "acme", "rep": "east.li", "date": "2026-07-06", "amount": 1000,
              "days_outstanding": 10}

# (form, body as bytes, status, path of the refusal)
REFUSED = [
    ("weekly_metrics", raw_with(week(1, 3, 0.8), "contract_amount", "1e5000"), 422, "$.contract_amount"),
    ("weekly_metrics", raw_with(week(1, 3, 0.8), "contract_amount", "123456789012345678901234567.5"),
     422, "$.contract_amount"),
    ("weekly_metrics", raw_with(week(1, 3, 0.8), "new_customers", "9" * 5000), 422, "$.new_customers"),
    ("weekly_metrics", raw_with(week(1, 3, 0.8), "meeting_conversion", "1e-999999"), 422,
     "$.meeting_conversion"),
    ("weekly_metrics", raw_with(week(1, 3, 0.8), "contract_amount", "1000000000000000"), 422,
     "$.contract_amount"),
    ("weekly_metrics", raw_with(week(1, 3, 0.8), "contract_amount", "10.12345"), 422, "$.contract_amount"),
    ("weekly_metrics", raw_with(week(1, 3, 0.8), "rep", '"\\ud800"'), 422, "$.rep"),
    ("weekly_metrics", raw_with(week(1, 3, 0.8), "region", '"ea\\u0000st"'), 422, "$.region"),
    ("weekly_metrics", raw_with(week(1, 3, 0.8), "week_start", '"2026-02-30"'), 422, "$.week_start"),
    ("weekly_metrics", raw_with(week(1, 3, 0.8), "week_start", '"9999-12-27"'), 422, "$.week_start"),
    ("target_change", raw_with(CHANGE, "proposed_target", "1e20"), 422, "$.proposed_target"),
    ("target_change", raw_with(CHANGE, "evidence", "[1.5]"), 422, "$.evidence[0]"),
    ("target_change", raw_with(CHANGE, "reason", json.dumps("理" * 2001)), 422, "$.reason"),
    ("region_monthly", raw_with(MONTHLY, "month", '"2026-13"'), 422, "$.month"),
    ("region_monthly", raw_with(MONTHLY, "month", '"0000-01"'), 422, "$.month"),
    ("target_plan", raw_with({"region": "east", "total_target": 1000,
                              "provinces": [{"name": "a", "market_potential": 1, "staffing_strength": 1,
                                             "strategic_priority": 1}]}, "quarter", '"0000-Q1"'),
     422, "$.quarter"),
    ("receivables", raw_with(RECEIVABLE, "account", json.dumps("a" * 129)), 422, "$.account"),
    ("receivables", raw_with(RECEIVABLE, "rep", json.dumps("r" * 129)), 422, "$.rep"),
]


@pytest.mark.parametrize("form,body,status,path", REFUSED,
                         ids=[f"{i}-{f}-{p}" for i, (f, _b, _s, p) in enumerate(REFUSED)])
def test_out_of_limits_is_4xx_naming_the_path_and_stores_nothing(world, form, body, status, path):
    app, hooks = world
    before = stored(app)
    started = time.monotonic()
    r = hooks.post(form, body)
    assert time.monotonic() - started < 1
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.json["error"]["path"] == path, r.json
    assert stored(app) == before


def test_a_delivery_id_over_200_characters_is_400(world):
    app, hooks = world
    before = stored(app)
    r = hooks.post("weekly_metrics", week(1, 3, 0.8), delivery="d" * 201)
    assert r.status_code == 400 and r.json["error"]["code"] == "delivery_id_too_long", r.json
    assert stored(app) == before


def test_evidence_that_is_not_text_from_the_right_approver_is_422(world):
    app, hooks = world
    set_target(app, "east.li", "new_customers", 80)
    r = hooks.post("target_change", CHANGE)
    assert r.status_code == 200, r.json
    url = f"/v1/approvals/{r.json['approval']['id']}/decision"
    client = hooks.client
    r = client.post(url, json={"decision": "approve", "evidence": [1.5]}, headers=bearer(app, "east.mgr"))
    assert r.status_code == 422 and r.json["error"]["path"] == "$.evidence", r.json
    r = client.post(url, data=b'{"decision": "approve", "comment": 1e5000}',
                    headers={**bearer(app, "east.mgr"), "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json["error"]["path"] == "$.comment", r.json


@pytest.mark.parametrize("literal", ["1e999999", "9" * 4400, "-1e16"])
def test_evaluate_refuses_huge_numbers_at_once(world, literal):
    app, hooks = world
    body = json.dumps({"form": "region_monthly", "facts": dict(MONTHLY, closed_amount="@@")})
    started = time.monotonic()
    r = hooks.client.post("/v1/evaluate", data=body.replace('"@@"', literal).encode(),
                          headers={**bearer(app, "east.mgr"), "Content-Type": "application/json"})
    assert time.monotonic() - started < 1
    assert r.status_code == 422 and r.json["error"]["path"] == "$.facts.closed_amount", r.json


# ---------------------------------------------------------------------- constant work (part 2)
@pytest.mark.parametrize("db_kind", ["sqlite"])
@pytest.mark.app_config(LANG="en", EVALUATE_LIMIT="3/minute")
def test_evaluate_is_rate_limited_per_person(app, hooks):
    body = {"form": "region_monthly", "facts": MONTHLY}
    statuses = [hooks.client.post("/v1/evaluate", json=body, headers=bearer(app, "east.mgr")).status_code
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    other = hooks.client.post("/v1/evaluate", json=body, headers=bearer(app, "hr.east"))
    assert other.status_code == 200          # per person, not for everyone


def test_evaluate_refuses_a_history_longer_than_the_limit(world):
    from trimtab.dsl.ruleset import MAX_HISTORY
    app, hooks = world
    body = {"form": "region_monthly", "facts": MONTHLY, "history": [MONTHLY] * (MAX_HISTORY + 1)}
    r = hooks.client.post("/v1/evaluate", json=body, headers=bearer(app, "hr.east"))
    assert r.status_code == 422 and r.json["error"]["code"] == "eval.history_too_long", r.json


def test_an_evaluation_over_its_budget_stops_naming_the_rule(world):
    from trimtab.dsl.diagnostics import RuleError
    from trimtab.server.domain.rulesets import active
    app, _ = world
    with app.app_context():
        ruleset = active()
    with pytest.raises(RuleError) as stopped:
        ruleset.evaluate("weekly_metrics", week(1, 3, 0.8), [], budget_s=-1)
    assert stopped.value.code == "eval.budget_exceeded" and stopped.value.details["rule"]
    assert stopped.value.diagnostics[0].file.endswith(".rules")        # placed at that rule
