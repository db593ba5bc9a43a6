"""The rules server through HTTP, on SQLite and on the machine's PostgreSQL."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from conftest import ROOT
from serverkit import (ADMIN_HEADERS, CLIENT, SECRET, Hooks, as_admin, bearer,
                       set_target, week)
from trimtab.server.app import create_app
from trimtab.server.storage.models import Decision, Delivery, Fact


@pytest.fixture
def app_config():
    return {"LANG": "en"}


def count(app, model) -> int:
    with app.extensions["trimtab.sessions"]() as s:
        return s.scalar(select(func.count()).select_from(model))


def by_rule(response) -> dict:
    return {d["rule"]: d for d in response.json["decisions"]}


def test_fintech_q3_end_to_end(app, client, hooks):
    """Weeks 1–6 → yellow at week 5 → 80 → 70 → manager, then HRBP → audit → second change refused."""
    weeks = [week(1, 5, 0.9), week(2, 5, 0.88), week(3, 3, 0.85), week(4, 3, 0.8),
             week(5, 2, 0.7), week(6, 4, 0.9)]
    fired = []
    for w in weeks:
        r = hooks.post("weekly_metrics", w)
        assert r.status_code == 200, r.json
        fired.append(by_rule(r)["健康度黄灯"]["value"])
    assert fired == [False, False, False, False, True, False]
    week5 = client.get("/v1/decisions?rule=健康度黄灯&fired=true").json["items"]
    assert len(week5) == 1 and week5[0]["result"]["notify"] == ["direct_manager", "hrbp"]
    assert week5[0]["result"]["trace"]                       # the explanation is remembered

    set_target(app, "east.li", "new_customers", 80)
    change = {"rep": "east.li", "date": "2026-08-12", "metric": "new_customers",
              "current_target": 80, "proposed_target": 70, "reason": "竞品低价套餐冲击",
              "evidence": ["校准会纪要 2026-08-12"], "meeting": "calibration",
              "requested_by": "east.li"}
    r = hooks.post("target_change", change)
    assert r.status_code == 200, r.json
    approval = r.json["approval"]
    assert [(s["role"], s["approver"]) for s in approval["steps"]] == \
        [("direct_manager", "east.mgr"), ("hrbp", "hr.east")]
    url = f"/v1/approvals/{approval['id']}/decision"
    manager, hrbp = bearer(app, "east.mgr"), bearer(app, "hr.east")
    early = client.post(url, json={"decision": "approve"}, headers=hrbp)
    assert early.status_code == 403 and early.json["error"]["code"] == "not_the_approver"
    r = client.post(url, json={"decision": "approve", "comment": "同意"}, headers=manager)
    assert r.status_code == 200 and r.json["status"] == "pending" and r.json["waiting_for"] == ["hr.east"]
    r = client.post(url, json={"decision": "approve", "evidence": ["HR 备案"]}, headers=hrbp)
    assert r.json["status"] == "approved"
    assert client.get("/v1/targets?subject=east.li").json["targets"][0]["value"] == 70

    audit = [e for e in client.get("/v1/audit?subject=east.li").json["items"]
             if e["action"] == "target_changed"]
    assert len(audit) == 1
    entry = audit[0]
    version = client.get("/v1/rulesets/current").json["version"]
    assert (entry["action"], entry["before"], entry["after"]) == ("target_changed", 80, 70)
    assert entry["reason"] == "竞品低价套餐冲击" and entry["ruleset_version"] == version
    assert entry["evidence"] == ["校准会纪要 2026-08-12", "HR 备案"]
    assert [a["person"] for a in entry["approvers"]] == ["east.mgr", "hr.east"]

    again = dict(change, date="2026-08-20", current_target=70, proposed_target=65, reason="再调")
    r = hooks.post("target_change", again, lang="zh")
    assert r.status_code == 200
    refused = by_rule(r)["目标变更"]
    assert refused["value"] is False and r.json["approval"] is None
    assert "每个校准周期只能正式调整一次目标" in refused["explanation"]


def test_signature_problems_are_401_and_store_nothing(app, hooks):
    w = week(1, 5, 0.9)
    for kw in ({"secret": "wrong"}, {"stamp": 1_000_000_000}, {"client": "stranger"}):
        r = hooks.post("weekly_metrics", w, **kw)
        assert r.status_code == 401 and r.json["error"]["code"].startswith("signature_")
    r = hooks.client.post("/hooks/weekly_metrics", json=w)
    assert r.status_code == 401 and r.json["error"]["code"] == "signature_missing"
    assert count(app, Fact) == 0 and count(app, Delivery) == 0


def test_a_retry_gets_the_same_answer_and_stores_nothing_twice(app, hooks):
    w = week(1, 5, 0.9)
    first = hooks.post("weekly_metrics", w, delivery="d-1")
    second = hooks.post("weekly_metrics", w, delivery="d-1")
    assert first.status_code == second.status_code == 200
    assert first.json == second.json and second.headers["X-Trimtab-Replayed"] == "true"
    assert count(app, Fact) == 1 and count(app, Decision) == len(first.json["decisions"])
    other = hooks.post("weekly_metrics", week(2, 5, 0.9), delivery="d-1")
    assert other.status_code == 409


@pytest.mark.parametrize("form,body,status,code,path", [
    ("weekly_metrics", b"{not json", 400, "malformed_json", "$"),
    ("no_such_form", b"{}", 400, "unknown_form", "/hooks/no_such_form"),
    ("weekly_metrics", b"[]", 422, "schema_violation", "$"),
])
def test_bad_bodies(app, hooks, form, body, status, code, path):
    r = hooks.post(form, body)
    assert r.status_code == status and r.json["error"]["code"] == code
    assert r.json["error"]["path"] == path
    assert count(app, Fact) == 0


def test_schema_violation_names_the_path(app, hooks):
    w = week(1, 5, 0.9)
    w["effective_visits"] = "many"
    r = hooks.post("weekly_metrics", w)
    assert r.status_code == 422 and r.json["error"]["path"] == "$.effective_visits"
    del w["effective_visits"]
    r = hooks.post("weekly_metrics", w)
    assert r.status_code == 422 and "effective_visits" in r.json["error"]["message"]


def test_unknown_subject_is_422(app, hooks):
    r = hooks.post("weekly_metrics", dict(week(1, 5, 0.9), rep="nobody"))
    assert r.status_code == 422 and r.json["error"] == {
        "code": "unknown_subject", "message": "`nobody` is not in the organisation chart", "path": "$.rep"}
    assert count(app, Fact) == 0


def test_body_over_1mb_is_413(app, hooks):
    big = b'{"rep": "' + b"x" * (1024 * 1024) + b'"}'
    r = hooks.post("weekly_metrics", big)
    assert r.status_code == 413 and r.json["error"]["code"] == "body_too_large"


def test_history_feeds_streaks(app, hooks):
    hooks.post("weekly_metrics", dict(week(1, 5, 0.9), new_visit_records=0))
    r = hooks.post("weekly_metrics", dict(week(2, 5, 0.9), new_visit_records=0))
    assert by_rule(r)["拜访静默"]["value"] is True


def test_evaluate_is_a_dry_run(app, client):
    r = client.post("/v1/evaluate", json={"form": "behavior_log", "facts": {
        "rep": "east.li", "month": "2026-07", "effective_visits": 7, "needs_report": "complete",
        "needs_interviews": 2, "demos_before_conversion": 1,
        "leads": [{"lead_id": "a", "hours_since_followup": 50}, {"lead_id": "b", "hours_since_followup": 72}]}})
    assert r.status_code == 200
    assert {d["rule"]: d["value"] for d in r.json["decisions"]}["行为分"] == 50
    assert count(app, Fact) == 0 and count(app, Decision) == 0
    r = client.post("/v1/evaluate", json={"form": "behavior_log", "facts": {"rep": "east.li"}},
                    headers={"Accept-Language": "zh"})
    error = {d["rule"]: d.get("error") for d in r.json["decisions"]}["行为分"]
    assert error["code"] == "eval.missing_field" and "数据中没有" in error["message"]
    assert error["file"].endswith("scoring.rules") and error["line"] > 0     # the rule's place


def test_reload_needs_the_admin_token_and_refuses_a_bad_revision(app, client):
    assert app.test_client().post("/v1/rulesets/reload").status_code == 401
    before = client.get("/v1/rulesets/current").json["version"]
    r = client.post("/v1/rulesets/reload", json={"rev": "no-such-rev"},
                    headers={**ADMIN_HEADERS, "Accept-Language": "zh"})
    assert r.status_code == 422 and r.json["error"]["code"] == "git.unknown_revision"
    assert "没有版本 `no-such-rev`" in r.json["error"]["message"] and r.json["error"]["path"] == "$.rev"
    assert client.get("/v1/rulesets/current").json["version"] == before
    r = client.post("/v1/rulesets/reload", headers=ADMIN_HEADERS)
    assert r.status_code == 200


def test_every_route_is_in_the_openapi_document(app, client):
    spec = client.get("/openapi.json").json
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        # The workbench's pages are HTML for browsers, not the API (test_access holds who may
        # open them); the JSON their editor calls, /workbench/api/, is documented.
        if rule.endpoint == "static" or rule.endpoint.startswith("workbench_pages."):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)      # <id:x>, <decision:x>, <x>
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, (path, method)


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def test_the_front_door_leads_a_browser_to_the_workbench_and_tells_a_client_where_things_are(app):
    """`bash scripts/run.sh` prints the server's address: opened, it leads somewhere."""
    anonymous = app.test_client()
    r = anonymous.get("/", headers={"Accept": BROWSER})
    assert r.status_code == 302 and r.headers["Location"] == "/workbench/"
    # the workbench itself sends a signed-out browser on to sign in
    assert anonymous.get("/workbench/", headers={"Accept": BROWSER}).status_code == 302
    for accept in ("*/*", "application/json"):               # curl's, an API client's
        r = anonymous.get("/", headers={"Accept": accept})
        assert r.status_code == 200, r.data
        assert r.json == {"name": "trimtab", "ruleset_version": anonymous.get("/healthz").json["ruleset_version"],
                          "workbench": "/workbench/", "openapi": "/openapi.json", "health": "/healthz"}
        assert anonymous.get(r.json["openapi"]).json["paths"]["/"]["get"]["security"] == []
        assert anonymous.get(r.json["health"]).json["status"] == "ok"


