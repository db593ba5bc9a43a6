"""Helpers the compiled rules call.  Everything here is exact decimal and raises RuleError
(never a bare Python exception) when facts do not fit."""
from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, DivisionByZero, InvalidOperation

from .catalogs import word
from .diagnostics import Diagnostic, RuleError
from .periods import Gap, Timeline, day_of, earlier_inside, timeline
from .trace import Compared, Missing, Short, Valued

D = Decimal


class NoHistory(RuleError):
    """Not enough earlier periods to compute a history value; a condition using it is false.
    Its own type (a RuleError still) because the rules catch it, and only it, to say so."""


class MissingPeriod(NoHistory):
    """A period the rule needs has no submission (a Gap in the timeline); the condition is
    false and its explanation names the period."""

    def __init__(self, rule, field, period):
        super().__init__(Diagnostic("eval.missing_period", {"rule": rule, "field": field,
                                                            "period": period}))
        self.period = period


_GAP = Gap


def in_rule(err: RuleError, file: str, line: int, column: int = 0) -> RuleError:
    """An evaluation error placed in its rule: at the clause's line when the error names one
    (÷0, an empty window), else at the rule's line and column.  Called only once an error is
    raised, so the happy path builds no location."""
    clause_line = err.details.get("line")
    return err.at(file, clause_line, 0) if clause_line else err.at(file, line, column)


# What stops a compiled rule when the facts do not fit (a missing field, a wrong type, no
# result): the value function turns these, and only these, into the rule's RuleError.
FACT_FAULTS = (KeyError, TypeError, AttributeError, ArithmeticError, ValueError)


def failure(e: Exception, rule: str, form: str, line: int, place: tuple) -> RuleError:
    """What went wrong, as the RuleError a compiled rule ends with when `e` stopped it, placed
    in the rule (in_rule).  Anything not a RuleError nor one of FACT_FAULTS is a bug of ours,
    still the rule's own error (eval.internal).  One call in the generated functions'
    handlers instead of a handler per case: the happy path pays nothing either way, and each
    rule shape's source — what compile() pays for — is a third shorter."""
    if isinstance(e, RuleError):
        err = e
    elif isinstance(e, KeyError):
        err = RuleError.of("eval.missing_field", rule=rule, field=e.args[0])
    elif isinstance(e, (TypeError, AttributeError)):
        err = RuleError.of("eval.bad_shape", rule=rule, form=form, detail=str(e))
    elif isinstance(e, (ArithmeticError, ValueError)):
        # decimal.Overflow, InvalidOperation (NaN), int() of a huge value: no result
        err = RuleError.of("eval.out_of_range", rule=rule, detail=e.__class__.__name__)
    else:
        err = RuleError.of("eval.internal", rule=rule, line=line,
                           detail=f"{e.__class__.__name__}: {str(e)[:120]}")
    return in_rule(err, *place)


_KIND_WORDS = {"integer": word("a whole number"), "number": word("a number"), "string": word("a text"),
               "boolean": word("true/false"), "array": word("a list"), "date": word("a date")}
# What `_found` names: a JSON value's Python type (the words in the catalog for the zh message).
_FOUND_WORDS = (word("nothing"), word("str"), word("int"), word("float"), word("bool"), word("list"),
                word("dict"), word("Decimal"))


def _found(value) -> str:
    return "nothing" if value is None else type(value).__name__


def as_number(value, name, rule):
    """A JSON number as an exact value: ints stay ints, floats become the decimal they print as."""
    cls = value.__class__
    if cls is int or cls is D:
        return value
    if cls is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise RuleError.of("eval.wrong_type", rule=rule, field=name, expected="a number",
                            found="NaN/inf")
        return D(repr(value))
    raise RuleError.of("eval.wrong_type", rule=rule, field=name, expected="a number", found=_found(value))


HUGE_EXPONENT = 30      # |x| ≥ 10^31 is no amount a form holds: refused before int() (quadratic)


def out_of_range(value, name, rule):
    """`value` (a Decimal) is too large to compute with exactly, or not a number at all."""
    return RuleError.of("eval.out_of_range", rule=rule, field=name,
                     detail=f"`{name}` = {str(value)[:24]}")


def as_integer(value, name, rule):
    v = as_number(value, name, rule)
    if v.__class__ is D:
        if not v.is_finite() or v.adjusted() > HUGE_EXPONENT:
            raise out_of_range(v, name, rule)
        if v != v.to_integral_value():
            raise RuleError.of("eval.wrong_type", rule=rule, field=name, expected="a whole number",
                            found=str(v))
        v = int(v)
    return v


