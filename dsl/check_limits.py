"""The checker's limits pass: numbers, counts and durations a rule set may state (dsl/limits.py).

A mixin of Checker (checker.py), like check_exprs.  Expression literals are checked where they
are typed (ExprChecks.expr_Num); this pass covers the numbers that clauses carry.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from . import ast as A
from .kinds import KINDS
from .limits import MAX_ABS, MAX_COUNT, MAX_DECIMALS, MAX_DURATION_HOURS, decimals_written
from .units import _WORD_UNITS, UNIT_WORDS, UNITS

_HOURS = {unit: factor for unit, (dim, factor) in UNITS.items() if dim == "duration"}


def unit_in_zh(unit: str) -> str:
    """A duration's unit as written (`weeks`, `周`) in Chinese."""
    canonical = _WORD_UNITS.get(unit)
    return UNIT_WORDS["zh"][canonical][0] if canonical in UNIT_WORDS["zh"] else unit


class LimitChecks:
    if TYPE_CHECKING:       # provided by Checker, which this mixes into
        def error(self, code: str, loc: A.Loc | None, width: int | None = None, **args: Any) -> None: ...

    # ------------------------------------------------------------------ single values
    def limit_number(self, value, loc, text: str | None = None) -> bool:
        """|value| < 10^15 and at most MAX_DECIMALS decimals as written; False after an error."""
        shown = text if text is not None else str(value)
        if not -MAX_ABS < value < MAX_ABS:
            self.error("check.number_out_of_range", loc, value=_short(shown))
            return False
        if text is not None and decimals_written(text) > MAX_DECIMALS:
            self.error("check.too_many_decimals", loc, value=_short(shown), limit=MAX_DECIMALS)
            return False
        return True

    def limit_num(self, num: A.Num) -> bool:
        return self.limit_number(num.value, num.loc, num.text or None)

    def limit_count(self, n, loc, what: str, low: int = 1) -> bool:
        if not low <= n <= MAX_COUNT:
            self.error("check.count_out_of_range", loc, what=what, low=low, high=f"{MAX_COUNT:,}",
                       value=_short(str(n)))
            return False
        return True

    def limit_duration(self, n, unit: str, loc, what: str) -> bool:
        if unit in _HOURS and n * _HOURS[unit] > MAX_DURATION_HOURS:
            self.error("check.duration_out_of_range", loc, what=what, value=f"{_short(str(n))} {unit}",
                       value_zh=f"{_short(str(n))} {unit_in_zh(unit)}")
            return False
        return True

    def limit_example(self, value):
        if isinstance(value, A.Num):
            self.limit_num(value)
        elif isinstance(value, list):
            for item in value:
                for v in (item.values() if isinstance(item, dict) else ()):
                    self.limit_example(v)

    # ------------------------------------------------------------------ per declaration
    def check_reference_limits(self, ref: A.Reference):
        for num in ref.items.values():
            self.limit_num(num)

    def check_rule_limits(self, rule: A.Rule):
        """The numbers a rule's clauses carry (not its expressions: those are typed)."""
        for ex in rule.examples:
            for value in [*ex.fields.values(), ex.result]:
                self.limit_example(value)
        KINDS[rule.kind].limits(self, rule)

    def check_schedule_limits(self, sched: A.Schedule) -> bool:
        t = sched.timing
        if t.kind in ("every_weeks", "every_days"):
            return self.limit_duration(t.every, t.every_unit, t.loc, "every")
        if t.kind == "before_event" and t.lead is not None:
            if t.lead.value > MAX_DURATION_HOURS:      # kept in hours
                self.error("check.duration_out_of_range", t.lead.loc, what="lead time",
                           value=_short(t.lead.text), value_zh=_short(t.lead.text))   # as written
                return False
        return True

    def check_schedule_runs(self, sched: A.Schedule):
        """The schedule's next run can be computed: one occurrence found from a fixed start."""
        from .schedule import next_after, occurrences
        t = sched.timing
        start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        try:
            if t.kind == "before_event":
                end = start + dt.timedelta(hours=float(A.given(t.lead).value) + 1)
                found = bool(occurrences(sched, start, end, dt.timezone.utc, [end]))
            else:       # from its first day, if it starts later (every N days from DATE)
                first = dt.datetime.fromisoformat(t.anchor).replace(tzinfo=dt.timezone.utc) \
                    if t.anchor else start
                found = next_after(sched, max(start, first - dt.timedelta(days=1)), dt.timezone.utc) is not None
            detail = None if found else "no occurrence"
        except (ArithmeticError, ValueError, KeyError) as err:
            detail = err.__class__.__name__
        if detail:
            self.error("check.schedule_unrunnable", t.loc, name=sched.name, detail=detail)


def _short(text: str) -> str:
    """A number as written, cut to a readable length for a message."""
    return text if len(text) <= 24 else text[:20] + "…"
