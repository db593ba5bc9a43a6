"""Platform events as the platforms send them (issue 17, deliverable 1): 飞书多维表格 record
events and 简道云 data pushes, from the documented examples (tests/platform_fixtures.py),
carry the fintech case to its week-5 yellow alert; a deleted record's fact is retracted and its
period decided again on what remains; retried events store nothing new."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from platform_fixtures import FEISHU_RECORD_CHANGED, FEISHU_V2, feishu_event, jdy_push
from serverkit import week
from simulator import Simulator
from platformkit import SECRETS, platforms_config, signed_jdy

YELLOW = "健康度黄灯"
WEEK5 = "2026-W32"
WEEKS = [(5, 0.9), (5, 0.88), (3, 0.85), (3, 0.8)]      # rules/demo/fintech_week5.json's history


def rows(app):
    """(facts: id → (period, retracted), current decisions of the yellow rule: period → (fact, fired),
    audit actions)."""
    from trimtab.server.storage.models import AuditEntry, Decision, Fact
    with app.extensions["trimtab.sessions"]() as s:
        facts = {f.id: (f.period, f.retracted_at is not None) for f in s.scalars(select(Fact))}
        current = {d.period: (d.fact_id, d.fired) for d in s.scalars(select(Decision).where(
            Decision.rule == YELLOW, Decision.superseded_at.is_(None)))}
        decisions = s.scalar(select(func.count()).select_from(Decision))
        audit = [a.action for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    return facts, current, decisions, audit


def fintech_history(sim):
    for n, (opportunities, coverage) in enumerate(WEEKS, 1):
        r = sim.push("weekly_metrics", week(n, opportunities, coverage))
        assert r.status_code == 200, r.json


@pytest.fixture
def app_config() -> dict:
    return platforms_config()


@pytest.fixture
def world(app, client):
    """The app on SQLite and on PostgreSQL, every platform configured, the org chart loaded."""
    return app, client


def _feishu(app, client):
    sim = Simulator("feishu", client, SECRETS["feishu"], app.config["TZ"])
    mapping = sim._mapping("weekly_metrics")
    return sim, mapping, lambda facts: sim._record("weekly_metrics", facts, mapping["fields"], {})


def test_the_documented_feishu_event_is_read_not_refused(world):
    """The example as 飞书 publishes it: its table is no form's (no mapping names it), which is
    what the answer says — not a 422 for the event's shape."""
    app, client = world
    sim, _mapping, _ = _feishu(app, client)
    for example in (FEISHU_RECORD_CHANGED, FEISHU_V2):
        r = sim.lark_event(example)
        assert r.status_code == 422 and r.json["error"]["code"] == "unknown_table", r.json
        assert "tblOaqBWfGeabcef" in r.json["error"]["message"]


def test_a_feishu_record_event_raises_the_yellow_alert_and_its_deletion_retracts_it(world):
    app, client = world
    sim, mapping, bitable = _feishu(app, client)
    fintech_history(sim)
    week5 = json.loads((sim_root() / "rules/demo/fintech_week5.json").read_text(encoding="utf-8"))["facts"]
    calm = dict(week5, new_opportunities=5, pipeline_coverage=0.9)      # the same week, no alert
    event = feishu_event(FEISHU_V2, mapping["table_id"], "evt-w5", [
        ("record_added", "recCalm", bitable(calm)), ("record_added", "recW5", bitable(week5))])
    r = sim.lark_event(event)
    assert r.status_code == 200, r.json
    assert [a["record_id"] for a in r.json["actions"]] == ["recCalm", "recW5"]
    fired = [next(d for d in a["decisions"] if d["rule"] == YELLOW)["value"] for a in r.json["actions"]]
    assert fired == [False, True]
    facts, current, decisions, _ = rows(app)
    w5 = sorted(i for i, (period, _) in facts.items() if period == WEEK5)
    assert current[WEEK5] == (w5[1], True)
    # 飞书 retries the event: the same answers, nothing stored again.
    again = sim.lark_event(event)
    assert again.status_code == 200 and again.headers["X-Trimtab-Replayed"] == "true"
    assert again.json == r.json and rows(app)[:3] == (facts, current, decisions)
    # The week-5 record is deleted: its fact is retracted, the week decided again on the calm one.
    gone = feishu_event(FEISHU_RECORD_CHANGED, mapping["table_id"], "evt-del",
                        [("record_deleted", "recW5", bitable(week5))])
    r = sim.lark_event(gone)
    assert r.status_code == 200, r.json
    [done] = r.json["actions"]
    assert done["retracted"] == [w5[1]] and done["periods"][0]["fact_id"] == w5[0]
    assert next(d for d in done["periods"][0]["decisions"] if d["rule"] == YELLOW)["value"] is False
    facts, current, decisions2, audit = rows(app)
    assert facts[w5[1]] == (WEEK5, True) and facts[w5[0]] == (WEEK5, False)
    assert current[WEEK5] == (w5[0], False) and audit.count("fact_retracted") == 1
    # The same deletion again (retried, or sent anew): retracted once.
    assert sim.lark_event(gone).headers["X-Trimtab-Replayed"] == "true"
    anew = sim.lark_event(dict(gone, header=dict(gone["header"], event_id="evt-del-2")))
    assert anew.status_code == 200 and anew.json["actions"][0]["retracted"] == []
    assert rows(app) == (facts, current, decisions2, audit)
    # The calm record deleted too: no fact left in the week, no current decision for it.
    r = sim.lark_event(feishu_event(FEISHU_RECORD_CHANGED, mapping["table_id"], "evt-del-3",
                                    [("record_deleted", "recCalm", bitable(calm))]))
    assert r.status_code == 200 and r.json["actions"][0]["periods"][0]["fact_id"] is None
    assert WEEK5 not in rows(app)[1]


