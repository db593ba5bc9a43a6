"""What reads decisions by rule or by date still finds them through an index (migrations 0021
and 0022), on SQLite and PostgreSQL: the reports' fired alerts through the partial index that
holds the sets with one and no other set, and a rule's page of `/v1/decisions` — a rare rule's
too — through its form's sets by (form, id).

Every webhook inserts its decisions' set into every index of `decision_sets`, so each index is
shaped to what reads it.  The reports read one thing by date — the current fired alerts
(server/domain/reports.py `_fired_alerts`) — and must still find exactly the week's: a
superseded one, an unfired one, another kind's or another week's stays out.  A partial index
is used only when the query's condition implies the index's; on PostgreSQL that must hold in a
prepared statement's generic plan too (the schedules run the same query for every recipient)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import event, insert, inspect, text

from serverkit import as_admin, make_app, migrated_database
from trimtab.server.domain import period_decisions, reports
from trimtab.server.storage.db import make_engine, session_factory
from trimtab.server.storage.models import DecisionSet

WEEK = dt.datetime(2026, 11, 23)
WEEKS = 30                          # of history before the reported week
SUBJECTS = [f"rep{n:03d}" for n in range(40)]
RARE = "目标变更"                    # a rule with a handful of decisions among thousands


def sets() -> list[dict]:
    """Seven decisions a subject and a week, one of them a fired alert; one subject in three
    sent the week again, the alert no longer firing; the reported week's last.  RARE decided
    for three subjects in one week.  Each set's id a block apart, as the writers give them."""
    out = []

    def add(form, subject, period, elements, at, superseded=None):
        out.append({"id": (len(out) + 1) * period_decisions.BLOCK, "fact_id": None, "form": form,
                    "subject": subject, "period": period, "ruleset_version": "v1", "created_at": at,
                    "superseded_at": superseded, "decisions": elements, "kept": False,
                    "fired_alerts": any(e["kind"] == "alert" and e["fired"] for e in elements)})

    def week(fired):
        return [{"rule": f"rule {r}", "kind": "alert" if r < 5 else "score", "fired": fired and r == 0,
                 "result": {"level": "red" if fired and r == 0 else None}, "error_code": None}
                for r in range(7)]
    for w in range(WEEKS + 1):
        at = WEEK - dt.timedelta(weeks=WEEKS - w) + dt.timedelta(hours=1)
        for s in SUBJECTS:
            sent_again = int(s[3:]) % 3 == 0
            add("weekly_metrics", s, f"W{w:02d}", week(True), at, at if sent_again else None)
            if sent_again:
                add("weekly_metrics", s, f"W{w:02d}", week(False), at)
            if w == WEEKS // 2 and s in SUBJECTS[:3]:
                add("target_change", s, f"W{w:02d}", [{"rule": RARE, "kind": "approval",
                                                       "fired": True, "result": {}, "error_code": None}], at)
    return out


@pytest.fixture(params=["sqlite", "postgresql"])
def seeded(request, tmp_path):
    """(the database's URL, an engine on it) with rows() stored and the statistics gathered."""
    url, drop = migrated_database(request.param, tmp_path)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(DecisionSet), sets())
        conn.execute(text("ANALYZE decision_sets" if engine.dialect.name == "postgresql" else "ANALYZE"))
    yield url, engine
    engine.dispose()
    drop()


def statements(engine) -> list[tuple[str, object]]:
    """Every statement `engine` sends from now on, as sent: (SQL, parameters)."""
    sent: list[tuple[str, object]] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, sql, params, *_: sent.append((sql, params)))
    return sent


def plan_of(engine, sql: str, params, generic: bool = False) -> str:
    """The plan of a statement as it was sent; `generic`: as a prepared statement's generic
    plan (PostgreSQL), whose parameters are unknown when it is planned."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return "\n".join(str(r) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
        if not generic:
            return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, params))
        names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", sql)))
        prepared = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", sql)
        conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        conn.exec_driver_sql("PREPARE under_test AS " + prepared.replace("%%", "%"))
        args = ", ".join(conn.exec_driver_sql("SELECT quote_literal(%(v)s::text)", {"v": str(params[n])}).scalar()
                         for n in names)
        return "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN EXECUTE under_test ({args})"))


def test_the_indexes_by_rule_and_date_are_the_ones_their_readers_use(seeded):
    _url, engine = seeded
    names = {ix["name"] for ix in inspect(engine).get_indexes("decision_sets")}
    assert {"ix_decision_sets_fired_alerts", "ix_decision_sets_form_id"} <= names
    assert not names & {"ix_decision_sets_created_at", "ix_decision_sets_form"}


def test_the_weeks_fired_alerts_are_read_through_their_own_index(seeded):
    _url, engine = seeded
    sent = statements(engine)
    with session_factory(engine)() as session:
        found = reports._fired_alerts(session, WEEK, WEEK + dt.timedelta(weeks=1))
    # the week's fired alerts, current ones only: two of every three subjects
    assert sorted(r.subject for r in found) == [s for s in SUBJECTS if int(s[3:]) % 3]
    assert {r.rule for r in found} == {"rule 0"}

    (sql, params), = [s for s in sent if "FROM decisions" in s[0]]
    assert "ix_decision_sets_fired_alerts" in plan_of(engine, sql, params)
    if engine.dialect.name == "postgresql":
        assert "ix_decision_sets_fired_alerts" in plan_of(engine, sql, params, generic=True)


def test_a_rare_rules_page_of_decisions_is_read_through_the_rules_index(seeded):
    url, engine = seeded
    app = make_app(url)
    try:
        sent = statements(app.extensions["trimtab.engine"])
        r = as_admin(app.test_client()).get("/v1/decisions", query_string={"rule": RARE})
        assert r.status_code == 200, r.json
        assert sorted(d["subject"] for d in r.json["items"]) == SUBJECTS[:3]
    finally:
        app.extensions["trimtab.engine"].dispose()
    (sql, params), = [s for s in sent if "FROM decisions" in s[0] and "rule" in s[0]]
    assert "ix_decision_sets_form_id" in plan_of(engine, sql, params)