def test_ops_routes(client):
    assert client.get("/healthz").json["status"] == "ok"
    assert "trimtab_rules" in client.get("/metrics").get_data(as_text=True)
    assert client.get("/nope").json["error"]["code"] == "not_found"
    assert client.delete("/healthz").status_code == 405


def test_database_down_is_503(tmp_path):
    app = create_app({"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none",
                      "MIGRATE": False, "CLIENTS": {CLIENT: SECRET}, "RULES_PATH": str(ROOT / "rules")})
    r = Hooks(app.test_client()).post("weekly_metrics", week(1, 5, 0.9))
    assert r.status_code == 503 and r.json["error"]["code"] == "database_unavailable"


def test_target_suggestion_uses_stored_history(app, client, hooks):
    base = {"region": "east", "industry_growth": 0.08, "region_factor": 1}
    for month, amount in (("2026-01", 1000000), ("2026-02", 1100000), ("2026-03", 900000),
                          ("2026-04", 1000000), ("2026-05", 1000000)):
        assert hooks.post("region_monthly", dict(base, month=month, closed_amount=amount)).status_code == 200
    r = client.post("/v1/targets/suggest", json={"rule": "动态目标池", "facts": dict(
        base, month="2026-06", closed_amount=1000000, region_factor=1.1)})
    assert r.status_code == 200, r.json
    s = r.json["suggestions"][0]
    assert r.json["history_periods"] == 5
    assert (s["value"], s["range"], s["ok"]) == (1188000, [1069200, 1306800], True)