def as_kind(value, kind, name, rule):
    if kind == "number":
        return as_number(value, name, rule)
    if kind == "integer":
        return as_integer(value, name, rule)
    expected = {"string": str, "date": str, "boolean": bool, "array": list}[kind]
    if value.__class__ is not expected:
        raise RuleError.of("eval.wrong_type", rule=rule, field=name, expected=_KIND_WORDS[kind],
                        found=_found(value))
    return value


_NUMERIC_KINDS = frozenset({"number", "integer"})


def read(entry, name, kind, scale, rule, default=None):
    """A field of a history entry or list item, checked and scaled to its canonical unit;
    missing, its form's `default` when the form gives one."""
    if entry.__class__ is not dict:
        raise RuleError.of("eval.bad_history")
    try:
        value = entry[name]
    except KeyError:
        if default is None:
            raise RuleError.of("eval.missing_field", rule=rule, field=name) from None
        value = default
    cls = value.__class__
    if scale == 1 and (cls is D and kind == "number" or cls is int and kind in _NUMERIC_KINDS):
        return value            # the common case: already exact, nothing to convert
    if value is None:
        raise RuleError.of("eval.missing_field", rule=rule, field=name)
    value = as_kind(value, kind, name, rule)
    return value * scale if scale != 1 else value


def div(a, b, rule, line):
    if not b:
        raise RuleError.of("eval.division_by_zero", rule=rule, line=line)
    if a.__class__ is int and b.__class__ is int:
        q, r = divmod(a, b)
        return q if not r else D(a) / b
    try:
        return a / b
    except (DivisionByZero, InvalidOperation):
        raise RuleError.of("eval.division_by_zero", rule=rule, line=line) from None


def floor_div(a, n):
    if a.__class__ is int:
        return a // n
    if not a.is_finite() or a.adjusted() > HUGE_EXPONENT:
        raise OverflowError("too large to count")          # the rule's code says eval.out_of_range
    return int((a / n).to_integral_value(rounding=ROUND_FLOOR))


def average(values, rule, line, func="average"):
    if not values:
        raise RuleError.of("eval.empty_window", rule=rule, line=line, func=func)
    return _mean(sum(values), len(values))


def _mean(total, n):
    if total.__class__ is int and total % n == 0:
        return total // n
    return D(total) / n


def minimum(values, rule, line):
    if not values:
        raise RuleError.of("eval.empty_window", rule=rule, line=line, func="min")
    return min(values)


def maximum(values, rule, line):
    if not values:
        raise RuleError.of("eval.empty_window", rule=rule, line=line, func="max")
    return max(values)


def previous(history, name, kind, scale, rule, default=None):
    """The field in the period just before (history is a periods.Timeline)."""
    if not history:
        raise NoHistory.of("eval.no_history", rule=rule, field=name)
    entry = history[-1]
    if entry.__class__ is _GAP:
        raise MissingPeriod(rule, name, entry.period)
    return read(entry, name, kind, scale, rule, default)


def baseline(history, name, kind, scale, rule, line, default=None, upto=None):
    """The mean over every earlier period that has a submission; `upto`: over the first `upto`
    periods of the history only (a streak's earlier period: `baseline` as it stood then)."""
    if history.__class__ is Timeline:
        end = len(history) if upto is None else upto
        kept = history.kept
        if kept is not None:            # the keeper's running sums: no walk
            sums, start, epoch, entries = kept
            n = min(end, entries)
            if n:                       # none: the walk says NoHistory
                total = sums.total((name, kind, scale, default), history, start, epoch, n,
                                   read, rule)
                if total is not None:
                    return _mean(total, n)
        sums = _running_sums(history, name, kind, scale, rule, default)
        if end < len(sums):
            total, n = sums[end]
            if not n:
                raise NoHistory.of("eval.no_history", rule=rule, field=name)
            return _mean(total, n)
    # a field that does not read as a number somewhere: read() says where, every time
    entries = history if upto is None else history[:upto]
    values = [read(e, name, kind, scale, rule, default) for e in entries if e.__class__ is not _GAP]
    if not values:
        raise NoHistory.of("eval.no_history", rule=rule, field=name)
    return average(values, rule, line)


def _running_sums(history: Timeline, name, kind, scale, rule, default) -> list:
    """(total, count) of the field over each prefix of a Timeline — [k]: the first k periods —
    worked out once for all the baselines of its evaluation (a streak's reads the history
    once for each period it looks back on), added in the order `sum` adds them.  They stop
    before the first entry read() refuses: a baseline reaching it reads entry by entry."""
    kept = history.__dict__.setdefault("baseline_sums", {})
    key = (name, kind, scale, default)
    sums = kept.get(key)
    if sums is None:
        total, n, sums = 0, 0, [(0, 0)]
        try:
            for e in history:
                if e.__class__ is not _GAP:
                    total, n = total + read(e, name, kind, scale, rule, default), n + 1
                sums.append((total, n))
        except (RuleError, ArithmeticError, TypeError, ValueError):
            pass
        kept[key] = sums
    return sums


