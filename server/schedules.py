"""Running the schedules of the rule set: reports and reminders into the outbox.

Each schedule remembers when it last ran; a tick looks at the occurrences since then and runs
the schedule once if there were any — so a run missed while every worker was down happens
once on recovery, not once per missed tick.  Schedules before dated events need the events
(calibration meetings), which the server does not hold yet: they are skipped."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select

from dsl.schedule import occurrences

from . import reports
from .models import OutboxMessage, Person, ScheduleRun, utcnow

FIRST_LOOK_BACK = dt.timedelta(minutes=10)      # a new schedule does not replay the past


def run_due(sessions, ruleset, tz, routes: dict, now: dt.datetime | None = None,
            lang: str = "zh") -> list[str]:
    """Run every schedule with an occurrence since its last run; returns the names run."""
    now = now or utcnow()                                       # naive UTC, as stored
    ran = []
    with sessions() as session, session.begin():
        for schedule in ruleset.schedules:
            if schedule.timing.kind == "before_event":
                continue
            row = session.get(ScheduleRun, schedule.name, with_for_update=True)
            since = row.last_run_at if row else now - FIRST_LOOK_BACK
            fires = occurrences(schedule, _aware(since), _aware(now), tz)
            if not fires:
                continue
            _run(session, schedule, fires[-1], tz, routes, lang)
            if row is None:
                row = ScheduleRun(name=schedule.name, last_run_at=now, runs=0)
                session.add(row)
            row.last_run_at, row.runs = now, row.runs + 1
            ran.append(schedule.name)
    return ran


def _aware(naive_utc: dt.datetime) -> dt.datetime:
    return naive_utc.replace(tzinfo=dt.timezone.utc)


def _run(session, schedule, fired_at: dt.datetime, tz, routes: dict, lang: str) -> None:
    end = fired_at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    start = end - dt.timedelta(days=7)
    for action in schedule.actions:
        for role in action.to:
            people = session.scalars(select(Person).where(Person.role == role)).all()
            for person in people:
                if action.kind == "report" and action.what == "weekly_actions":
                    report = reports.weekly_actions(session, person.region, start, end)
                elif action.kind == "report" and action.what == "resource_hints":
                    report = reports.resource_hints(session, start, end)
                elif action.kind == "remind":
                    report = {"report": "snapshot_reminder", "form": action.what}
                else:
                    continue                    # calibration_brief needs meeting data (not yet)
                title, text = reports.render(report, lang)
                channel = routes.get(role) or routes.get("default") or "-"
                session.add(OutboxMessage(
                    message_id=uuid.uuid4().hex, rule=schedule.name, role=role, recipient=person.id,
                    channel=channel, payload={"title": title, "text": text, "report": report,
                                              "recipient": person.id},
                    status="pending" if channel != "-" else "dead", attempts=0,
                    last_error=None if channel != "-" else "no channel for this role"))