def test_split_refuses_an_unexplained_adjustment(client):
    plan = {"region": "south", "quarter": "2026-Q3", "total_target": 1000000, "provinces": [
        {"name": "广东", "market_potential": 1, "staffing_strength": 1, "strategic_priority": 1},
        {"name": "广西", "market_potential": 1, "staffing_strength": 1, "strategic_priority": 1,
         "adjustment": 0.1}]}
    r = client.post("/v1/splits", json={"facts": plan})
    assert r.status_code == 422 and r.json["error"]["code"] == "reason_required"
    assert r.json["error"]["path"] == "$.provinces[1].reason"
    plan["provinces"][1]["reason"] = "新代理商签约"
    r = client.post("/v1/splits", json={"facts": plan})
    assert r.status_code == 200 and r.json["split"]["value"] == ["500000.00", "550000.00"]
    plan["provinces"][1]["adjustment"] = 0.2          # the shipped band: ±15% at most, reason or not
    r = client.post("/v1/splits", json={"facts": plan})
    assert r.status_code == 422 and r.json["error"]["code"] == "adjustment_out_of_range"
    assert r.json["error"]["path"] == "$.provinces[1].adjustment"


def test_forms_and_workflows_routes(client):
    assert any(f["name"] == "weekly_metrics" for f in client.get("/v1/forms").json["forms"])
    plan = client.get("/v1/forms/target_plan").json
    assert [c["constraint"] for c in plan["x-trimtab-constraints"]] == [
        "required for any adjustment", "never beyond ±15%"]
    names = [w["name"] for w in client.get("/v1/workflows").json["workflows"]]
    assert "目标变更" in names and "周一行动建议" in names
    assert client.get("/v1/workflows/目标变更").json["kind"] == "approval"
    assert client.get("/v1/workflows/nope").status_code == 404


