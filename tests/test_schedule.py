"""Schedule occurrences from the shipped cadence rules."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from trimtab.dsl.schedule import occurrences

SH = ZoneInfo("Asia/Shanghai")


def by_name(shipped, name):
    return next(s for s in shipped.schedules if s.name == name)


def test_monday_morning(shipped):
    s = by_name(shipped, "周一行动建议")
    fires = occurrences(s, dt.datetime(2026, 8, 1, tzinfo=SH), dt.datetime(2026, 8, 31, 23, 59, tzinfo=SH), SH)
    assert [f.day for f in fires] == [3, 10, 17, 24, 31]
    assert all(f.weekday() == 0 and (f.hour, f.minute) == (9, 0) for f in fires)


def test_every_other_friday(shipped):
    s = by_name(shipped, "双周目标快照")
    fires = occurrences(s, dt.datetime(2026, 8, 1, tzinfo=SH), dt.datetime(2026, 9, 30, tzinfo=SH), SH)
    assert all(f.weekday() == 4 and f.hour == 14 for f in fires)
    gaps = {(b - a).days for a, b in zip(fires, fires[1:])}
    assert gaps == {14} and len(fires) in (4, 5)


def test_48_hours_before_each_meeting(shipped):
    s = by_name(shipped, "校准会简报")
    meeting = dt.datetime(2026, 8, 12, 10, 0, tzinfo=SH)
    fires = occurrences(s, dt.datetime(2026, 8, 1, tzinfo=SH), dt.datetime(2026, 8, 31, tzinfo=SH), SH,
                        events=[meeting])
    assert fires == [dt.datetime(2026, 8, 10, 10, 0, tzinfo=SH)]


def test_interval_is_half_open(shipped):
    s = by_name(shipped, "周一行动建议")
    fire = dt.datetime(2026, 8, 3, 9, 0, tzinfo=SH)
    assert occurrences(s, fire, fire + dt.timedelta(hours=1), SH) == []
    assert occurrences(s, fire - dt.timedelta(minutes=1), fire, SH) == [fire]