def present(entry) -> bool:
    """Does this timeline entry hold a submission (not a Gap)?"""
    return entry.__class__ is not _GAP


def growth(current, prior, rule, field):
    if not prior:
        raise NoHistory.of("eval.no_history", rule=rule, field=field)
    return D(current - prior) / prior


def guarded(fn):
    """Evaluate a condition that needs history; without enough history it does not hold."""
    try:
        return fn()
    except NoHistory:
        return False


def guarded_traced(T, node_id, fn):
    try:
        return fn()
    except MissingPeriod as err:
        T.append((Missing, node_id, err.period))
        return False
    except NoHistory:
        T.append((Short, node_id))
        return False


def reached(records, bound: dict, late: tuple):
    """An evaluation stopped by an error: `records` with those of the clauses left to be
    worked out from the result (compiler.RuleCompiler.derived) whose line ran — its local
    `done` is set (`bound`: the function's locals) — each where its line would have put it,
    before any record of a later node.  None (trace=False) stays None."""
    if records is None:
        return None
    out = list(records)
    for done, value, node in late:
        if done in bound:
            at = next((k for k, rec in enumerate(out) if rec[1] > node), len(out))
            out.insert(at, (Valued, node, bound[value]))
    return out


def consecutive(current, history, n, test, rule=""):
    """True when `current` holds and so does `test(i)` for each of the n-1 periods before it
    on the calendar.  A Gap among them breaks the streak (MissingPeriod, newest first);
    history that does not reach back far enough is NoHistory."""
    if not current:
        return False
    start = len(history) - (n - 1)
    for i in range(len(history) - 1, start - 1, -1):
        if i < 0:
            raise NoHistory.of("eval.no_history", rule=rule, field="")
        if history[i].__class__ is _GAP:
            raise MissingPeriod(rule, "", history[i].period)
    return all(test(i) for i in range(start, len(history)))


def is_blank(value) -> bool:
    return value is None or value == "" or value == [] or (
        value.__class__ is str and not value.strip())


DEFAULT_CYCLE_ANCHOR = "2024-01-01"     # a Monday; cycles of N weeks count from here


def _date(value, name, rule):
    import datetime as dt
    if value.__class__ is not str:
        raise RuleError.of("eval.wrong_type", rule=rule, field=name, expected="a date",
                        found=_found(value))
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise RuleError.of("eval.wrong_type", rule=rule, field=name, expected="a date",
                        found=value) from None


def cycle_index(day, n, unit, anchor):
    if unit == "week":
        return (day - anchor).days // (7 * n)
    return ((day.year * 12 + day.month) - (anchor.year * 12 + anchor.month)) // n


def cycle_count(facts, history, date_field, n, unit, anchor, rule):
    """How many earlier entries in `history` fall in the same cycle as `facts`."""
    import datetime as dt
    start = dt.date.fromisoformat(anchor or DEFAULT_CYCLE_ANCHOR)
    current = cycle_index(_date(facts.get(date_field), date_field, rule), n, unit, start)
    count = 0
    for entry in history:
        if entry.__class__ is _GAP:
            continue
        if entry.__class__ is not dict:
            raise RuleError.of("eval.bad_history")
        day = _date(entry.get(date_field), date_field, rule)
        if cycle_index(day, n, unit, start) == current:
            count += 1
    return count


def so_far(form, facts, unit, rule) -> int:
    """How many of the form's periods before the facts' lie inside the current `unit`."""
    return earlier_inside(form.period, unit, day_of(form, facts, rule))


def namespace() -> dict:
    """Globals for compiled rule code: these helpers and nothing else (no builtins import)."""
    ns = {name: obj for name, obj in globals().items()
          if callable(obj) and not name.startswith("_") and name != "namespace"}
    ns.update({"D": D, "RuleError": RuleError, "NoHistory": NoHistory, "NT": tuple.__new__,
               "FACT_FAULTS": FACT_FAULTS,
               "timeline": timeline,
               "CMP": Compared, "VAL": Valued,
               "__builtins__": {"len": len, "sum": sum, "min": min, "max": max, "abs": abs,
                                "any": any, "all": all, "int": int, "range": range, "zip": zip,
                                "list": list, "dict": dict, "KeyError": KeyError,
                                "TypeError": TypeError, "AttributeError": AttributeError,
                                "ArithmeticError": ArithmeticError, "ValueError": ValueError,
                                "str": str, "bool": bool, "Exception": Exception,
                                "locals": locals}})     # an error's handler: runtime.reached
    return ns
