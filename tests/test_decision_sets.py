"""A submission's decisions are stored as one set (migration 0022, server/domain/period_decisions.py)
and read as the rows they were, through the view `decisions`: on SQLite and PostgreSQL, by the
two-statement writer and the transactional one.

One decision per rule and period is current throughout.  A rule that a new rule-set version no
longer has stays current through a resubmission of its period — the same decision, its id and
its fact — kept in the superseded set, and is superseded when a later submission decides the
rule again.  The two-statement writer leaves such a period to the transactional one."""
from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from serverkit import week
from trimtab.server.domain import rulesets
from trimtab.server.storage.models import Decision, DecisionSet

ROOT = Path(__file__).resolve().parents[1]
DROPPED = "拜访频次不足"                # a weekly_metrics alert (rules/scoring.rules)


def rules_without(tmp_path: Path, rule: str) -> str:
    """A copy of the shipped rules folder without alert `rule`."""
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", folder)
    path = folder / "scoring.rules"
    text = path.read_text(encoding="utf-8")
    block = re.search(rf"^alert {rule} .*?\n\n", text, re.M | re.S)
    assert block, f"alert {rule} is not in scoring.rules any more"
    path.write_text(text.replace(block.group(0), ""), encoding="utf-8")
    return str(folder)


def serve(app, ruleset) -> None:
    """`app` serves `ruleset` from now on (the recorded version is not looked at again)."""
    app.extensions["trimtab.rules_follower"].next_at = time.monotonic() + 3600
    app.extensions["trimtab.rules"].swap(lambda: ruleset)


def current(app, period: str) -> dict:
    """{rule: (id, fact id)} of the period's current decisions; one a rule."""
    with app.extensions["trimtab.sessions"]() as s:
        rows = s.execute(select(Decision.rule, Decision.id, Decision.fact_id).where(
            Decision.form == "weekly_metrics", Decision.period == period,
            Decision.superseded_at.is_(None))).all()
    assert len(rows) == len({r.rule for r in rows}), rows
    return {r.rule: (r.id, r.fact_id) for r in rows}


def why(client, decision_id: int) -> dict:
    r = client.get(f"/v1/decisions/{decision_id}/why")
    assert r.status_code == 200, r.json
    return r.json


@pytest.mark.parametrize("db_kind, writer", [("sqlite", "transactional"),
                                             ("postgresql", "two-statement"),
                                             ("postgresql", "transactional")])
def test_a_rule_a_new_version_dropped_stays_current_until_decided_again(app, hooks, tmp_path, writer):
    if writer == "transactional":
        app.extensions["trimtab.pg_direct"] = None
    shipped = rulesets.load_for(app.config)
    smaller = rulesets.load_for({**app.config, "RULES_PATH": rules_without(tmp_path, DROPPED)})
    assert DROPPED in {r.name for r in shipped.rules} - {r.name for r in smaller.rules}

    first = hooks.post("weekly_metrics", week(1, 3, 2.0), delivery="d1")
    assert first.status_code == 200, first.json
    period = first.json["period"]
    before = current(app, period)
    assert DROPPED in before and {f for _i, f in before.values()} == {first.json["fact_id"]}

    serve(app, smaller)                     # the period sent again under a version without it
    second = hooks.post("weekly_metrics", week(1, 4, 2.5), delivery="d2")
    assert second.status_code == 200, second.json
    after = current(app, period)
    assert set(after) == set(before)
    assert after[DROPPED] == before[DROPPED]                    # the same decision, still current
    assert {after[r][1] for r in after if r != DROPPED} == {second.json["fact_id"]}
    assert why(hooks.client, before[DROPPED][0])["current"] is True
    other = next(r for r in before if r != DROPPED)
    assert why(hooks.client, before[other][0])["current"] is False

    serve(app, shipped)                     # and under one that decides it again
    third = hooks.post("weekly_metrics", week(1, 5, 3.0), delivery="d3")
    assert third.status_code == 200, third.json
    last = current(app, period)
    assert set(last) == set(before) and {f for _i, f in last.values()} == {third.json["fact_id"]}
    assert why(hooks.client, before[DROPPED][0])["current"] is False
    with app.extensions["trimtab.sessions"]() as s:             # three sets, one of them the head
        sets = s.execute(select(DecisionSet.fact_id, DecisionSet.superseded_at.is_(None),
                                DecisionSet.kept).where(DecisionSet.period == period)
                         .order_by(DecisionSet.id)).all()
        stored = s.scalar(select(func.count()).select_from(Decision).where(Decision.period == period))
    assert [tuple(r) for r in sets] == [(first.json["fact_id"], False, False),
                                        (second.json["fact_id"], False, False),
                                        (third.json["fact_id"], True, False)]
    assert stored == len(before) + (len(before) - 1) + len(before)


