"""When schedules fire: occurrences of a schedule's timing in a time interval (pure).

weekly       every <weekday> at HH:MM
every_weeks  every N weeks on <weekday> at HH:MM — weeks counted from the Monday 2024-01-01
before_event N hours before each given event time
Times are local to the given timezone; results are timezone-aware datetimes.
"""
from __future__ import annotations

import datetime as dt
from typing import Sequence

from . import ast as A
from .keywords import WEEKDAYS

ANCHOR_MONDAY = dt.date(2024, 1, 1)


def occurrences(schedule: A.Schedule, start: dt.datetime, end: dt.datetime, tz,
                events: Sequence[dt.datetime] = ()) -> list[dt.datetime]:
    """Fire times t with start < t <= end (aware datetimes), in order."""
    t = schedule.timing
    if t.kind == "before_event":
        lead = dt.timedelta(hours=float(A.given(t.lead).value))     # durations are kept in hours
        return sorted(fire for fire in (_before(e, lead) for e in events)
                      if fire is not None and start < fire <= end)
    weekday = WEEKDAYS[A.given(t.weekday).lower()]
    hh, mm = (int(x) for x in A.given(t.time).split(":"))
    every = t.every if t.kind == "every_weeks" else 1
    out = []
    try:
        day = start.astimezone(tz).date() - dt.timedelta(days=1)
        last = end.astimezone(tz).date()
        day += dt.timedelta(days=(weekday - day.weekday()) % 7)      # the first such weekday
        while day <= last:
            if ((day - ANCHOR_MONDAY).days // 7) % every == 0:
                fire = dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=tz)
                if start < fire <= end:
                    out.append(fire)
            day += dt.timedelta(days=7)
    except OverflowError:       # the calendar ends (years 1 and 9999): nothing fires beyond
        pass
    return out


def _before(event: dt.datetime, lead: dt.timedelta) -> dt.datetime | None:
    """The fire time `lead` before `event`; None before the calendar's first day."""
    try:
        return event - lead
    except OverflowError:
        return None
