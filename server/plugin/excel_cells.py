"""Excel cells read as people type them (docs/plugin.md, "Excel import").

Numbers: `27%` in a percent field is 0.27 (dsl/percents.py, the language's own reading);
`90万` or `90万元` in a money field is 900000 元 and `3天` in a field of days is 3
(dsl/units.py, as a rule literal reads); full-width digits and thousands separators are
read as their ASCII twins.  Dates: Excel date cells, `2026/6/8`, `2026-6-8`, `2026.6.8` and
`2026年6月8日`; a month field (`2026-07`) takes `2026/7` and `2026年7月`.  People: an id of the
organisation chart, or a name that exactly one person of the chart has.

Each reader answers (value, problem): a problem is a msg(...) for the cell; a value the reader
cannot place is passed on as text for the form's JSON Schema check to word.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from trimtab.dsl.percents import percent_text
from trimtab.dsl.units import FIELD_UNITS, dimension, in_unit, parse_quantity
from trimtab.server.messages import Msg, msg
from trimtab.server.core import limits

_DAY = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
_SEPARATORS = str.maketrans({",": None, " ": None, "\u00a0": None})
UNIT_NAMES = {"ratio": msg("a percentage"), "duration": msg("a duration"), "money": msg("an amount of money")}


def typed(value) -> str:
    """A text cell as typed on any keyboard: full-width digits, ％ and ，read as ASCII."""
    return unicodedata.normalize("NFKC", str(value)).strip()


def decimal_of(value) -> Decimal | None:
    """A plain number (a number cell, or a text of digits with thousands separators)."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        number = Decimal(typed(value).translate(_SEPARATORS)) if isinstance(value, str) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None      # "NaN", "Infinity" are not numbers


def read_number(value, spec: dict) -> tuple[object, Msg | None]:
    """A number for a field of `spec` (its `x-unit` says how units convert), or the text."""
    number = decimal_of(value)
    if number is not None or not isinstance(value, str):
        return (number if number is not None else value), None
    text = typed(value).translate(_SEPARATORS)
    field_unit = FIELD_UNITS.get(spec.get("x-unit") or "")
    if field_unit == "percent" and percent_text(text) is not None:
        return text, None       # '27%': the form's percent reading makes it 0.27 and checks its range
    try:
        quantity, unit = parse_quantity(text)
    except (ValueError, KeyError):                  # not a number, or a word that is no unit
        return value, None
    if unit is None:
        return Decimal(quantity), None
    if field_unit is None or dimension(unit) != dimension(field_unit):
        wanted = UNIT_NAMES.get(dimension(field_unit) or "", msg("a plain number"))
        return value, msg("`{value}` is {found}; this column holds {wanted}", value=value.strip(),
                          found=UNIT_NAMES[dimension(unit)], wanted=wanted)
    number = in_unit(quantity, field_unit)
    return (Decimal(int(number)) if number == number.to_integral_value() else number.normalize()), None


def read_date(value) -> tuple[object, Msg | None]:
    """An ISO date from a date cell or a date as people write it; other texts pass on."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat(), None
    if isinstance(value, dt.date):
        return value.isoformat(), None
    m = _DAY.match(typed(value))
    if m is None:
        return value, None
    try:
        return dt.date(*(int(g) for g in m.groups())).isoformat(), None
    except ValueError:
        return value, msg("`{value}` is not a date of the calendar", value=str(value).strip())


def read_month(value, pattern: str) -> object:
    """`2026/7`, `2026年7月` or a date cell as `2026-07` when the field's pattern takes that."""
    if isinstance(value, (dt.date, dt.datetime)):
        candidate = f"{value.year}-{value.month:02d}"
    else:
        m = _MONTH.match(typed(value))
        if m is None:
            return value
        candidate = f"{m.group(1)}-{int(m.group(2)):02d}"
    try:
        return candidate if re.search(pattern, candidate) else value
    except re.error:                                # a pattern Python cannot read: leave it
        return value


class People:
    """The organisation chart as an importer reads it: ids, and names that point to one id."""

    def __init__(self, session):
        from sqlalchemy import select

        from trimtab.server.storage.models import Person
        self.ids: set[str] = set()
        self.by_name: dict[str, list[str]] = {}
        for person_id, name in session.execute(select(Person.id, Person.name)):
            self.ids.add(person_id)
            if name:
                self.by_name.setdefault(name.strip(), []).append(person_id)

    def resolve(self, value) -> tuple[str | None, Msg | None]:
        """(id, None) for an id or a unique name; (None, why) otherwise."""
        text = typed(value)
        if text in self.ids:
            return text, None
        named = sorted(self.by_name.get(text, []))
        if len(named) == 1:
            return named[0], None
        if named:
            return None, msg("`{name}` is the name of {count} people ({ids}): write the id",
                             name=text, count=len(named), ids=", ".join(named))
        return None, msg("`{rep}` is not in the organisation chart", rep=text)


def read_cell(value, spec: dict) -> tuple[object, Msg | None]:
    """An Excel cell → the schema's type; (None, None) for an empty cell (the schema says if
    it was required)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if spec.get("format") == "date":
        return read_date(value)
    if spec.get("type") in ("number", "integer"):
        number, problem = read_number(value, spec)
        if isinstance(number, Decimal) and spec.get("type") == "integer" \
                and limits.number_problem(number) is None and number == number.to_integral_value():
            return int(number), problem        # within 10^15: never int() of a huge exponent
        return number, problem
    if spec.get("type") == "array":
        return [part.strip() for part in str(value).split(";") if part.strip()], None
    if "pattern" in spec:
        value = read_month(value, spec["pattern"])
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip(), None