def test_a_feishu_edit_carries_only_the_changed_fields(world):
    app, client = world
    sim, mapping, bitable = _feishu(app, client)
    fintech_history(sim)
    week5 = json.loads((sim_root() / "rules/demo/fintech_week5.json").read_text(encoding="utf-8"))["facts"]
    calm = dict(week5, pipeline_coverage=0.9, new_opportunities=5)
    r = sim.lark_event(feishu_event(FEISHU_V2, mapping["table_id"], "evt-1",
                                    [("record_added", "recW5", bitable(calm))]))
    assert r.status_code == 200, r.json
    changed = {k: v for k, v in bitable(week5).items()
               if mapping["fields"][k] in ("pipeline_coverage", "new_opportunities")}
    assert len(changed) == 2
    r = sim.lark_event(feishu_event(FEISHU_V2, mapping["table_id"], "evt-2",
                                    [("record_edited", "recW5", changed)]))
    assert r.status_code == 200, r.json
    [edit] = r.json["actions"]
    assert next(d for d in edit["decisions"] if d["rule"] == YELLOW)["value"] is True
    assert edit["period"] == WEEK5


def test_a_jiandaoyun_push_raises_the_yellow_alert_removal_retracts_recovery_restores(world):
    app, client = world
    sim = Simulator("jiandaoyun", client, SECRETS["jiandaoyun"], app.config["TZ"])
    fintech_history(sim)
    mapping = sim._mapping("weekly_metrics")
    week5 = json.loads((sim_root() / "rules/demo/fintech_week5.json").read_text(encoding="utf-8"))["facts"]
    values = sim._record("weekly_metrics", week5, mapping["fields"], {})

    def push(op, delivery):
        body = json.dumps(jdy_push(op, "605b5f68255d4845a73d3c0a", values), ensure_ascii=False).encode()
        return _signed(client, body, delivery)
    r = push("data_create", "d-1")
    assert r.status_code == 200 and next(d for d in r.json["decisions"] if d["rule"] == YELLOW)["value"]
    facts, current, _, _ = rows(app)
    [w5] = [i for i, (period, _) in facts.items() if period == WEEK5]
    assert current[WEEK5] == (w5, True)
    r = push("data_remove", "d-2")
    assert r.status_code == 200 and r.json["retracted"] == [w5], r.json
    assert WEEK5 not in rows(app)[1] and rows(app)[0][w5] == (WEEK5, True)
    before = rows(app)
    assert push("data_remove", "d-2").headers["X-Trimtab-Replayed"] == "true" and rows(app) == before
    r = push("data_recover", "d-3")             # the record comes back as it is now
    assert r.status_code == 200 and next(d for d in r.json["decisions"] if d["rule"] == YELLOW)["value"]
    assert rows(app)[1][WEEK5] == (r.json["fact_id"], True)


def test_the_old_feishu_export_url_redirects(world):
    _app, client = world
    r = client.get("/platforms/feishu_bitable/forms/weekly_metrics")
    assert r.status_code == 308 and r.headers["Location"].endswith("/platforms/feishu/forms/weekly_metrics")


def _signed(client, body: bytes, delivery: str):
    return signed_jdy(client, "/platforms/jiandaoyun/hooks/weekly_metrics", body, delivery)


def sim_root():
    from conftest import ROOT
    return ROOT
