"""The reports' fired alerts are found by the partial index that holds them and no other row
(migration 0021), on SQLite and PostgreSQL; the rule's and the plain date index are gone.

Every webhook inserts a decision per rule into every index of `decisions`; the weekly reports
read one thing by date — the current fired alerts (server/domain/reports.py `_fired_alerts`).
The index must still serve that query as SQLAlchemy writes it (a partial index is used only
when the query's condition implies the index's), and the report must still find exactly the
week's fired alerts: a superseded one, an unfired one, another kind's or another week's stays
out."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, insert, inspect, text

from serverkit import migrated_database
from trimtab.server.domain import reports
from trimtab.server.storage.db import make_engine, session_factory
from trimtab.server.storage.models import Decision

WEEK = dt.datetime(2026, 11, 23)
WEEKS = 30                          # of history before the reported week
SUBJECTS = [f"rep{n:03d}" for n in range(40)]


def rows() -> list[dict]:
    """Seven decisions a subject and a week, one of them a fired alert, one in three of those
    superseded; the reported week's last."""
    out = []
    for w in range(WEEKS + 1):
        at = WEEK - dt.timedelta(weeks=WEEKS - w) + dt.timedelta(hours=1)
        for s in SUBJECTS:
            for r in range(7):
                fired_alert = r == 0
                out.append({"fact_id": None, "form": "weekly_metrics", "subject": s,
                            "period": f"W{w:02d}", "rule": f"rule {r}",
                            "kind": "alert" if r < 5 else "score", "fired": fired_alert,
                            "result": {"level": "red" if fired_alert else None},
                            "ruleset_version": "v1", "created_at": at,
                            "superseded_at": at if fired_alert and int(s[3:]) % 3 == 0 else None})
    return out


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    url, drop = migrated_database(request.param, tmp_path)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(Decision), rows())
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE decisions"))
        else:
            conn.execute(text("ANALYZE"))
    yield engine
    engine.dispose()
    drop()


def test_the_weeks_fired_alerts_are_read_through_their_own_index(engine):
    names = {ix["name"] for ix in inspect(engine).get_indexes("decisions")}
    assert "ix_decisions_fired_alerts" in names
    assert not names & {"ix_decisions_rule", "ix_decisions_created_at"}

    statements: list[tuple[str, object]] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, sql, params, *_: statements.append((sql, params)))
    with session_factory(engine)() as session:
        found = reports._fired_alerts(session, WEEK, WEEK + dt.timedelta(weeks=1))
    # the week's fired alerts, current ones only: two of every three subjects
    assert sorted(r.subject for r in found) == [s for s in SUBJECTS if int(s[3:]) % 3]
    assert {r.rule for r in found} == {"rule 0"}

    (sql, params), = [s for s in statements if "FROM decisions" in s[0]]
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        plan = "\n".join(str(r) for r in conn.exec_driver_sql(explain + sql, params))
    assert "ix_decisions_fired_alerts" in plan, plan
