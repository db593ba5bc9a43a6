"""Percent fields hold fractions: 0.75 is 75%.

A field with `x-unit: percent` takes a fraction in JSON (`0.75`) or a percent text as
platforms and spreadsheets write it (`"75%"`, `"75 ％"`), which becomes the fraction before
anything evaluates or stores it.  A bare number outside the field's plausible range is
refused: `pipeline_coverage: 70` almost surely means 70%, not 7,000%.

The plausible range is the schema's own `minimum`/`maximum` for the field, never wider than
±MAX_FRACTION (±1000%): shares that cannot pass the whole say 0–1, coverage and progress
0–10, growth rates −1–10.  The same rule holds for a webhook, `/v1/evaluate`, the CLI's facts
file and an Excel row (docs/language.md, "Percent fields").
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import NamedTuple, Optional

from .diagnostics import RuleError

MAX_FRACTION = Decimal(10)          # ±1000%: wider than any percent a form could mean

_PERCENT_TEXT = re.compile(r"^\s*([+-]?\d{1,16}(?:\.\d{1,16})?)\s*[%％]\s*$")


class PercentField(NamedTuple):
    """Where a percent field is (`name`, or `name` inside the items of `within`) and the
    range of fractions it plausibly holds."""
    name: str
    within: Optional[str]           # the list field whose items hold it, or None
    low: Decimal
    high: Decimal


def percent_problem(code: str, path: str, **args) -> RuleError:
    """A percent value outside its field's range: `code` says whether it came as a bare
    number (eval.percent_not_fraction, with the fix) or as a percent text; the JSON path of
    the value is in its details (`path`)."""
    return RuleError.of(code, path=path, **args)


def percent_text(value: str) -> Optional[Decimal]:
    """'75%' → Decimal('0.75'); None when the text is not a number followed by %."""
    m = _PERCENT_TEXT.match(value)
    if m is None:
        return None
    try:
        return Decimal(m.group(1)) / 100
    except InvalidOperation:        # pragma: no cover - the pattern admits only digits
        return None


def _bound(spec: dict, keys: tuple, default: Decimal, pick) -> Decimal:
    stated = [Decimal(str(spec[k])) for k in keys if isinstance(spec.get(k), (int, float))
              and not isinstance(spec.get(k), bool)]
    return pick([default] + stated)


def _range(spec: dict) -> tuple[Decimal, Decimal]:
    low = _bound(spec, ("minimum", "exclusiveMinimum"), -MAX_FRACTION, max)
    high = _bound(spec, ("maximum", "exclusiveMaximum"), MAX_FRACTION, min)
    return low, high


def percent_fields(raw: dict) -> tuple[PercentField, ...]:
    """The percent fields of a form's JSON Schema, top level and in lists of records."""
    found = []
    for name, spec in (raw.get("properties") or {}).items():
        if not isinstance(spec, dict):
            continue
        if spec.get("x-unit") in ("percent", "ratio"):
            found.append(PercentField(name, None, *_range(spec)))
        items = spec.get("items")
        if spec.get("type") == "array" and isinstance(items, dict):
            for inner, ispec in (items.get("properties") or {}).items():
                if isinstance(ispec, dict) and ispec.get("x-unit") in ("percent", "ratio"):
                    found.append(PercentField(inner, name, *_range(ispec)))
    return tuple(found)


def _pct(value: Decimal) -> str:
    return f"{(value * 100).normalize():f}%"


def _fraction(value, f: PercentField, path: str):
    """One value of a percent field → its fraction, or a RuleError; other values (texts
    that are not percents, booleans) pass through for the type checks to name."""
    if isinstance(value, str):
        number = percent_text(value)
        if number is None:
            return value
        if not f.low <= number <= f.high:
            raise percent_problem("eval.percent_out_of_range", path, field=f.name,
                                 value=value.strip(), low=_pct(f.low), high=_pct(f.high))
        return int(number) if number == number.to_integral_value() else number
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return value
    try:
        if f.low <= value <= f.high:        # the common case, compared without converting
            return value
    except ArithmeticError:                 # a signalling NaN: the limits refuse it elsewhere
        return value
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if number.is_finite():
        shown, fraction = f"{number.normalize():f}", f"{(number / 100).normalize():f}"
        if len(shown) > 24:                 # 10^1000 is not worth a screenful
            shown, fraction = f"{number:.3E}", f"{number / 100:.3E}"
        raise percent_problem("eval.percent_not_fraction", path, field=f.name, value=shown,
                             low=f"{f.low.normalize():f}", high=f"{f.high.normalize():f}",
                             low_pct=_pct(f.low), high_pct=_pct(f.high),
                             fraction=fraction, percent=f"{shown}%")
    return value


def normalise(fields: tuple[PercentField, ...], facts: dict, in_place: bool = False) -> dict:
    """`facts` with its percent texts as fractions (a copy when anything changed, unless
    `in_place`); a RuleError for a value outside its field's range."""
    out = facts
    for f in fields:
        if f.within is None:
            if f.name in facts:
                value = facts[f.name]
                fixed = _fraction(value, f, f"$.{f.name}")
                if fixed is not value:
                    if out is facts and not in_place:
                        out = dict(facts)
                    out[f.name] = fixed
            continue
        if not isinstance(out.get(f.within), list):
            continue
        copied = in_place
        for i in range(len(out[f.within])):
            item = out[f.within][i]
            if isinstance(item, dict) and f.name in item:
                value = item[f.name]
                fixed = _fraction(value, f, f"$.{f.within}[{i}].{f.name}")
                if fixed is value:
                    continue
                if not copied:
                    if out is facts:
                        out = dict(facts)
                    out[f.within] = list(out[f.within])
                    copied = True
                if not in_place:
                    item = out[f.within][i] = dict(item)
                item[f.name] = fixed
    return out
