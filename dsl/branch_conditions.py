"""An approval step's `when` as tests of form fields against constants, which a platform's
own workflow engine can run — or the reason it cannot, and then the server must decide.

What translates (read from the checked AST and its bindings, never from source text):
- a comparison of a required form field with a constant (`meeting = mid_quarter`,
  `amount >= 5000`, `coverage < 75%`), either side first;
- `abs(field)` against a constant, as a two-sided range: abs(x) > c ≡ x > c or x < -c;
- `and`, `or`, `not` of those;
- `field = a or field = b` on an enumerated field: membership in {a, b}.
The result is a disjunction of groups; each group tests each field once (a numeric range or a
set of options), every test of a group must hold.  Everything else — formulas (`change` is
computed from two fields), history, aggregates, optional fields (a blank one reads its default
here and matches nothing on a platform), texts without options, units other than percent —
is untranslatable, and the platform asks the server (POST /v1/workflows/<name>/evaluate).

Numbers are in the form's own terms: a percent field holds the fraction (0.15 for 15%), as the
webhook and every platform intake take it, so the constant 15% is 0.15 here.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import NamedTuple, Optional, Union

from . import ast as A

MAX_GROUPS = 8          # beyond this a platform's branch list is unreadable: ask the server
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}
_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "=": "!=", "!=": "="}
_UNITS = (None, "percent", "ratio")     # field units whose values are the constants' own numbers


@dataclass(frozen=True)
class Range:
    """low < x (or ≤ when low_closed) and x < high (or ≤); None: unbounded on that side."""
    field: str
    low: Optional[Decimal] = None
    low_closed: bool = False
    high: Optional[Decimal] = None
    high_closed: bool = False

    def empty(self) -> bool:
        if self.low is None or self.high is None:
            return False
        return self.low > self.high or (self.low == self.high and not (self.low_closed and self.high_closed))


@dataclass(frozen=True)
class OneOf:
    """x is one of `values` (options of an enumerated field)."""
    field: str
    values: tuple


Test = Union[Range, OneOf]


class Untranslatable(NamedTuple):
    reason: str


Groups = list          # list of groups; a group is a tuple of Tests (at most one per field)


def translate(compiled, expr: A.Expr) -> Union[Groups, Untranslatable]:
    """`expr` (a checked condition of `compiled`'s rule) as groups of field tests, or why not."""
    try:
        groups = _merge_options(_dnf(compiled, expr, negated=False))
    except _Refused as refused:
        return Untranslatable(refused.reason)
    if () in groups:
        return [()]                     # always: the step is unconditional on the platform
    if not groups:
        return Untranslatable("never holds")
    if len(groups) > MAX_GROUPS:
        return Untranslatable(f"more than {MAX_GROUPS} branches")
    return groups


class _Refused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _dnf(c, node, negated: bool) -> Groups:
    if isinstance(node, A.BoolOp):
        # De Morgan: under a `not`, and ↔ or.
        conjunction = (node.op == "and") != negated
        parts = [_dnf(c, item, negated) for item in node.items]
        return _and(parts) if conjunction else [g for p in parts for g in p]
    if isinstance(node, A.Not):
        return _dnf(c, node.operand, not negated)
    if isinstance(node, A.Compare):
        return _compare(c, node, negated)
    raise _Refused("not a comparison of a form field with a constant")


def _and(parts: list) -> Groups:
    groups: Groups = [()]
    for part in parts:
        groups = [g for a in groups for b in part if (g := _join(a, b)) is not None]
        if len(groups) > MAX_GROUPS * 4:
            raise _Refused(f"more than {MAX_GROUPS} branches")
    return groups


def _join(a: tuple, b: tuple) -> Optional[tuple]:
    """Both groups at once, one test per field; None when they cannot both hold."""
    tests = {t.field: t for t in a}
    for t in b:
        held = tests.get(t.field)
        if held is None:
            tests[t.field] = t
            continue
        both = _both(held, t)
        if both is None:
            return None
        tests[t.field] = both
    return tuple(sorted(tests.values(), key=lambda t: t.field))


def _both(x: Test, y: Test) -> Optional[Test]:
    if isinstance(x, OneOf) and isinstance(y, OneOf):
        values = tuple(v for v in x.values if v in y.values)
        return OneOf(x.field, values) if values else None
    assert isinstance(x, Range) and isinstance(y, Range), "a field is a number or an option"
    low, low_closed = x.low, x.low_closed
    if y.low is not None and (low is None or y.low > low or (y.low == low and not y.low_closed)):
        low, low_closed = y.low, y.low_closed
    high, high_closed = x.high, x.high_closed
    if y.high is not None and (high is None or y.high < high or (y.high == high and not y.high_closed)):
        high, high_closed = y.high, y.high_closed
    r = Range(x.field, low, low_closed, high, high_closed)
    return None if r.empty() else r


def _merge_options(groups: Groups) -> Groups:
    """Groups that differ only in the options of one field become one group: `meeting = a or
    meeting = b` is membership in {a, b}, one branch on a platform."""
    out: list = []
    for g in groups:
        for i, h in enumerate(out):
            merged = _union(h, g)
            if merged is not None:
                out[i] = merged
                break
        else:
            out.append(g)
    return out


def _union(a: tuple, b: tuple) -> Optional[tuple]:
    if len(a) != len(b) or [t.field for t in a] != [t.field for t in b]:
        return None
    differ = [(x, y) for x, y in zip(a, b) if x != y]
    if len(differ) > 1 or (differ and not isinstance(differ[0][0], OneOf)):
        return None
    if not differ:
        return a
    x, y = differ[0]
    joined = replace(x, values=x.values + tuple(v for v in y.values if v not in x.values))
    return tuple(joined if t == x else t for t in a)


# ---------------------------------------------------------------------- one comparison
def _compare(c, node: A.Compare, negated: bool) -> Groups:
    if node.consecutive is not None:
        raise _Refused("reads the history (`for N consecutive …`)")
    op, left, right = node.op, node.left, node.right
    if _constant(c, left) is not None and _constant(c, right) is None:
        op, left, right = _FLIP[op], right, left
    value = _constant(c, right)
    if value is None:
        raise _Refused("not a comparison of a form field with a constant")
    if negated:
        op = _NEGATE[op]
    if isinstance(left, A.Call) and left.func == "abs" and len(left.args) == 1 \
            and left.where is None and left.window is None:
        field = _field(c, left.args[0], number=True)
        return _absolute(field, op, _number(value))
    field = _field(c, left, number=not isinstance(value, str))
    if isinstance(value, str):
        return _option(c, field, op, value)
    return _ranges(field, op, _number(value))


def _ranges(field: str, op: str, v: Decimal) -> Groups:
    if op == "!=":
        return [(Range(field, high=v),), (Range(field, low=v),)]
    return [(
        {"<": Range(field, high=v), "<=": Range(field, high=v, high_closed=True),
         ">": Range(field, low=v), ">=": Range(field, low=v, low_closed=True),
         "=": Range(field, v, True, v, True)}[op],)]


def _absolute(field: str, op: str, v: Decimal) -> Groups:
    """abs(x) op v as ranges of x."""
    if op in (">", ">=", "!="):
        if v < 0 or (v == 0 and op == ">="):
            return [()]                                         # always
        if op == "!=":
            return _ranges(field, "!=", v) if v == 0 else \
                [(Range(field, high=-v),), (Range(field, -v, False, v, False),), (Range(field, low=v),)]
        closed = op == ">="
        return [(Range(field, high=-v, high_closed=closed),), (Range(field, low=v, low_closed=closed),)]
    if op == "=":
        return [] if v < 0 else _merge_options([(Range(field, -v, True, -v, True),),
                                                (Range(field, v, True, v, True),)])
    closed = op == "<="
    r = Range(field, -v, closed, v, closed)
    return [] if r.empty() else [(r,)]


def _option(c, field: str, op: str, value: str) -> Groups:
    options = tuple(c.form.fields[field].enum or ())
    if not options:
        raise _Refused(f"`{field}` is a text without options")
    if op == "=":
        return [(OneOf(field, (value,)),)]
    if op == "!=":
        rest = tuple(o for o in options if o != value)
        return [(OneOf(field, rest),)] if rest else []
    raise _Refused(f"orders the options of `{field}`")


def _field(c, node, number: bool) -> str:
    """The name of the required form field `node` reads, or refused."""
    b = c.ann.binding(node) if isinstance(node, A.Ref) else None
    if b is None or b.kind != "field":
        what = "a formula" if b is not None and b.kind == "formula" else "a computed value"
        raise _Refused(f"{_shown(node)} is {what}, not a form field")
    f = c.form.fields[b.name]
    if not f.required:
        raise _Refused(f"`{b.name}` is optional: a platform sees a blank where the rule reads its default")
    if number and (f.kind not in ("integer", "number") or f.unit not in _UNITS):
        raise _Refused(f"`{b.name}` is not a plain number or percent field")
    if not number and (f.kind != "string" or not f.enum):
        raise _Refused(f"`{b.name}` is not a field with options")
    return b.name


def _constant(c, node):
    """The constant `node` is (a Decimal or an option's text), or None."""
    if isinstance(node, A.Num):
        return Decimal(node.value) if node.unit in _UNITS else None
    if isinstance(node, A.Str):
        return node.value
    if isinstance(node, A.Neg):
        inner = _constant(c, node.operand)
        return -inner if isinstance(inner, Decimal) else None
    if isinstance(node, A.Ref):
        b = c.ann.binding(node)
        if b is not None and b.kind == "const" and not isinstance(b.value, bool):
            if isinstance(b.value, str):
                return b.value
            return Decimal(b.value) if isinstance(b.value, (int, Decimal)) else None
    return None


def _number(value) -> Decimal:
    if not isinstance(value, Decimal):
        raise _Refused("compares a number with a text")
    return value


def _shown(node) -> str:
    if isinstance(node, A.Ref):
        return f"`{node.dotted}`"
    if isinstance(node, A.Call):
        return f"`{node.spelled or node.func}(…)`"
    return "the compared value"


# ---------------------------------------------------------------------- steps
class StepBranch(NamedTuple):
    id: str                 # step1, step2 … as in workflows/*.json
    roles: list
    countersign: bool
    when: Optional[str]     # the condition as written; None: the step always applies
    groups: Optional[Groups]            # translated, when it translates
    callback: Optional[str]             # why the server decides, when it does not


def step_branches(compiled, text) -> list:
    """Every step of an approval rule with its condition translated or its callback reason."""
    out = []
    for i, s in enumerate(compiled.rule.steps, 1):
        groups, callback, when = None, None, None
        if s.cond is not None:
            when = text(compiled, s.cond)
            found = translate(compiled, s.cond)
            if isinstance(found, Untranslatable):
                callback = found.reason
            else:
                groups = found
        out.append(StepBranch(f"step{i}", list(s.roles), s.countersign, when, groups, callback))
    return out