def test_org_chart_imports_from_the_shipped_templates(app):
    c = as_admin(app.test_client())
    templates = ROOT / "server" / "templates"
    r = c.post("/v1/org/import", data=(templates / "org_chart.csv").read_bytes(),
               headers={**ADMIN_HEADERS, "Content-Type": "text/csv"})
    assert r.status_code == 200 and r.json["stored"] == 9
    r = c.post("/v1/org/import", data=(templates / "org_chart.xlsx").read_bytes(), headers=ADMIN_HEADERS)
    assert r.status_code == 200 and r.json["stored"] == 9
    people = {p["id"]: p for p in c.get("/v1/org/people").json["people"]}
    assert people["east.li"]["manager"] == "east.mgr" and people["east.li"]["hrbp"] == "hr.east"
    assert people["east.sup"]["role"] == "regional_supervisor"


def test_org_chart_with_a_bad_row_imports_nothing(app):
    c = as_admin(app.test_client())
    csv_text = "工号,姓名,角色,区域,直属上级,HRBP\nok.1,甲,rep,east,boss.9,\n,乙,rep,east,,\n"
    r = c.post("/v1/org/import", data=csv_text.encode(), headers={**ADMIN_HEADERS, "Content-Type": "text/csv"})
    assert r.status_code == 422 and r.json["error"]["code"] == "bad_rows"
    problems = r.json["error"]["problems"]
    assert {"sheet": "csv", "row": 3, "column": "A", "message": "`id` is empty"} in problems
    assert any(p["row"] == 2 and p["column"] == "E" for p in problems)      # unknown manager
    assert c.get("/v1/org/people").json["people"] == []
    assert c.post("/v1/org/import", data=b"PK\x03\x04broken", headers=ADMIN_HEADERS).status_code == 422


def test_dashboard_numbers(app, client, hooks):
    hooks.post("weekly_metrics", week(1, 4, 0.9))
    radar = {a["axis"]: a for a in client.get("/v1/dashboards/health-radar?rep=east.li").json["axes"]}
    assert radar["effective_visits"]["ratio"] == 0.9167                 # 11 of 12, rounded
    assert radar["new_opportunities"]["reference"] == 5
    assert client.get("/v1/dashboards/health-radar?rep=nobody").status_code == 404
    for month, progress in (("2026-07", 0.5), ("2026-08", 0.35)):
        hooks.post("kr_progress", {"rep": "east.li", "month": month, "kr": "k", "progress": progress,
                                   "expected": 0.5, "alignment": 0.8})
    lights = client.get("/v1/dashboards/traffic-lights").json["months"]
    assert [(m["period"], m["counts"]) for m in lights] == [("2026-07", {"green": 1}),
                                                           ("2026-08", {"red": 1})]
    spread = client.get("/v1/dashboards/completion-range").json["months"]
    assert spread[0]["regions"] == {"east": 1} and spread[1]["max"] == pytest.approx(0.7)
    assert client.get("/v1/dashboards/target-adjustments").json == {"quarters": []}


