"""Silent people: the scheduler's half of `when no FORM for N consecutive weeks`.

For each silence alert in force, everyone the organisation chart expects to submit the form
(people whose role is the rule's subject: `per rep` → every rep) is looked at once: when did
they last submit it?  A stretch long enough becomes a decision like any alert's — stored with
the rule-set version and its explanation, notified through the outbox in the same
transaction — and a `silences` row that makes it once per rule, person and stretch: running
the scheduler again, in this process or another, does not raise it again (the row's unique key
decides a race).  Someone who never submitted is counted from the period after they last
changed in the chart.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from trimtab.server.domain import period_decisions
from trimtab.server.domain.approval_flow import resolve_role
from trimtab.server.storage.models import Fact, Person, ScheduleRun, Silence
from trimtab.server.domain.alert_notices import enqueue_alert

log = logging.getLogger("trimtab.silences")
LOOK_EVERY = dt.timedelta(minutes=10)       # the sweeper ticks every few seconds; silence is weekly


def run_silences(session, ruleset, tz, routes: dict, channels: dict, lang: str,
                 now: dt.datetime, base_url: str = "") -> list[str]:
    """Raise what is newly silent; returns "rule:person" for each alert raised.  `now` is naive
    UTC; the day is taken in `tz`, where weeks and months begin; `base_url`: the server as
    people reach it (links to each decision's why)."""
    today = now.replace(tzinfo=dt.timezone.utc).astimezone(tz).date()
    raised = []
    for form in sorted(ruleset.silent_by_form):
        for rule in ruleset.in_force(form, today.isoformat(), silent=True):
            if _due(session, rule.name, now):
                raised += _look(session, ruleset, rule, today, tz, routes, channels, lang, now,
                                base_url)
    return raised


def _due(session, name: str, now: dt.datetime) -> bool:
    """At most one look per rule every LOOK_EVERY (the row is locked: one process looks)."""
    key = f"silence:{name}"
    row = session.get(ScheduleRun, key, with_for_update=True)
    if row is None:
        session.add(ScheduleRun(name=key, last_run_at=now, runs=1))
        return True
    if now - row.last_run_at < LOOK_EVERY and now >= row.last_run_at:
        return False
    row.last_run_at, row.runs = now, row.runs + 1
    return True


def _look(session, ruleset, rule, today, tz, routes, channels, lang, now, base_url="") -> list[str]:
    form = rule.form.name
    people = session.scalars(select(Person).where(Person.role == rule.rule.on.subject,
                                                     Person.active.is_(True))  # not who left
                             .order_by(Person.id)).all()
    if not people:
        return []
    last = dict(session.execute(select(Fact.subject, func.max(Fact.occurred_on))
                                .where(Fact.form == form).group_by(Fact.subject)).all())
    known = {(s, since) for s, since in session.execute(
        select(Silence.subject, Silence.since).where(Silence.rule == rule.name))}
    raised = []
    for person in people:
        joined = person.updated_at.replace(tzinfo=dt.timezone.utc).astimezone(tz).date()
        decision = rule.evaluate(person.id, today, last.get(person.id), joined)
        since = decision.details["since"] if decision.value else None
        if since is None or (person.id, since) in known:
            continue
        if _store(session, ruleset, decision, person, since, routes, channels, lang, now, base_url):
            raised.append(f"{rule.name}:{person.id}")
    return raised


def _store(session, ruleset, decision, person, since, routes, channels, lang, now, base_url="") -> bool:
    """The decision, its stretch and its notifications, or nothing if another process won."""
    try:
        with session.begin_nested():
            form = decision.compiled.form.name
            # the stretch: one current decision per stretch, a set of one (its id the decision's)
            period_decisions.take(session, form, person.id, since, [decision.rule], now, new_head=True)
            decision_id = period_decisions.store(
                session, None, form, person.id, since, ruleset.version, now,
                [{"rule": decision.rule, "kind": "alert", "fired": True,
                  "result": decision.to_json(lang), "error_code": None}])
            session.add(Silence(rule=decision.rule, subject=person.id, form=form,
                                since=since, decision_id=decision_id, created_at=now))
            session.flush()
    except IntegrityError:
        return False                    # raised meanwhile by another worker
    enqueue_alert(session, decision, None, {"rep": person.id}, routes, channels, resolve_role,
                  decision_id=decision_id, base_url=base_url)
    log.info("silence: %s for %s since %s", decision.rule, person.id, since)
    return True
