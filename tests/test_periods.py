"""dsl/periods.py: period numbers are consecutive across year ends and ISO week 53, and turn
back into the keys the server stores (2026-W53, 2026-B27, 2026-08, 2026-Q3)."""
from __future__ import annotations

import datetime as dt

import pytest

from trimtab.dsl import periods
from trimtab.dsl.schemas import parse_schema


@pytest.mark.parametrize("kind", ["week", "biweek", "month", "quarter"])
def test_every_day_for_twenty_years_has_a_consecutive_period_and_its_key(kind):
    day, end = dt.date(2015, 1, 1), dt.date(2035, 1, 1)
    prev_n, prev_key = periods.ordinal(kind, day), periods.period_key(kind, day)
    while day < end:
        day += dt.timedelta(days=1)
        n, key = periods.ordinal(kind, day), periods.period_key(kind, day)
        assert n - prev_n == (key != prev_key), (day, key, prev_key)
        assert periods.key_of(kind, n) == key
        assert periods.period_key(kind, periods.start_of(kind, n)) == key
        prev_n, prev_key = n, key


def test_iso_week_53_and_the_year_after():
    w53, w01 = dt.date(2026, 12, 28), dt.date(2027, 1, 4)
    assert periods.period_key("week", w53) == "2026-W53"
    assert periods.ordinal("week", w01) - periods.ordinal("week", w53) == 1
    assert periods.period_key("biweek", w53) == "2026-B27"
    assert periods.ordinal("biweek", w01) - periods.ordinal("biweek", w53) == 1


def test_a_timestamp_is_dated_in_the_forms_time_zone():
    raw = ('{"x-period": "week", "x-date-field": "at", %s"properties": {"at": {"type": "string"}}}')
    local = parse_schema("f", raw % '"x-timezone": "Asia/Shanghai", ')
    as_written = parse_schema("f", raw % "")
    stamp = {"at": "2026-01-04T20:00:00Z"}          # Sunday in UTC, Monday in Shanghai
    assert periods.period_key("week", periods.day_of(local, stamp)) == "2026-W02"
    assert periods.period_key("week", periods.day_of(as_written, stamp)) == "2026-W01"
    with pytest.raises(ValueError):
        parse_schema("f", raw % '"x-timezone": "Mars/Olympus", ')


@pytest.mark.parametrize("spec,why", [
    ('{"type": "integer", "default": "0"}', "is not a integer"),
    ('{"type": "integer", "default": 0.5}', "is not a integer"),
    ('{"type": "string", "enum": ["a", "b"], "default": "c"}', "of its enum"),
    ('{"type": "array", "default": []}', "is not a array"),
])
def test_a_default_must_fit_its_field(spec, why):
    with pytest.raises(ValueError, match=why):
        parse_schema("f", '{"properties": {"x": %s}}' % spec)


def test_a_required_field_has_no_default():
    with pytest.raises(ValueError, match="required field has no default"):
        parse_schema("f", '{"required": ["x"], "properties": {"x": {"type": "integer", "default": 0}}}')
    ok = parse_schema("f", '{"properties": {"x": {"type": "number", "default": 0.5}}}')
    assert str(ok.fields["x"].default) == "0.5"
