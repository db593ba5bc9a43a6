"""When schedules fire: occurrences of a schedule's timing in a time interval (pure).

weekly       every <weekday> at HH:MM
every_weeks  every N weeks on <weekday> at HH:MM — weeks counted from the Monday 2024-01-01
every_days   every N days (or weeks) from DATE at HH:MM — DATE is the first day it fires
monthly_day  monthly on day D at HH:MM — in a shorter month, on its last day (31 → 30 April,
             28 or 29 February), so it fires once every month
monthly_nth  monthly on the 2nd and 4th <weekday> at HH:MM — a month without a 5th such
             weekday has no 5th run
before_event N hours before each given event time
Times are local to the given timezone; results are timezone-aware datetimes.  The checker
(check_limits) and the server's scheduler (server/jobs/schedules.py) both ask this module.
"""
from __future__ import annotations

import calendar
import datetime as dt
from typing import Callable, Sequence

from . import ast as A
from .keywords import WEEKDAYS

ANCHOR_MONDAY = dt.date(2024, 1, 1)
_DAY = dt.timedelta(days=1)


def occurrences(schedule: A.Schedule, start: dt.datetime, end: dt.datetime, tz,
                events: Sequence[dt.datetime] = ()) -> list[dt.datetime]:
    """Fire times t with start < t <= end (aware datetimes), in order."""
    t = schedule.timing
    if t.kind == "before_event":
        lead = dt.timedelta(hours=float(A.given(t.lead).value))     # durations are kept in hours
        return sorted(fire for fire in (_before(e, lead) for e in events)
                      if fire is not None and start < fire <= end)
    hh, mm = (int(x) for x in A.given(t.time).split(":"))
    fires_on, step = _days(t)
    out = []
    try:
        day = start.astimezone(tz).date() - _DAY
        last = end.astimezone(tz).date()
        if step == 7:                                   # weekly kinds: from the first such weekday
            day += dt.timedelta(days=(WEEKDAYS[A.given(t.weekday).lower()] - day.weekday()) % 7)
        while day <= last:
            if fires_on(day):
                fire = dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=tz)
                if start < fire <= end:
                    out.append(fire)
            day += dt.timedelta(days=step)
    except OverflowError:       # the calendar ends (years 1 and 9999): nothing fires beyond
        pass
    return out


def next_after(schedule: A.Schedule, after: dt.datetime, tz) -> dt.datetime | None:
    """The first fire time after `after` (aware), or None; not for before_event schedules,
    whose times come from their events."""
    return next(iter(occurrences(schedule, after, after + longest_gap(schedule.timing), tz)), None)


def previous_before(schedule: A.Schedule, fire: dt.datetime, tz) -> dt.datetime | None:
    """The fire time before `fire` (aware), or None: a report run at `fire` covers the time since."""
    earlier = occurrences(schedule, fire - longest_gap(schedule.timing), fire - dt.timedelta(seconds=1), tz)
    return earlier[-1] if earlier else None


def longest_gap(t: A.Timing) -> dt.timedelta:
    """At most this long between two fire times (a day more, for the time zones)."""
    if t.kind == "every_weeks":
        days = 7 * t.every
    elif t.kind == "every_days":
        days = t.every * (7 if t.every_unit == "week" else 1)
    elif t.kind == "monthly_day":
        days = 31
    elif t.kind == "monthly_nth":
        days = 31 * 4           # a 5th weekday comes back within four months (e.g. Jan → May)
    else:
        days = 7
    return dt.timedelta(days=days + 1)


def _days(t: A.Timing) -> tuple[Callable[[dt.date], bool], int]:
    """Which local days the timing fires on, and the step to walk them in (7: weekdays only)."""
    if t.kind == "every_weeks":
        return (lambda day: ((day - ANCHOR_MONDAY).days // 7) % t.every == 0), 7
    if t.kind == "every_days":
        first = dt.date.fromisoformat(A.given(t.anchor))
        n = t.every * (7 if t.every_unit == "week" else 1)
        return (lambda day: day >= first and (day - first).days % n == 0), 1
    if t.kind == "monthly_day":
        return (lambda day: day.day == min(A.given(t.day), _month_days(day))), 1
    if t.kind == "monthly_nth":
        return (lambda day: (day.day - 1) // 7 + 1 in t.nths), 7
    return (lambda day: True), 7                        # weekly


def _month_days(day: dt.date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _before(event: dt.datetime, lead: dt.timedelta) -> dt.datetime | None:
    """The fire time `lead` before `event`; None before the calendar's first day."""
    try:
        return event - lead
    except OverflowError:
        return None
