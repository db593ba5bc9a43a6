"""Where each kind of clause keeps its tunable numbers: the walk over a rule file's AST that
parameters.py runs.  Each rule kind's module names its clauses' numbers (its `params` hook,
given a Clause below); the numbers inside conditions and formulas are found by one walk over
expressions.

Each number is placed on its token by the node's own location (literals, phrases such as
`for 2 consecutive weeks`) or, for a number a clause node keeps without one (`weight x 50%`,
`within ±15%`), as the clause's token of that type.  The limits are the checker's
(check_limits.py, limits.py and each kind's check): the edit is checked again by a load.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import asdict, dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any, NamedTuple, Optional

from lark import Token

from . import ast as A
from .catalogs import tr, word
from .keywords import FUNCTIONS
from .limits import MAX_ABS, MAX_COUNT, MAX_DECIMALS, MAX_DURATION_HOURS
from .parser import base_type
from .units import UNITS

# Tokens that carry a number a parameter may be (keyword spellings folded by base_type).
NUMBER_TOKENS = frozenset({
    "NUMBER", "INT", "PERCENT", "SIGNED_PERCENT", "QUANTITY", "DURATION", "POINTS",
    "AT_LEAST_OF", "CONSECUTIVE", "LAST_WINDOW", "FOR_EVERY", "COUNTS_TOWARD", "DAY_OF_MONTH",
    "NTH_WEEKDAYS"})
# A number inside a token: decimals where the grammar allows them (\d also reads full-width
# digits, which Decimal and int read too).
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Parameter:
    id: str                     # rule/clause/slot, stable across edits of other numbers
    rule: str                   # the rule's name (`@DATE` for a dated version), or a reference's
    kind: str                   # alert, score, …, schedule, reference
    clause: str                 # when.2, line.1, adjust, part.customer_points@2026-08-05, …
    slot: str                   # points, cap, band, 1, 2, …
    role: str                   # what the number does: threshold, weight, points, band, …
    label_en: str
    label_zh: str
    value: Decimal              # as written, in the rule's notation (75 for `75%`, signed)
    text: str                   # the token it stands in, as written (`75%`, `±15%`, `+20`)
    suffix: str                 # the unit written after it in that token (`%`, `万`, `days`)
    unit: str                   # percent, yuan, wan, count, number, points, hours, days, …
    minimum: Optional[Decimal]  # the limits the language enforces, in the same notation
    maximum: Optional[Decimal]
    min_open: bool              # the minimum itself is refused (a band is above 0%)
    max_open: bool
    decimals: int               # digits allowed after the point (0: a whole number)
    group: Optional[str]        # parameters that must add up to 100% together
    file: str
    line: int                   # 1-based, of the digits (and sign) that are replaced
    column: int                 # 1-based
    end_line: int
    end_column: int             # 1-based, one past the last character
    start: int                  # the same span as character offsets into the text
    end: int

    def allows(self, value: Decimal) -> bool:
        """Within the limits (not counting the decimals written)."""
        low, high = self.minimum, self.maximum
        if low is not None and (value < low or (self.min_open and value == low)):
            return False
        if high is not None and (value > high or (self.max_open and value == high)):
            return False
        return True

    def to_json(self) -> dict:
        out = asdict(self)
        for key in ("value", "minimum", "maximum"):
            if out[key] is not None:
                out[key] = _plain(out[key])
        return out


def _plain(value: Decimal):
    """An int when whole, else the decimal as a string (exact, as JSON numbers are not)."""
    return int(value) if value == value.to_integral_value() else format(value, "f")


class Sites:
    """The tokens of one parsed file by where they start, and the parameters found so far.

    param_sites.py walks the AST and calls `add` with the token a number came from (found by
    the node's location, or among the clause's tokens by type), which of the token's numbers
    it is, and what it means.
    """

    def __init__(self, text: str, tree, filename: str, schemas: dict):
        self.text, self.file, self.schemas = text, filename, schemas
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.tokens = sorted((t for t in tree.scan_values(lambda v: isinstance(v, Token))
                              if base_type(t.type) in NUMBER_TOKENS), key=lambda t: t.start_pos)
        self.by_start = {t.start_pos: t for t in self.tokens}
        self.found: list[Parameter] = []
        self.seen: set = set()

    def offset(self, line: int, column: int) -> int:
        return self.line_starts[line - 1] + column - 1

    def token_at(self, loc) -> Optional[Token]:
        """The number token a node's location starts at."""
        return self.by_start.get(self.offset(loc.line, loc.column))

    def tokens_in(self, loc, *types: str) -> list[Token]:
        """The number tokens of `types` inside a clause's span, in order."""
        start, end = self.offset(loc.line, loc.column), self.offset(loc.end_line, loc.end_column)
        return [t for t in self.tokens if start <= t.start_pos < end and base_type(t.type) in types]

    def add(self, tok: Token, rule: str, kind: str, clause: str, slot: str, role: str,
            labels: tuple[str, str], unit: str, limits: "Limits", index: int = 0,
            signed: bool = False, negated: bool = False, group: Optional[str] = None) -> None:
        """One parameter: the `index`-th number of `tok`.  `signed`: the token's sign is part of
        it (points: `+20`); `negated`: a minus before it makes it negative (`< -20%`)."""
        spans = list(_NUMBER.finditer(str(tok)))
        if index >= len(spans):
            return
        digits, base = spans[index], tok.start_pos or 0
        start, end = base + digits.start(), base + digits.end()
        value = Decimal(digits.group(0))
        if base_type(tok.type) == "NTH_WEEKDAYS" and str(tok)[digits.end():digits.end() + 2] in _ORDINALS:
            end += 2                        # `2nd`: the suffix follows the number
        if signed:
            start = base
            if str(tok)[0] in "-−":
                value = -value
        elif negated:
            value = -value
        if (start, end) in self.seen:       # a rating's dated versions share their part lines
            return
        self.seen.add((start, end))
        line, column = self._position(start)
        end_line, end_column = self._position(end)
        ident = f"{rule}/{clause}/{slot}"
        self.found.append(Parameter(
            ident, rule, kind, clause, slot, role, labels[0], labels[1], value,
            self.text[base:tok.end_pos], _unit_after(tok, digits.end()), unit, limits.low,
            limits.high, limits.low_open, limits.high_open, limits.decimals, group, self.file, line, column, end_line,
            end_column, start, end))

    def _position(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1


def _unit_after(tok: Token, end: int) -> str:
    """A literal's unit after its digits (`75%` → `%`); phrases carry none a value repeats."""
    return str(tok)[end:].strip() if base_type(tok.type) in _UNIT_TOKENS else ""


_ORDINALS = ("st", "nd", "rd", "th")
_UNIT_TOKENS = {"PERCENT", "SIGNED_PERCENT", "QUANTITY", "DURATION"}


@dataclass(frozen=True)
class Limits:
    low: Optional[Decimal] = None
    high: Optional[Decimal] = None
    low_open: bool = False
    high_open: bool = False
    decimals: int = 0



# A number's unit as the parameter names it (units.UNITS keys → the form's words).
UNIT_NAMES = {"percent": "percent", "yuan": "yuan", "wan": "wan", "minute": "minutes",
              "hour": "hours", "day": "days", "week": "weeks", "month": "months"}
_DECIMAL_TOKENS = {"NUMBER", "PERCENT", "QUANTITY", "SIGNED_PERCENT", "COUNTS_TOWARD"}

HUNDRED = Decimal(100)
WEIGHT = Limits(Decimal(0), HUNDRED, decimals=MAX_DECIMALS)            # check_percent [0, 100%]
BAND = Limits(Decimal(0), HUNDRED, low_open=True, decimals=MAX_DECIMALS)   # check_band (0, 100%]
COUNT = Limits(Decimal(1), Decimal(MAX_COUNT))                          # limit_count
POINTS = Limits(-MAX_ABS, MAX_ABS, True, True)                          # limit_number, whole
NUMBER = Limits(Decimal(0), None, decimals=MAX_DECIMALS)                # a reference value


def duration_limits(unit: str) -> Limits:
    """A whole number of `unit`s, at least 1, within MAX_DURATION_HOURS (check_limits)."""
    hours = UNITS[unit][1] if unit in UNITS and UNITS[unit][0] == "duration" else Decimal(1)
    return Limits(Decimal(1), Decimal(MAX_DURATION_HOURS) / hours // 1)


def labels(template: str, en: str = "", zh: str = "", **more: str) -> tuple[str, str]:
    """A parameter's label in en and zh, from a template marked with word()."""
    return template.format(x=en, **more), tr("zh", template).format(x=zh or en, **more)


class Pending(NamedTuple):
    """A number found in a clause, before it is given its slot."""
    token: Any
    role: str
    labels: tuple
    unit: str
    limits: Limits
    nth: int = 0                # which number of the token
    negated: bool = False


class Clause:
    """The rule being walked and one of its clauses: what `add` needs besides the number."""

    def __init__(self, sites: Sites, rule_key: str, kind: str, fields: dict):
        self.sites, self.rule, self.kind, self.fields = sites, rule_key, kind, fields

    def add(self, tok, clause: str, slot: str, role: str, labels, unit: str, limits: Limits,
            index: int = 0, signed: bool = False, group: Optional[str] = None) -> None:
        if tok is not None:
            self.sites.add(tok, self.rule, self.kind, clause, slot, role, labels, unit, limits,
                           index, signed=signed, group=group)

    def first(self, loc, *types: str):
        found = self.sites.tokens_in(loc, *types)
        return found[0] if found else None

    def numbered(self, clause: str, found: list[Pending]) -> None:
        """The numbers of a clause's expressions, slotted 1, 2, … in the order of the text."""
        found = sorted(found, key=lambda p: (p.token.start_pos, p.nth))
        for n, p in enumerate(found, 1):
            self.sites.add(p.token, self.rule, self.kind, clause, str(n), p.role, p.labels,
                           p.unit, p.limits, p.nth, negated=p.negated)

    # ---------------------------------------------------------------- expressions
    def in_expr(self, expr, subject=None) -> list[Pending]:
        """The tunable numbers of an expression: the constants a comparison compares with, the
        percentages of `P% of X`, windows and streaks.  Arithmetic constants (`1 + growth`,
        `round(x, 2)`) are the formula's shape, not a setting."""
        if isinstance(expr, A.Compare):
            return self._compare(expr)
        if isinstance(expr, A.BoolOp):
            return [p for item in expr.items for p in self.in_expr(item)]
        if isinstance(expr, (A.Not, A.Neg)):
            return self.in_expr(expr.operand, subject)
        if isinstance(expr, A.PercentOf):
            what = subject or self.name_of(expr.operand)
            return [self._num(expr.percent, "threshold" if subject else "percent_of", what),
                    *self.in_expr(expr.operand)]
        if isinstance(expr, A.Binary):
            return self.in_expr(expr.left) + self.in_expr(expr.right)
        if isinstance(expr, A.Call):
            return self._call(expr)
        return []

    def _compare(self, cmp: A.Compare) -> list[Pending]:
        found: list[Pending] = []
        for side, other in ((cmp.left, cmp.right), (cmp.right, cmp.left)):
            subject = self.name_of(other)
            if isinstance(side, A.Num):
                found.append(self._num(side, "threshold", subject, self.field_unit(other)))
            elif isinstance(side, A.Neg) and isinstance(side.operand, A.Num):
                found.append(self._num(side.operand, "threshold", subject,
                                       self.field_unit(other), negated=True))
            else:
                found += self.in_expr(side, subject if isinstance(side, A.PercentOf) else None)
        if cmp.consecutive is not None:
            found.append(Pending(self.sites.token_at(cmp.consecutive.loc), "consecutive",
                                 labels(word("consecutive periods: {x}"), *self.name_of(cmp.left)),
                                 "count", COUNT))
        return found

    def _call(self, call: A.Call) -> list[Pending]:
        found = [p for arg in call.args for p in self.in_expr(arg)]
        if call.where is not None:
            found += self.in_expr(call.where)
        if call.window is not None and not call.window.so_far:
            found.append(Pending(self.sites.token_at(call.window.loc), "window",
                                 labels(word("periods counted: {x}"), *self.name_of(call)),
                                 "count", COUNT))
        return found

    def _num(self, num: A.Num, role: str, subject, fallback: str = "number",
             negated: bool = False) -> Pending:
        unit = UNIT_NAMES.get(num.unit or "", fallback)
        tok = self.sites.token_at(num.loc)
        decimals = MAX_DECIMALS if tok is not None and tok.type in _DECIMAL_TOKENS else 0
        top = (MAX_ABS / (UNITS[num.unit][1] if num.unit in UNITS else 1)).to_integral_value(ROUND_DOWN)
        limits = Limits(-top, Decimal(0), True, False, decimals) if negated else \
            Limits(Decimal(0), top, False, True, decimals)
        template = word("threshold: {x}") if role == "threshold" else word("percent of {x}")
        return Pending(tok, role, labels(template, *subject), unit, limits, negated=negated)

    # ---------------------------------------------------------------- names
    def name_of(self, expr) -> tuple[str, str]:
        """What a number is about, in en and zh: a field by its id and its label."""
        if isinstance(expr, A.Ref):
            field = self.fields.get(expr.parts[-1])
            en = field.name if field is not None and len(expr.parts) == 1 else expr.dotted
            zh = field.label if field is not None and field.label else expr.dotted
            return en, zh
        if isinstance(expr, A.Call) and expr.args:
            en, zh = self.name_of(expr.args[0])
            spellings = FUNCTIONS.get(expr.func, (expr.spelled, expr.spelled))
            return f"{spellings[0]}({en})", f"{spellings[1]}({zh})"
        if isinstance(expr, (A.PercentOf, A.Not)):
            return self.name_of(expr.operand)
        if isinstance(expr, A.Compare):
            return self.name_of(expr.left)
        if isinstance(expr, A.BoolOp) and expr.items:
            return self.name_of(expr.items[0])
        text = _source(self.sites.text, self.sites, expr.loc)
        return text, text

    def name_of_field(self, name: str) -> tuple[str, str]:
        """A list item's field (a split's weight column), by its id and its label."""
        field = self.fields.get(name)
        return (field.name, field.label or name) if field is not None else (name, name)

    def field_unit(self, expr) -> str:
        """A plain number takes the unit of what it is compared with."""
        if isinstance(expr, A.Ref):
            field = self.fields.get(expr.parts[-1])
            if field is not None:
                if field.unit in UNIT_NAMES:
                    return "fraction" if field.unit == "percent" else UNIT_NAMES[field.unit]
                return "count" if field.kind == "integer" else "number"
        return "number"


def _source(text: str, sites: Sites, loc) -> str:
    return text[sites.offset(loc.line, loc.column):sites.offset(loc.end_line, loc.end_column)]


def field_names(schema) -> dict:
    """A form's fields and its list items' fields, by id and by label."""
    out: dict = {}
    if schema is None:
        return out
    for group in [schema.fields] + [f.items for f in schema.fields.values() if f.items]:
        for name, f in group.items():
            out.setdefault(name, f)
            if f.label:
                out.setdefault(f.label, f)
    return out