@pytest.mark.parametrize("db_kind", ["sqlite", "postgresql"])
def test_each_decision_is_found_by_its_id_and_a_page_follows_the_ids(app, hooks):
    """Ids a block apart from one submission to the next: a decision by its id, and the pages
    of /v1/decisions in id order, every decision once."""
    for n in range(1, 4):
        assert hooks.post("weekly_metrics", week(n, 3, 2.0), delivery=f"d{n}").status_code == 200
    with app.extensions["trimtab.sessions"]() as s:
        ids = list(s.scalars(select(Decision.id).order_by(Decision.id)))
    assert len(ids) == len(set(ids)) > 3
    paged, after = [], 0
    while True:
        r = hooks.client.get("/v1/decisions", query_string={"after": after, "limit": 4})
        assert r.status_code == 200, r.json
        got = [d["id"] for d in r.json["items"]]
        if not got:
            break
        paged += got
        after = got[-1]
    assert paged == ids
    for i in ids:
        assert why(hooks.client, i)["id"] == i
    assert hooks.client.get(f"/v1/decisions/{ids[-1] + 1}/why").status_code == 404
    # ids pass 2^31 after 8 million submissions (a block of 256 each): still found, and paged
    high = 3 * 2 ** 31
    with app.extensions["trimtab.sessions"]() as s, s.begin():
        s.add(DecisionSet(id=high, fact_id=None, form="weekly_metrics", subject="east.li",
                          period="2031-W01", ruleset_version="v1", decisions=[
                              {"rule": DROPPED, "kind": "alert", "fired": True,
                               "result": {"level": "yellow"}, "error_code": None}]))
    assert why(hooks.client, high)["rule"] == DROPPED
    r = hooks.client.get("/v1/decisions", query_string={"after": high - 1})
    assert [d["id"] for d in r.json["items"]] == [high]


@pytest.mark.parametrize("db_kind", ["sqlite", "postgresql"])
def test_sets_that_decide_other_rules_keep_the_rest_current(db_kind, tmp_path):
    """period_decisions.take and store on their own: a set whose rules the next does not
    decide at all (a silence alert beside a daily form's facts, a version that renamed every
    rule) steps aside as head, its decisions kept current; a later set that decides one of
    them again supersedes that one only."""
    import datetime as dt

    from serverkit import migrated_database
    from trimtab.server.domain import period_decisions as pd
    from trimtab.server.storage.db import make_engine, session_factory

    url, drop = migrated_database(db_kind, tmp_path)
    engine = make_engine(url)

    def write(rules, minute):
        with session_factory(engine)() as s, s.begin():
            at = dt.datetime(2026, 7, 13, 9, minute)
            pd.take(s, "daily", "east.li", "2026-07-13", rules, at, new_head=True)
            return pd.store(s, None, "daily", "east.li", "2026-07-13", "v1", at,
                            [{"rule": r, "kind": "alert", "fired": True, "result": {"level": "red"},
                              "error_code": None} for r in rules])

    def now_current():
        with session_factory(engine)() as s:
            return dict(s.execute(select(Decision.rule, Decision.id).where(
                Decision.period == "2026-07-13", Decision.superseded_at.is_(None))).all())
    try:
        a = write(["a", "b"], 0)
        c = write(["c"], 1)
        assert now_current() == {"a": a, "b": a + 1, "c": c}
        again = write(["a", "c"], 2)
        assert now_current() == {"a": again, "b": a + 1, "c": again + 1}
        with session_factory(engine)() as s:
            heads = s.scalars(select(DecisionSet.id).where(DecisionSet.superseded_at.is_(None))).all()
            assert heads == [again]
            assert pd.find(s, a).superseded_at == dt.datetime(2026, 7, 13, 9, 2)     # its own time
            assert pd.find(s, a + 1).superseded_at is None
            assert pd.find(s, c).superseded_at == dt.datetime(2026, 7, 13, 9, 2)
    finally:
        engine.dispose()
        drop()
