"""Issue 12, parts 4 and 5 through the server, on SQLite and PostgreSQL: streaks over the
calendar (a week nobody submitted breaks them) through webhooks, and a rep who stops
submitting raised by the scheduler — once per silent stretch."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from serverkit import Hooks, as_admin, bearer, week
from trimtab.server.storage.models import Decision, OutboxMessage, Silence
from trimtab.server.domain.rulesets import load_for
from trimtab.server.jobs.schedules import run_due

ROUTES = {"default": "dt"}


def _monday(day: str, **changes) -> dict:
    facts = week(1, 5, 0.9)
    facts.update(week_start=day, **changes)
    return facts


def _quiet(hooks, day):
    """A week with no new visit records: `拜访静默` fires on two of them running."""
    body = hooks.post("weekly_metrics", _monday(day, new_visit_records=0)).get_json()
    return {d["rule"]: d for d in body["decisions"]}


def _stored(app, rule):
    with app.extensions["trimtab.sessions"]() as s:
        return s.scalars(select(Decision).where(Decision.rule == rule).order_by(Decision.id)).all()


def test_a_week_nobody_submitted_breaks_a_streak(app, org):
    hooks = Hooks(as_admin(app.test_client()))
    _quiet(hooks, "2025-12-15")                                   # 2025-W51
    w01 = _quiet(hooks, "2025-12-29")                             # 2026-W01; W52 never came
    assert w01["拜访静默"]["value"] is False
    # the lines are rendered when read (a stored decision keeps its trace compact)
    trace = hooks.client.get(f"/v1/decisions/{_stored(app, '拜访静默')[-1].id}/why").get_json()["trace"]
    assert any("2025-W52" in line for line in trace), trace
    _quiet(hooks, "2026-07-06")                                   # W28 …
    assert _quiet(hooks, "2026-08-31")["拜访静默"]["value"] is False     # … and W36: 8 weeks apart
    _quiet(hooks, "2026-12-28")                                   # 2026-W53
    assert _quiet(hooks, "2027-01-04")["拜访静默"]["value"] is True      # 2027-W01 right after
    assert "周报断更" not in w01                                   # silence is not a webhook's


def _silences(app):
    with app.extensions["trimtab.sessions"]() as s:
        rows = s.scalars(select(Decision).where(Decision.rule == "周报断更")).all()
        outbox = s.scalars(select(OutboxMessage).where(OutboxMessage.rule == "周报断更")).all()
        stretches = s.scalars(select(Silence).order_by(Silence.id)).all()
        return rows, outbox, [(x.subject, x.since) for x in stretches]


def test_a_rep_who_stops_submitting_is_raised_once_per_stretch(app, org):
    hooks = Hooks(as_admin(app.test_client()))
    sessions, ruleset, tz = app.extensions["trimtab.sessions"], load_for(app.config), app.config["TZ"]
    for day in ("2026-07-06", "2026-07-13"):                      # W28, W29; then nothing
        assert hooks.post("weekly_metrics", _monday(day)).status_code == 200
    wednesday = dt.datetime(2026, 7, 29, 2)                       # W31: only W30 missing
    run_due(sessions, ruleset, tz, ROUTES, now=wednesday)
    assert _silences(app) == ([], [], [])
    later = dt.datetime(2026, 8, 5, 2)                            # W32: W30 and W31 missing
    run_due(sessions, ruleset, tz, ROUTES, now=later)
    rows, outbox, stretches = _silences(app)
    assert len(rows) == 1 and rows[0].fact_id is None and rows[0].subject == "east.li"
    assert rows[0].fired and rows[0].ruleset_version == ruleset.version
    assert rows[0].result["missing"] == ["2026-W30", "2026-W31"]
    assert "2026-W30、2026-W31 未提交 weekly_metrics" in rows[0].result["explanation"]
    assert sorted(m.role for m in outbox) == ["direct_manager", "hrbp"]
    assert sorted(m.recipient for m in outbox) == ["east.mgr", "hr.east"]
    assert stretches == [("east.li", "2026-W30")]
    for now in (later, later + dt.timedelta(minutes=11), later + dt.timedelta(days=7)):
        run_due(sessions, ruleset, tz, ROUTES, now=now)           # again, and a week on
    rows, outbox, stretches = _silences(app)
    assert len(rows) == 1 and len(outbox) == 2                    # the same stretch: once
    # Back for W34, then quiet again: a new stretch, a new alert.
    assert hooks.post("weekly_metrics", _monday("2026-08-17")).status_code == 200
    run_due(sessions, ruleset, tz, ROUTES, now=dt.datetime(2026, 8, 26, 2))    # W35 missing
    assert len(_silences(app)[0]) == 1
    run_due(sessions, ruleset, tz, ROUTES, now=dt.datetime(2026, 9, 9, 2))     # W35, W36
    rows, outbox, stretches = _silences(app)
    assert [r.result["since"] for r in rows] == ["2026-W30", "2026-W35"]
    assert stretches == [("east.li", "2026-W30"), ("east.li", "2026-W35")] and len(outbox) == 4
    # Silence alerts have no fact: their manager and the rep still see them, others do not.
    client = app.test_client()
    for person, expected in (("east.mgr", 2), ("east.li", 2), ("hr.east", 2), ("lead.1", 0)):
        seen = client.get(f"/v1/decisions?rule={rows[0].rule}", headers=bearer(app, person))
        assert len(seen.json["items"]) == expected, person


def test_someone_who_never_submitted_counts_from_joining_the_chart(app, org):
    sessions, ruleset, tz = app.extensions["trimtab.sessions"], load_for(app.config), app.config["TZ"]
    now = dt.datetime.utcnow()
    run_due(sessions, ruleset, tz, ROUTES, now=now)               # east.li just joined: nothing
    assert _silences(app)[0] == []
    run_due(sessions, ruleset, tz, ROUTES, now=now + dt.timedelta(days=22))
    rows, _outbox, _ = _silences(app)
    assert [r.subject for r in rows] == ["east.li"] and len(rows[0].result["missing"]) >= 2
