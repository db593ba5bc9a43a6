"""Numbers with units.

Every quantity belongs to a dimension and is kept in that dimension's canonical unit:
money in 元 (yuan), durations in hours, ratios as fractions (80% → 0.8).  A unit mismatch is
a check error; arithmetic is exact decimal.
"""
from __future__ import annotations

import re

from .catalogs import word
from decimal import Decimal

# unit → (dimension, factor to the canonical unit)
UNITS: dict[str, tuple[str, Decimal]] = {
    "percent": ("ratio", Decimal("0.01")),
    "minute": ("duration", Decimal(1) / 60),   # 28 digits; a literal divides instead (exact)
    "hour": ("duration", Decimal(1)),
    "day": ("duration", Decimal(24)),
    "week": ("duration", Decimal(168)),
    "month": ("duration", Decimal(720)),      # a month as a duration is 30 days
    "yuan": ("money", Decimal(1)),
    "wan": ("money", Decimal(10000)),
}

# How a field's `x-unit` in a form schema may be written.
FIELD_UNITS = {
    "percent": "percent", "ratio": "percent", "minutes": "minute", "minute": "minute",
    "hours": "hour", "hour": "hour", "days": "day", "day": "day", "weeks": "week", "week": "week",
    "months": "month", "month": "month",
    "yuan": "yuan", "元": "yuan", "wan": "wan", "万元": "wan", "万": "wan",
}

_WORD_UNITS = {
    "%": "percent", "％": "percent",
    "minute": "minute", "minutes": "minute", "分钟": "minute",
    "h": "hour", "hour": "hour", "hours": "hour", "小时": "hour",
    "day": "day", "days": "day", "天": "day",
    "week": "week", "weeks": "week", "周": "week",
    "month": "month", "months": "month", "个月": "month",
    "元": "yuan", "万": "wan", "万元": "wan",
}

# How a unit is named after a number: (one, several), per language.
UNIT_WORDS = {"en": {"minute": ("minute", "minutes"), "hour": ("hour", "hours"), "day": ("day", "days"),
                     "week": ("week", "weeks"), "month": ("month", "months"), "yuan": ("元", "元"),
                     "wan": ("万", "万")},
              "zh": {"minute": ("分钟", "分钟"), "hour": ("小时", "小时"), "day": ("天", "天"),
                     "week": ("周", "周"), "month": ("个月", "个月"), "yuan": ("元", "元"),
                     "wan": ("万", "万")}}

DIMENSION_NAMES = {
    "en": {None: word("a number"), "ratio": word("a percentage"), "duration": word("a duration"),
           "money": word("an amount of money"), "bool": word("a condition"), "string": word("a text"),
           "list": word("a list")},
    "zh": {None: "数值", "ratio": "百分比", "duration": "时长", "money": "金额",
           "bool": "条件", "string": "文本", "list": "列表"},
}

_LITERAL = re.compile(r"^(\d+(?:\.\d+)?)\s*(.*)$")


def parse_quantity(text: str) -> tuple[Decimal | int, str | None]:
    """'25万' → (250000, 'wan'); '80%' → (Decimal('0.8'), 'percent'); '12' → (12, None)."""
    m = _LITERAL.match(text.strip())
    if not m:
        raise ValueError(text)
    digits, word = m.group(1), m.group(2).strip()
    number = Decimal(digits)
    if not word:
        return (int(number) if "." not in digits else number), None
    unit = _WORD_UNITS[word]
    value = number / 60 if unit == "minute" else number * UNITS[unit][1]
    return _tidy(value), unit


def in_unit(value, unit: str) -> Decimal:
    """A duration (or any quantity) from its canonical unit into `unit`: 1464 hours → 61 days."""
    if unit == "minute":
        return Decimal(value) * 60
    return Decimal(value) / UNITS[unit][1]


def parse_band(text: str) -> Decimal:
    """'±15%' → Decimal('0.15')."""
    found = re.search(r"\d+(?:\.\d+)?", text)
    if found is None:
        raise ValueError(text)
    digits = found.group(0)
    return Decimal(digits) / 100


def dimension(unit: str | None) -> str | None:
    return UNITS[unit][0] if unit else None


def _tidy(value: Decimal) -> Decimal | int:
    """Whole numbers become ints: exact, and faster in the evaluator."""
    if value == value.to_integral_value():
        return int(value)
    return value.normalize()
