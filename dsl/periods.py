"""Calendar periods: which day, week, fortnight, month or quarter a fact is about, and history laid
out along the calendar so that a period without a submission is a gap, not skipped.

A period has a key people read ("2026-08-03", "2026-W32", "2026-B16", "2026-08", "2026-Q3") and an ordinal:
consecutive periods have consecutive ordinals, across year ends and ISO week 53 alike.
Weeks are ISO weeks (Monday first); a fortnight is ISO weeks 2k-1 and 2k of an ISO year (week
53 is a fortnight of its own, as the server has always keyed it).
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .diagnostics import RuleError

MAX_SPAN = 1040            # periods of history laid out at most: 20 years of weeks
_EPOCH_YEAR = 2000
_EPOCH_W01 = dt.date.fromisocalendar(_EPOCH_YEAR, 1, 1)


# ---------------------------------------------------------------------- keys and ordinals
def period_key(kind: str | None, day: dt.date) -> str:
    """ISO week, two-week block, month or quarter of `day`; the date itself without a period."""
    if kind == "week":
        iso = day.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if kind == "biweek":
        iso = day.isocalendar()
        return f"{iso.year}-B{(iso.week + 1) // 2:02d}"
    if kind == "month":
        return f"{day.year}-{day.month:02d}"
    if kind == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return day.isoformat()


def _weeks_before(iso_year: int) -> int:
    return (dt.date.fromisocalendar(iso_year, 1, 1) - _EPOCH_W01).days // 7


def ordinal(kind: str, day: dt.date) -> int:
    """The period of `day` as a number; the next period is the number after it."""
    if kind == "day":
        return day.toordinal()
    if kind == "week":
        return (day.toordinal() - 1) // 7          # date(1, 1, 1) is a Monday
    if kind == "month":
        return day.year * 12 + day.month - 1
    if kind == "quarter":
        return day.year * 4 + (day.month - 1) // 3
    if kind == "biweek":
        iso = day.isocalendar()
        # A year of 52 weeks has 26 blocks, one of 53 has 27: blocks = weeks - 26 per year.
        return _weeks_before(iso.year) - 26 * (iso.year - _EPOCH_YEAR) + (iso.week - 1) // 2
    raise ValueError(f"no calendar period {kind!r}")


def key_of(kind: str, n: int) -> str:
    """The key of period number `n` (the inverse of ordinal, for explanations)."""
    if kind == "day":
        return dt.date.fromordinal(n).isoformat()
    if kind == "week":
        return period_key(kind, dt.date.fromordinal(n * 7 + 1))
    if kind == "month":
        return f"{n // 12}-{n % 12 + 1:02d}"
    if kind == "quarter":
        return f"{n // 4}-Q{n % 4 + 1}"
    year = _EPOCH_YEAR + n // 27                   # never later than the block's ISO year
    while ordinal(kind, dt.date.fromisocalendar(year + 1, 1, 1)) <= n:
        year += 1
    while ordinal(kind, dt.date.fromisocalendar(year, 1, 1)) > n:
        year -= 1
    block = n - ordinal(kind, dt.date.fromisocalendar(year, 1, 1)) + 1
    return f"{year}-B{block:02d}"


def start_of(kind: str, n: int) -> dt.date:
    """The first day of period number `n`."""
    if kind == "day":
        return dt.date.fromordinal(n)
    if kind == "week":
        return dt.date.fromordinal(n * 7 + 1)
    if kind == "month":
        return dt.date(n // 12, n % 12 + 1, 1)
    if kind == "quarter":
        return dt.date(n // 4, 3 * (n % 4) + 1, 1)
    year, block = key_of(kind, n).split("-B")
    return dt.date.fromisocalendar(int(year), 2 * int(block) - 1, 1)


# Which periods lie inside which: a day in its week, month and quarter, a month in its quarter.
# (A week may straddle two months, so weeks lie inside nothing coarser.)
INSIDE = {"day": ("week", "month", "quarter"), "month": ("quarter",)}


def earlier_inside(kind: str, unit: str, day: dt.date) -> int:
    """How many periods of `kind` before the one of `day` lie in the same `unit` (a coarser
    period, see INSIDE): 3 on 2026-08-04 for days in the month."""
    return ordinal(kind, day) - ordinal(kind, start_of(unit, ordinal(unit, day)))


# ---------------------------------------------------------------------- dating facts
def zone(name: str | None):
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_date(text: str, tz=None) -> dt.date:
    """A date or timestamp as the local date it names: a timestamp with an offset is moved
    into `tz` (the form's time zone) first; without `tz`, its date is taken as written."""
    if len(text) > 10:
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if stamp.tzinfo is not None and tz is not None:
            stamp = stamp.astimezone(tz)
        return stamp.date()
    return dt.date.fromisoformat(text)


def day_of(form, facts: dict, rule: str = "") -> dt.date:
    """The local date a fact is about: its date field (x-date-field), else its `month`
    ("2026-08") or `quarter` ("2026-Q3") field — as the server dates submissions."""
    field = form.date_field
    value = facts.get(field) if field else None
    try:
        if field and value is not None:
            if value.__class__ is not str:
                raise ValueError
            return local_date(value, zone(form.timezone))
        if facts.get("month").__class__ is str:
            field, value = "month", facts["month"]
            y, m = value.split("-")
            return dt.date(int(y), int(m), 1)
        if facts.get("quarter").__class__ is str:
            field, value = "quarter", facts["quarter"]
            y, q = value.split("-Q")
            return dt.date(int(y), 3 * int(q) - 2, 1)
    except (ValueError, TypeError, AttributeError):
        raise RuleError.of("eval.wrong_type", rule=rule, field=field, expected="a date",
                        found=str(value)) from None
    raise RuleError.of("eval.missing_field", rule=rule, field=form.date_field or
                    ("quarter" if form.period == "quarter" else "month"))


# ---------------------------------------------------------------------- history on the calendar
class Gap:
    """A period without a submission, in history laid out on the calendar."""

    __slots__ = ("period",)

    def __init__(self, period: str):
        self.period = period

    def __repr__(self) -> str:
        return f"Gap({self.period})"


class Timeline(list):
    """History laid out on the calendar: one entry per period from the oldest submitted one up
    to the period before the current facts' — the latest submission of each, or a Gap.
    `kept`: (RunningSums, absolute start, epoch, entries) when its first `entries` are a
    keeper's, whose running sums baselines read (dsl/running_sums.py)."""

    kept: tuple | None = None


class Dated(list):
    """Earlier facts (dicts, oldest first) with the period number of each, worked out once by
    whoever keeps them (the server's history cache, see number_of) for `form`: timeline()
    lays them out without dating every entry again on every evaluation.  Made whole and
    never changed after: its entries are not checked again."""

    __slots__ = ("form", "numbers", "laid", "kept")

    def __init__(self, form, entries: list, numbers, kept: tuple | None = None):
        """`numbers`: a list, or a range when the keeper knows them one a period, none
        missing; `kept`: the keeper's running sums for these entries
        (running_sums.RunningSums.window), which baselines read instead of walking them."""
        super().__init__(entries)
        self.form, self.numbers, self.kept = form, numbers, kept
        self.laid: tuple | None = None      # (current period number, its Timeline)


def number_of(form, entry: dict) -> int | None:
    """The period number of an earlier fact as timeline() dates it; None when timeline()
    would refuse it (then the history goes undated, and timeline() says why as it always has)."""
    if entry.__class__ is not dict:
        return None
    try:
        return ordinal(form.period, day_of(form, entry))
    except Exception:       # whatever it is, the undated path meets it again and reports it
        return None


def timeline(form, facts: dict, history, rule: str = "") -> Timeline:
    """`history` (earlier facts, oldest first, any order of resubmissions) as a Timeline
    ending just before the period of `facts`.  Entries of the current period or later are
    left out; of several in one period, the last listed wins.  Already a Timeline: as is;
    Dated for this form: with the period numbers it carries, laid out once for every rule of
    an evaluation that reads it (they only read it)."""
    if history.__class__ is Timeline:
        return history
    kind = form.period
    current = ordinal(kind, day_of(form, facts, rule))
    if history.__class__ is Dated and history.form is form and len(history.numbers) == len(history):
        numbers, laid = history.numbers, history.laid
        if laid is not None and laid[0] == current:
            return laid[1]      # the same history for another rule of the evaluation
        if numbers and current - MAX_SPAN <= numbers[0] and numbers[-1] < current and \
                (numbers.__class__ is range or numbers == list(range(numbers[0], numbers[-1] + 1))):
            # One entry a period, none missing (the server's usual case): laid out as it is.
            out = Timeline(history)
            if history.kept is not None:    # its first len(history) entries are the keeper's
                out.kept = history.kept + (len(history),)
            out.extend(Gap(key_of(kind, n)) for n in range(numbers[-1] + 1, current))
        else:
            out = _laid_out(kind, current, zip(numbers, history))
        history.laid = (current, out)
        return out
    return _laid_out(kind, current, _numbered(form, history, rule))


def _laid_out(kind: str, current: int, numbered) -> Timeline:
    """(period number, entry) pairs as the Timeline up to `current`: the last of each period."""
    by_period: dict = {}
    for n, entry in numbered:
        if current - MAX_SPAN <= n < current:
            by_period[n] = entry
    out = Timeline()
    if by_period:
        for n in range(min(by_period), current):
            entry = by_period.get(n)
            out.append(entry if entry is not None else Gap(key_of(kind, n)))
    return out


def _numbered(form, history, rule: str):
    """(period number, entry) of each entry in order, dated here; refused as they come."""
    kind = form.period
    for entry in history:
        if entry.__class__ is not dict:
            raise RuleError.of("eval.bad_history")
        yield ordinal(kind, day_of(form, entry, rule)), entry


def dated(form, facts: dict, history, rule: str = "") -> tuple[int, dict]:
    """(the current facts' period number, {period number: the latest earlier fact}) — the
    plain form of a timeline, which the reference interpreter walks."""
    kind = form.period
    current = ordinal(kind, day_of(form, facts, rule))
    found: dict = {}
    for entry in history:
        if not isinstance(entry, dict):
            raise RuleError.of("eval.bad_history")
        n = ordinal(kind, day_of(form, entry, rule))
        if current - MAX_SPAN <= n < current:
            found[n] = entry
    return current, found
