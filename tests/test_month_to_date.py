"""Daily logs that add up into the month through the server (issue 15, deliverable 6): the
webhook of each day is scored on the month so far, read from the stored history, and a
second log of a day replaces the first."""
from __future__ import annotations

from sqlalchemy import select

from trimtab.server.storage.models import Decision, Fact


def _day(date: str, visits: int) -> dict:
    return {"rep": "east.li", "date": date, "effective_visits": visits}


def _points(answer) -> int:
    assert answer.status_code == 200, answer.json
    return next(d["value"] for d in answer.json["decisions"] if d["rule"] == "本月拜访分")


def test_daily_logs_score_the_month_so_far(app, hooks):
    assert _points(hooks.post("behavior_day", _day("2026-07-31", 9))) == 60
    assert _points(hooks.post("behavior_day", _day("2026-08-03", 3))) == 20
    assert _points(hooks.post("behavior_day", _day("2026-08-04", 4))) == 40   # 3 + 4, not 20 + 20
    assert _points(hooks.post("behavior_day", _day("2026-08-03", 2))) == 0    # the 3rd again: 2 visits
    assert _points(hooks.post("behavior_day", _day("2026-08-05", 0))) == 40   # 2 + 4 + 0
    with app.extensions["trimtab.sessions"]() as s:
        stored = s.execute(select(Fact.period, Decision.result)
                           .join(Fact, Decision.fact_id == Fact.id)
                           .where(Decision.rule == "本月拜访分",
                                  Decision.superseded_at.is_(None))
                           .order_by(Fact.period)).all()
    assert [(period, result["value"]) for period, result in stored] == [
        ("2026-07-31", 60), ("2026-08-03", 0), ("2026-08-04", 40), ("2026-08-05", 40)]