def test_history_uses_the_latest_submission_of_each_period(app, hooks):
    hooks.post("weekly_metrics", dict(week(1, 5, 0.9), new_visit_records=4))
    hooks.post("weekly_metrics", dict(week(1, 5, 0.9), new_visit_records=0))    # a correction
    r = hooks.post("weekly_metrics", dict(week(2, 5, 0.9), new_visit_records=0))
    assert by_rule(r)["拜访静默"]["value"] is True
    hooks.post("weekly_metrics", dict(week(2, 5, 0.9), new_visit_records=3))    # corrected again
    r = hooks.post("weekly_metrics", dict(week(3, 5, 0.9), new_visit_records=0))
    assert by_rule(r)["拜访静默"]["value"] is False


def test_funnel_and_account_heat(client, hooks):
    for wk, counts in (("2026-07-06", (40, 20, 8, 5)), ("2026-07-13", (50, 20, 10, 4))):
        r = hooks.post("pipeline_snapshot", dict(zip(("leads", "quotes", "contracts", "payments"), counts),
                                                 team="east", week_start=wk))
        assert r.status_code == 200, r.json
    teams = client.get("/v1/dashboards/funnel").json["teams"]
    assert teams[0]["period"] == "2026-W29"
    assert [(s["stage"], s["count"], s.get("from_previous")) for s in teams[0]["stages"]] == [
        ("leads", 50, None), ("quotes", 20, 0.4), ("contracts", 10, 0.5), ("payments", 4, 0.4)]
    for account, stage, days in (("华东银行", "contract", 3), ("沪港证券", "evaluation", 30)):
        r = hooks.post("account_status", {"account": account, "region": "east", "rep": "east.li",
                                          "date": "2026-07-10", "procurement_stage": stage,
                                          "days_since_contact": days})
        assert r.status_code == 200, r.json
    heat = client.get("/v1/dashboards/account-heat").json["regions"]
    assert heat[0]["region"] == "east" and heat[0]["counts"] == {"green": 1, "red": 1}


def test_the_audit_log_refuses_updates_and_deletes(app):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError
    from trimtab.server.domain import audit
    from trimtab.server.storage.models import AuditEntry
    with app.extensions["trimtab.sessions"]() as s, s.begin():
        audit.append(s, action="test", subject="x", actor="y", details={}, ruleset_version="v")
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError) as info:
            with app.extensions["trimtab.engine"].begin() as conn:
                conn.execute(text(statement))
        assert "append-only" in str(info.value)
    assert count(app, AuditEntry) == 1


@pytest.mark.parametrize("db_kind", ["postgresql"])
@pytest.mark.slow
def test_a_webhook_survives_the_database_dropping_its_connections(app, hooks):
    """A database restart drops pooled connections; the next webhook still answers 200 and the
    fact is stored once (the pool does not ping, so the webhook retries on a fresh connection)."""
    import psycopg
    from serverkit import PG_ADMIN
    assert hooks.post("weekly_metrics", week(1, 5, 0.9)).status_code == 200
    database = app.config["DATABASE_URL"].rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        killed = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               "WHERE datname = %s AND pid <> pg_backend_pid()", (database,)).fetchone()[0]
    assert killed >= 1                          # the pooled connection really was dropped
    r = hooks.post("weekly_metrics", week(2, 5, 0.88))
    assert r.status_code == 200, r.json
    assert count(app, Fact) == 2


def test_nan_and_infinity_are_not_json_numbers(app, hooks):
    """Python's json module reads NaN and Infinity; JSON has neither, and no rule may see one."""
    for literal in ("NaN", "Infinity", "-Infinity"):
        body = json.dumps(week(1, 5, 0.9)).replace('"pipeline_coverage": 0.9',
                                                   f'"pipeline_coverage": {literal}').encode()
        r = hooks.post("weekly_metrics", body)
        assert r.status_code == 400 and r.json["error"]["code"] == "malformed_json", r.json
        assert literal in r.json["error"]["message"]
    assert count(app, Fact) == 0
