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


# ---------------------------------------------------------------- every N days, monthly, Nth weekday
def one(schemas, timing: str):
    from conftest import shared_sources
    from trimtab.dsl.ruleset import load_sources
    text = f"schedule s {timing}\n    remind rep to submit goal_snapshot\n"
    return load_sources(shared_sources() + [("s.rules", text)], schemas).schedules[0]


def fire_days(schedule, start, end, tz=SH):
    return [f.date().isoformat() for f in occurrences(schedule, start, end, tz)]


def test_every_10_days_from_its_first_day(schemas):
    s = one(schemas, "every 10 days from 2026-01-05 at 09:00")
    days = fire_days(s, dt.datetime(2025, 12, 1, tzinfo=SH), dt.datetime(2026, 2, 10, tzinfo=SH))
    assert days == ["2026-01-05", "2026-01-15", "2026-01-25", "2026-02-04"]      # none before it
    weeks = one(schemas, "every 2 weeks from 2026-01-05 at 09:00")               # weeks count too
    assert fire_days(weeks, dt.datetime(2026, 1, 1, tzinfo=SH), dt.datetime(2026, 2, 1, tzinfo=SH)) == \
        ["2026-01-05", "2026-01-19"]


def test_monthly_on_day_31_falls_on_the_months_last_day(schemas):
    s = one(schemas, "monthly on day 31 at 18:00")
    days = fire_days(s, dt.datetime(2026, 1, 1, tzinfo=SH), dt.datetime(2026, 5, 1, tzinfo=SH))
    assert days == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]
    leap = fire_days(s, dt.datetime(2028, 2, 1, tzinfo=SH), dt.datetime(2028, 3, 1, tzinfo=SH))
    assert leap == ["2028-02-29"]
    assert one(schemas, "monthly on day 31 at 18:00").timing.day == 31


def test_the_2nd_and_4th_friday(schemas):
    s = one(schemas, "monthly on the 2nd and 4th friday at 14:00")
    days = fire_days(s, dt.datetime(2026, 1, 1, tzinfo=SH), dt.datetime(2026, 3, 1, tzinfo=SH))
    assert days == ["2026-01-09", "2026-01-23", "2026-02-13", "2026-02-27"]
    zh = one(schemas, "每月 第 2、4 个 周五 在 14:00")
    assert fire_days(zh, dt.datetime(2026, 1, 1, tzinfo=SH), dt.datetime(2026, 3, 1, tzinfo=SH)) == days


def test_a_month_without_a_5th_friday_has_no_5th_run(schemas):
    from trimtab.dsl.schedule import next_after
    s = one(schemas, "monthly on the 5th friday at 14:00")
    days = fire_days(s, dt.datetime(2026, 1, 1, tzinfo=SH), dt.datetime(2026, 7, 1, tzinfo=SH))
    assert days == ["2026-01-30", "2026-05-29"]           # Feb, Mar, Apr and Jun have four
    assert next_after(s, dt.datetime(2026, 1, 31, tzinfo=SH), SH) == \
        dt.datetime(2026, 5, 29, 14, 0, tzinfo=SH)


def test_new_timings_are_local_to_the_time_zone(schemas):
    # 01:00 on the 1st in Shanghai is 17:00 UTC on the last day of the month before.
    s = one(schemas, "monthly on day 1 at 01:00")
    fires = occurrences(s, dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc),
                        dt.datetime(2026, 4, 1, tzinfo=dt.timezone.utc), SH)
    assert [f.astimezone(dt.timezone.utc).isoformat() for f in fires] == ["2026-03-31T17:00:00+00:00"]
    ny = ZoneInfo("America/New_York")                     # DST starts 2026-03-08: 09:00 stays 09:00
    days = one(schemas, "every 7 days from 2026-03-01 at 09:00")
    fires = occurrences(days, dt.datetime(2026, 3, 1, tzinfo=ny), dt.datetime(2026, 3, 10, tzinfo=ny), ny)
    assert [(f.hour, f.utcoffset().total_seconds() / 3600) for f in fires] == [(9, -5), (9, -4)]


def test_shipped_new_cadences(shipped):
    ten = by_name(shipped, "旬度经营简报")
    assert fire_days(ten, dt.datetime(2026, 8, 1, tzinfo=SH), dt.datetime(2026, 8, 31, tzinfo=SH)) == \
        ["2026-08-09", "2026-08-19", "2026-08-29"]
    first_monday = by_name(shipped, "月度校准准备")
    assert fire_days(first_monday, dt.datetime(2026, 8, 1, tzinfo=SH), dt.datetime(2026, 10, 31, tzinfo=SH)) == \
        ["2026-08-03", "2026-09-07", "2026-10-05"]
    monthly = by_name(shipped, "月度自动报表")
    assert fire_days(monthly, dt.datetime(2026, 8, 1, tzinfo=SH), dt.datetime(2026, 10, 31, tzinfo=SH)) == \
        ["2026-08-01", "2026-09-01", "2026-10-01"]
