"""Running the schedules of the rule set: reports and reminders into the outbox.

Each schedule remembers when it last ran; a tick looks at the occurrences since then and runs
the schedule once if there were any — so a run missed while every worker was down happens
once on recovery, not once per missed tick.

A schedule before a dated event (`48 hours before calibration_meeting`) runs once per meeting
of that kind: at the first tick inside the lead time and before the meeting starts — so a
meeting set up less than 48 hours ahead is briefed at once, and one already under way is not.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from trimtab.dsl.schedule import next_after, occurrences, previous_before

from trimtab.server.domain import reports
from trimtab.server.storage.models import Meeting, Person, ScheduleRun, utcnow
from trimtab.server.storage.outbox_rows import message
from trimtab.server.jobs.silences import run_silences

log = logging.getLogger("trimtab.schedules")

FIRST_LOOK_BACK = dt.timedelta(minutes=10)      # a new schedule does not replay the past


def run_due(sessions, ruleset, tz, routes: dict, now: dt.datetime | None = None,
            lang: str = "zh", channels: dict | None = None, base_url: str = "") -> list[str]:
    """Run every schedule with an occurrence since its last run; returns the names run.

    Each schedule runs in its own transaction: one that fails (logged in one line) rolls
    back only its own messages and never stops the others, the silences or dispatch."""
    now = now or utcnow()                                       # naive UTC, as stored
    channels = channels or {}
    ran = []
    for schedule in ruleset.schedules:
        try:
            with sessions() as session, session.begin():
                if _run_one(session, schedule, ruleset, tz, routes, channels, now, lang):
                    ran.append(schedule.name)
        except Exception as err:        # this schedule only: the next one still runs
            _log_failure(f"schedule {schedule.name}", err)
    try:        # Silence alerts (`when no FORM …`): raised here, once per person and stretch.
        with sessions() as session, session.begin():
            run_silences(session, ruleset, tz, routes, channels, lang, now, base_url)
    except Exception as err:
        _log_failure("silence alerts", err)
    return ran


def _run_one(session, schedule, ruleset, tz, routes, channels, now, lang) -> bool:
    if schedule.timing.kind == "before_event":
        if _run_before_meetings(session, schedule, ruleset, tz, routes, channels, now, lang):
            _ran(session, schedule.name, now)
            return True
        return False
    row = session.get(ScheduleRun, schedule.name, with_for_update=True)
    since = row.last_run_at if row else now - FIRST_LOOK_BACK
    fires = occurrences(schedule, _aware(since), _aware(now), tz)
    if not fires:
        return False
    _run(session, schedule, fires[-1], tz, routes, channels, lang)
    _ran(session, schedule.name, now, row)
    return True


def _log_failure(what: str, err: Exception) -> None:
    text = str(err).splitlines()[0][:200] if str(err) else ""
    log.warning("%s failed: %s: %s", what, err.__class__.__name__, text)


def _ran(session, name: str, now: dt.datetime, row=None) -> None:
    row = row or session.get(ScheduleRun, name)
    if row is None:
        row = ScheduleRun(name=name, last_run_at=now, runs=0)
        session.add(row)
    row.last_run_at, row.runs = now, row.runs + 1


def _run_before_meetings(session, schedule, ruleset, tz, routes, channels, now, lang) -> int:
    """Brief every meeting of the schedule's event kind now inside its lead time; how many."""
    lead = dt.timedelta(hours=float(schedule.timing.lead.value))
    due = session.scalars(select(Meeting).where(
        Meeting.kind == schedule.timing.event, Meeting.briefed_at.is_(None),
        Meeting.starts_at > now, Meeting.starts_at <= now + lead)
        .order_by(Meeting.starts_at).with_for_update()).all()
    for meeting in due:
        report = reports.calibration_brief(session, meeting, ruleset, tz)
        rendered = reports.payload(report, lang)
        for action in schedule.actions:
            for role in action.to:
                for person in _recipients(session, role, meeting):
                    session.add(message(schedule.name, role, person, rendered, routes, channels))
        meeting.briefed_at = now
    return len(due)


def _recipients(session, role: str, meeting=None) -> list:
    if role == "attendees" and meeting is not None:
        found = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(meeting.attendees)))}
        return [found[i] for i in meeting.attendees if i in found]
    return list(session.scalars(select(Person).where(Person.role == role, Person.active.is_(True))
                                 .order_by(Person.id)))


def _aware(naive_utc: dt.datetime) -> dt.datetime:
    return naive_utc.replace(tzinfo=dt.timezone.utc)


def _run(session, schedule, fired_at: dt.datetime, tz, routes: dict, channels: dict,
         lang: str) -> None:
    # A report covers the time since the schedule's previous run: a week, ten days, a month.
    end = fired_at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    before = previous_before(schedule, fired_at, tz)
    start = before.astimezone(dt.timezone.utc).replace(tzinfo=None) if before else end - dt.timedelta(days=7)
    for action in schedule.actions:
        for role in action.to:
            for person in _recipients(session, role):
                if action.kind == "report" and action.what == "weekly_actions":
                    report = reports.weekly_actions(session, person.region, start, end)
                elif action.kind == "report" and action.what == "resource_hints":
                    report = reports.resource_hints(session, start, end)
                elif action.kind == "remind":
                    report = {"report": "snapshot_reminder", "form": action.what}
                else:
                    continue                    # a report only a dated event has (the brief)
                session.add(message(schedule.name, role, person, reports.payload(report, lang),
                                    routes, channels))


def next_due(sessions, ruleset, tz, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the next schedule fires (naive UTC): the earliest occurrence after `now` of a
    timed schedule (weekly, every N weeks or days, monthly), or the start of an unbriefed
    meeting's lead time — None if there is none."""
    now = now or utcnow()
    times = []
    for schedule in ruleset.schedules:
        try:
            found = _next_of(sessions, schedule, tz, now)
        except Exception as err:        # one schedule's trouble never hides the others' times
            _log_failure(f"schedule {schedule.name} (next run)", err)
            continue
        if found is not None:
            times.append(found)
    return min(times) if times else None


def _next_of(sessions, schedule, tz, now: dt.datetime) -> dt.datetime | None:
    if schedule.timing.kind == "before_event":
        lead = dt.timedelta(hours=float(schedule.timing.lead.value))
        with sessions() as session:
            first = session.scalar(select(Meeting.starts_at).where(
                Meeting.kind == schedule.timing.event, Meeting.briefed_at.is_(None),
                Meeting.starts_at > now + lead).order_by(Meeting.starts_at).limit(1))
        return None if first is None else first - lead
    fire = next_after(schedule, _aware(now), tz)
    return fire.astimezone(dt.timezone.utc).replace(tzinfo=None) if fire else None
