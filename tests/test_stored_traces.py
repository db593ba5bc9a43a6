"""A stored decision keeps its trace compact (records, no words: plan.stored_doc) and is
explained when someone reads it (why.Reader): in the reader's language, in the very lines the
decision had when it was made; a version that cannot be loaded any more answers without them
and says so; rows stored with their lines (before compact traces) read as they always did."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from serverkit import week
from trimtab.dsl.decision import Decision as Decided
from trimtab.server.domain import period_decisions, plan as plans
from trimtab.server.domain.plan import COMPACT
from trimtab.server.storage.models import Decision, DecisionSet

SUBMISSIONS = [
    ("weekly_metrics", dict(week(1, 5, 0.9), new_visit_records=0)),
    ("weekly_metrics", dict(week(2, 5, 0.9), new_visit_records=0)),        # a streak fires
    ("weekly_metrics", dict(week(3, 2, 0.5), contract_amount=100000, negative_feedback=4)),
    ("receivables", {"account": "沪港证券", "rep": "east.li", "date": "2026-07-21",
                     "amount": 120000.5, "days_outstanding": 75}),
    ("kr_progress", {"rep": "east.li", "month": "2026-07", "kr": "新客 12 家", "progress": 0.4,
                     "expected": 0.6, "alignment": 0.5}),
]
LANGS = ("zh", "en")


@pytest.fixture
def app_config():
    return {"LANG": "zh"}


@pytest.fixture
def stored(app, hooks, monkeypatch):
    """(app, admin client, {decision id: the dsl Decision it stored}) after SUBMISSIONS, made
    in zh (the submitter's language)."""
    made = []
    real = plans.make

    def keeping(*args, **kw):
        planned = real(*args, **kw)
        made.append(planned)
        return planned
    monkeypatch.setattr(plans, "make", keeping)
    by_fact = {}
    for form, facts in SUBMISSIONS:
        r = hooks.post(form, facts, lang="zh")
        assert r.status_code == 200, r.json
        by_fact[r.json["fact_id"]] = {d.rule: d for d in made[-1].decisions}
    with app.extensions["trimtab.sessions"]() as s:
        rows = s.execute(select(Decision.id, Decision.fact_id, Decision.rule)).all()
    return app, hooks.client, {i: by_fact[f][rule] for i, f, rule in rows}


def _why(client, decision_id: int, lang: str) -> dict:
    r = client.get(f"/v1/decisions/{decision_id}/why", headers={"Accept-Language": lang})
    assert r.status_code == 200, r.json
    return r.json


def _results(app) -> dict:
    with app.extensions["trimtab.sessions"]() as s:
        return dict(s.execute(select(Decision.id, Decision.result)).all())


def test_a_stored_decision_keeps_a_compact_trace_and_no_lines(stored):
    app, _, decisions = stored
    results = _results(app)
    assert len(results) == len(decisions) > 10
    for decision_id, result in results.items():
        d = decisions[decision_id]
        assert "trace" not in result and result[COMPACT]["rule"] == d.rule
        assert Decided.revive(d.compiled, d.facts, result[COMPACT]).trace == d.trace
        if d.error is None:          # what queries, reports and dashboards read is still there
            old = d.to_json("zh")
            assert {k: result[k] for k in ("value", "explanation")} == \
                {k: old[k] for k in ("value", "explanation")}
            assert all(result[k] == v for k, v in old.items() if k != "trace")


def test_why_renders_the_lines_the_old_path_stored_in_the_readers_language(stored):
    app, client, decisions = stored
    traced = 0
    for decision_id, d in decisions.items():
        for lang in LANGS:
            old = d.to_json(lang)          # what the webhook stored before, had it been in `lang`
            got = _why(client, decision_id, lang)
            assert got["trace"] == old.get("trace", []) and got["trace_unavailable"] is None
            assert got["explanation"] == old.get("explanation") and got["result"] == old
            traced += bool(got["trace"])
    assert traced > 10
    # the decisions list renders them alike
    for lang in LANGS:
        items = client.get("/v1/decisions?limit=500", headers={"Accept-Language": lang}).json["items"]
        assert len(items) == len(decisions)
        for item in items:
            assert item["result"] == decisions[item["id"]].to_json(lang)
            assert item["trace_unavailable"] is None


@pytest.mark.parametrize("version", ["not-a-commit", "0" * 40])
def test_a_version_that_cannot_be_loaded_answers_without_the_trace_and_says_so(stored, version):
    app, client, decisions = stored
    decision_id = next(i for i, d in decisions.items() if d.error is None and d.trace)
    with app.extensions["trimtab.sessions"]() as s, s.begin():     # its set's version (all its decisions')
        set_id = period_decisions.find(s, decision_id).set_id
        s.execute(update(DecisionSet).where(DecisionSet.id == set_id).values(ruleset_version=version))
        in_set = set(s.scalars(select(Decision.id).where(Decision.set_id == set_id)))
    for lang, words in (("zh", "无法加载"), ("en", "cannot be loaded")):
        got = _why(client, decision_id, lang)
        assert got["trace"] == [] and words in got["trace_unavailable"] and version in got["trace_unavailable"]
        assert got["rule_text"] is None and "trace" not in got["result"] and COMPACT not in got["result"]
        assert got["explanation"] == decisions[decision_id].to_json("zh")["explanation"]     # as stored
        listed = client.get(f"/v1/decisions?version={version}",
                            headers={"Accept-Language": lang}).json["items"]
        assert decision_id in in_set and {i["id"] for i in listed} == in_set
        for item in listed:
            assert words in item["trace_unavailable"] and "trace" not in item["result"]
    page = client.get(f"/workbench/why/{decision_id}?lang=en")
    assert page.status_code == 200 and b'id="why-no-trace"' in page.data


def test_rows_stored_with_their_lines_read_as_stored(stored):
    """A decision stored before compact traces: its lines, in its submitter's language, whoever
    reads it (nothing to render them from)."""
    app, client, decisions = stored
    old_rows = {i: d.to_json("zh") for i, d in decisions.items()}
    with app.extensions["trimtab.sessions"]() as s, s.begin():
        for decision_id, doc in old_rows.items():       # the element of its set
            set_id = period_decisions.find(s, decision_id).set_id
            elements = s.get(DecisionSet, set_id).decisions
            elements[decision_id - set_id] = {**elements[decision_id - set_id], "result": doc}
            s.execute(update(DecisionSet).where(DecisionSet.id == set_id).values(decisions=elements))
    for decision_id, doc in old_rows.items():
        got = _why(client, decision_id, "en")
        assert got["result"] == doc and got["trace"] == doc.get("trace", [])
        assert got["trace_unavailable"] is None
    items = client.get("/v1/decisions?limit=500", headers={"Accept-Language": "en"}).json["items"]
    assert {i["id"]: i["result"] for i in items} == old_rows
