"""score: points from lines, capped, optionally counted toward a rating.

    score 行为分
        on behavior_log per rep
        +20 for every 3 effective_visits, at most 100
        +10 for each order, doubled where amount > 25万
        +30 when needs_report = complete
        -10 for each lead where hours_since_followup > 48h
        total at most 150
        counts 40% toward 季度评级
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple, Optional

from lark import Tree

from .. import ast as A
from .. import runtime as rt
from ..canon import anchor
from ..diagnostics import suggest
from ..schemas import spellings
from ..trace import Valued
from ..tokens import digits_in, number_in, tokens, whole_in
from ..units import parse_quantity
from ..catalogs import tr, word
from ..words import pct, show
from ..param_sites import COUNT, labels, POINTS, WEIGHT
from .common import Kind, expect_number, missing, set_once
from .rating import check_ratings


# ---------------------------------------------------------------------- nodes
@dataclass(eq=False)
class PointsLine:
    kind: str                       # every | per | when | each
    points: int
    loc: A.Loc
    n: int = 1                      # for every N
    field: Optional[A.Ref] = None   # every / per
    cond: Optional[A.Expr] = None   # when / each (each: None counts every item)
    doubled: Optional[A.Expr] = None    # each: items meeting it earn twice the points
    item: Optional[str] = None      # each: the list field's item name as written
    cap: Optional[int] = None


@dataclass(eq=False)
class Total:
    amount: int
    at_most: bool                   # `total at most`; else `total at least`
    loc: A.Loc


@dataclass(eq=False)
class CountsToward:
    weight: Decimal                 # 0.4 for `counts 40% toward`
    rating: str
    loc: A.Loc


@dataclass(eq=False)
class Score(A.Rule):
    lines: list = field(default_factory=list)
    total_max: Optional[Total] = None
    total_min: Optional[Total] = None
    counts: Optional[CountsToward] = None

    @property
    def total_loc(self) -> Optional[A.Loc]:
        """Where the totals are stated (the later of the two lines)."""
        locs = [x.loc for x in (self.total_max, self.total_min) if x is not None]
        return max(locs, key=lambda loc: (loc.line, loc.column)) if locs else None


class ScoreResult(NamedTuple):
    points: Any                     # the total, capped
    lines: tuple                    # points from each line, in order


# ---------------------------------------------------------------------- building
def _line(b, children, kind: str, **parts) -> PointsLine:
    """A points line of any form: its points and its cap are written alike in all four."""
    cap = next((c.children[-1] for c in children if isinstance(c, Tree) and c.data == "cap"), None)
    return PointsLine(kind, whole_in(tokens(children, "POINTS")[0]), b.span(children),
                      cap=None if cap is None else whole_in(str(cap)), **parts)


def build_every(b, children):
    n = int(number_in(tokens(children, "FOR_EVERY")[0]))
    return _line(b, children, "every", n=n, field=next(c for c in children if isinstance(c, A.Ref)))


def build_per(b, children):
    return _line(b, children, "per", field=next(c for c in children if isinstance(c, A.Ref)))


def build_when(b, children):
    return _line(b, children, "when", cond=next(c for c in children if isinstance(c, A.Expr)))


def build_each(b, children):
    doubled = next((c.children[-1] for c in children if isinstance(c, Tree) and c.data == "doubled"
                    and isinstance(c.children[-1], A.Expr)), None)
    return _line(b, children, "each", item=str(tokens(children, "NAME")[0]), doubled=doubled,
                 cond=next((c for c in children if isinstance(c, A.Expr)), None))


def build_total(at_most: bool):
    def build(b, children):
        amount = whole_in([c for c in children if getattr(c, "type", None) in ("POINTS", "INT")][-1])
        return Total(amount, at_most, b.span(children))
    return build


def build_weight_into(b, children):
    phrase, name = children
    value, _unit = parse_quantity(digits_in(phrase) + "%")
    return CountsToward(Decimal(value), str(name), b.span(children))


def attach(rule: Score, c) -> None:
    if isinstance(c, PointsLine):
        rule.lines.append(c)
    elif isinstance(c, Total):
        set_once(rule, "total_max" if c.at_most else "total_min", c, "total")
    elif isinstance(c, CountsToward):
        set_once(rule, "counts", c, "counts")


# ---------------------------------------------------------------------- checking
def check(ck, rule: Score, scope) -> None:
    if not rule.lines:
        missing(ck, rule, "+N …")
    for line in rule.lines:
        ck.node_id(line, scope)
        if line.kind in ("every", "per"):
            ty = ck.expr(line.field, scope)
            if ty.kind != "number":
                ck.error("check.type_mismatch", line.field.loc, expected="a number",
                         found=ty.describe())
            if line.n < 1:
                ck.error("check.bad_interval", line.loc, what="N", unit="")
        elif line.kind == "when":
            ck.condition(line.cond, scope)
        else:
            lst = scope.form.list_field(line.item)
            if lst is None:
                ck.error("check.not_a_list", line.loc, name=line.item, form=scope.form.name,
                         suggestion=suggest(line.item, spellings(scope.form.fields, "array")))
                continue
            for cond in (line.cond, line.doubled):
                if cond is not None:
                    ck.condition(cond, ck.item_scope(scope, lst))
        _check_cap(ck, line)
    if rule.total_max is not None and rule.total_min is not None \
            and rule.total_min.amount > rule.total_max.amount:
        ck.error("check.bad_total_caps", rule.total_loc, low=rule.total_min.amount,
                 high=rule.total_max.amount)
    if rule.counts is not None:
        ck.check_percent(rule.counts.weight, rule.counts.loc, "weight", Decimal(0), Decimal(1))


def _check_cap(ck, line: PointsLine) -> None:
    if line.cap is None:
        return
    why = "sign" if (line.cap > 0) != (line.points > 0) else \
        "smaller than one award" if abs(line.cap) < abs(line.points) else None
    if why:
        ck.error("check.bad_cap", line.loc, cap=line.cap, points=line.points, why=why)


def limits(ck, rule: Score) -> None:
    for line in rule.lines:
        ck.limit_number(line.points, line.loc)
        if line.kind == "every":
            ck.limit_count(line.n, line.loc, "N")
        if line.cap is not None:
            ck.limit_number(line.cap, line.loc)
    for total in (rule.total_max, rule.total_min):
        if total is not None:
            ck.limit_number(total.amount, rule.total_loc)


# ---------------------------------------------------------------------- evaluating
def derivable(ann, line: PointsLine) -> bool:
    """A `when` line on a yes/no field of the facts, worth points other than 0: it earns its
    points exactly when the field is true, so its points say what the condition was."""
    if line.kind != "when" or line.points == 0 or not isinstance(line.cond, A.Ref):
        return False
    b = ann.binding(line.cond)
    return b is not None and b.kind == "field" and b.field.kind == "boolean"


def _line_code(c, line: PointsLine, i: int) -> str:
    points = c.const(line.points)
    if line.kind == "every":
        x, n = c.gen(line.field), c.const(line.n)
        units = f"({x} // {n})" if c.ty(line.field).integer else f"floor_div({x}, {n})"
        return f"{points} * {units}"
    if line.kind == "per":
        return f"{points} * {c.gen(line.field)}"
    if line.kind == "when":
        cond = c.gen(line.cond)
        if c.traced and derivable(c.ann, line):
            # No record made: Decision.trace works it out from the line's points (derived);
            # an evaluation stopped by an error adds it if the line ran (runtime.reached).
            c.derived[c.ann.id_of(line.cond)] = (i, f"p{i}", cond)
        else:
            cond = c.clause(line.cond, cond)
        return f"({points} if {cond} else 0)"
    lst = c.form.list_field(line.item)
    it = c.item_var()
    c.depth += 1
    cond = f" if {c.gen(line.cond)}" if line.cond is not None else ""
    award = f"(2 if {c.gen(line.doubled)} else 1)" if line.doubled is not None else "1"
    c.depth -= 1
    return f"{points} * sum({award} for {it} in {c.read_current(lst)}{cond})"


def compile_body(c, rule: Score) -> None:
    names, codes = [], []
    for i, line in enumerate(rule.lines):
        code = _line_code(c, line, i)
        if line.cap is not None:
            code = f"{'min' if line.cap > 0 else 'max'}({code}, {c.const(line.cap)})"
        names.append(f"p{i}")
        codes.append(code)
    # No trace records for the lines: their points are in the result, and the
    # explanation reads them from there (records(), below).  The value-only variant needs
    # the sum alone.
    if c.value_only:
        c.emit(f"s = {' + '.join(f'({code})' for code in codes) or '0'}")
    else:
        for name, code in zip(names, codes):
            c.emit(f"{name} = {code}")
        c.emit(f"s = {' + '.join(names) or '0'}")
    if rule.total_max is not None:
        cap = c.const(rule.total_max.amount)
        c.emit(f"if s > {cap}: s = {cap}")
    if rule.total_min is not None:
        floor = c.const(rule.total_min.amount)
        c.emit(f"if s < {floor}: s = {floor}")
    c.emit_return("s", f"({', '.join(names)}{',' if len(names) == 1 else ''})")


def run(env, rule: Score, form) -> ScoreResult:
    points = []
    for line in rule.lines:
        if line.kind == "every":
            value = env.value(line.field)
            p = line.points * rt.floor_div(value if isinstance(value, int) else Decimal(value), line.n)
        elif line.kind == "per":
            p = line.points * env.value(line.field)
        elif line.kind == "when":
            p = line.points if env.value(line.cond) else 0
        else:
            items = env.read(env.facts, form.list_field(line.item))
            p = line.points * sum(_award(env.with_item(it), line) for it in items)
        if line.cap is not None:
            p = min(p, line.cap) if line.cap > 0 else max(p, line.cap)
        points.append(p)
    total = sum(points)
    if rule.total_max is not None:
        total = min(total, rule.total_max.amount)
    if rule.total_min is not None:
        total = max(total, rule.total_min.amount)
    return ScoreResult(total, tuple(points))


def _award(env, line: PointsLine) -> int:
    """How many awards one item of a `for each` line earns: none, one, or two when doubled."""
    if line.cond is not None and not env.value(line.cond):
        return 0
    return 2 if line.doubled is not None and env.value(line.doubled) else 1


# ---------------------------------------------------------------------- words
def details(compiled, facts: dict, raw: ScoreResult) -> dict:
    rule = compiled.rule
    out: dict[str, Any] = {"points": raw.points, "lines": [
        {"line": ln.loc.line, "points": p} for ln, p in zip(rule.lines, raw.lines)]}
    if rule.counts is not None:
        out.update(rating=rule.counts.rating, weight=rule.counts.weight,
                   weighted=raw.points * rule.counts.weight)
    return out


def words_key(raw) -> tuple | None:
    """A score's details and headline follow from its points alone (the total and each
    line's): Decision.to_json keeps them per result — a rule of `when` lines has few.  Only
    plain integer points: 40 and Decimal("40") are one key but not one text."""
    total, lines = raw
    if total.__class__ is not int or any(p.__class__ is not int for p in lines):
        return None
    return raw


def headline(d, lang: str) -> str:
    x = d.details
    parts = " ".join(f"{'+' if p['points'] >= 0 else ''}{show(p['points'])}" for p in x["lines"])
    text = tr(lang, "{rule} = {points} points ({parts})").format(rule=d.rule, points=show(x["points"]),
                                                                  parts=parts)
    if "weight" in x:
        text += tr(lang, "; counts {weight}% toward {rating} → {weighted}").format(
            weight=show(x["weight"] * 100), rating=x["rating"], weighted=show(x["weighted"]))
    return text


class Points(NamedTuple):
    """A trace record (trace.py): a line's points, kept in the result, told in the explanation."""
    node: int
    points: Any

    def render(self, compiled, text: str, where: str, lang: str) -> str:
        points = ("+" if self.points >= 0 else "") + show(self.points)
        return tr(lang, "{points} points from `{text}` ({where})").format(points=points, text=text, where=where)


def records(compiled, raw: ScoreResult, node_id) -> list:
    return [Points(node_id(ln), p) for ln, p in zip(compiled.rule.lines, raw[1])]


def derived(compiled, raw) -> list:
    """The yes/no lines' records the evaluation left out (derivable): held when the line earned points."""
    return [Valued(node, raw[1][i] != 0) for node, (i, _, _) in compiled.derived.items()]


def diff(rule: Score, add, text) -> None:
    for ln in rule.lines:
        key = f"{ln.kind} {ln.field.dotted if ln.field else ''}{ln.item or ''}" \
              f"{anchor(ln.cond) if ln.cond else ''}"
        add("line", key, repr(A.structure(ln)), ln)
    high = rule.total_max.amount if rule.total_max else None
    low = rule.total_min.amount if rule.total_min else None
    add("total", "total", repr((high, low)), text=f"{low} – {high}")
    weight, rating = (rule.counts.weight, rule.counts.rating) if rule.counts else (None, None)
    add("counts", "counts", repr((weight, rating)), text=f"{pct(weight or 0)} → {rating}")


def test_clauses(rule: Score) -> list:
    return [(ln, ln.cond if ln.kind == "when" else None) for ln in rule.lines]


# ---------------------------------------------------------------------- names
def names(r, rule: Score) -> None:
    for line in rule.lines:
        if line.field is not None:
            r.expr(line.field)
        if line.kind == "each":
            lst = r.list_at(line, "item", line.loc, item_word=True)
            for cond in (line.cond, line.doubled):
                if cond is not None:
                    r.expr(cond, lst)
        elif line.cond is not None:
            r.expr(line.cond)


# ---------------------------------------------------------------------- tunable numbers
def params(c, rule) -> None:
    for n, line in enumerate(rule.lines, 1):
        clause, subject = f"line.{n}", line.cond if line.kind == "when" else line.field
        what = c.name_of(subject) if subject is not None else (line.item or "",) * 2
        amounts = c.sites.tokens_in(line.loc, "POINTS", "INT")
        c.add(amounts[0] if amounts else None, clause, "points", "points",
              labels(word("points: {x}"), *what), "points", POINTS, signed=True)
        if line.kind == "every":
            c.add(c.first(line.loc, "FOR_EVERY"), clause, "every", "every",
                  labels(word("for every N: {x}"), *what), "count", COUNT)
        c.numbered(clause, [p for cond in (line.cond, line.doubled) if cond is not None
                            for p in c.in_expr(cond)])
        if line.cap is not None and len(amounts) > 1:
            c.add(amounts[-1], clause, "cap", "cap", labels(word("cap: {x}"), *what), "points",
                  POINTS, signed=amounts[-1].type == "POINTS")
    for total, slot in ((rule.total_max, "max"), (rule.total_min, "min")):
        if total is not None:
            tok = c.sites.tokens_in(total.loc, "POINTS", "INT")
            c.add(tok[-1] if tok else None, f"total.{slot}", "points", "total",
                  labels(word("total at most") if slot == "max" else word("total at least")), "points",
                  POINTS, signed=bool(tok) and tok[-1].type == "POINTS")
    if rule.counts is not None:
        c.add(c.first(rule.counts.loc, "COUNTS_TOWARD"), "counts", "weight", "weight",
              labels(word("weight toward {x}"), rule.counts.rating), "percent", WEIGHT)


KIND = Kind(
    name="score", node=Score, result=ScoreResult,
    build={"score": lambda b, children: b.rule(Score, children),
           "cap": lambda b, children: Tree("cap", children),
           "doubled": lambda b, children: Tree("doubled", children),
           "points_every": build_every, "points_per": build_per, "points_when": build_when,
           "points_each": build_each, "total_max": build_total(True),
           "total_min": build_total(False), "weight_into": build_weight_into},
    attach=attach, check=check, limits=limits, expected=lambda ck, ex, rule: expect_number(ck, ex),
    compile=compile_body, run=run, details=details, headline=headline, diff=diff,
    test_clauses=test_clauses, value_variant=True,
    check_all=check_ratings, records=records, trace_records=(Points,), derived=derived, names=names,
    words_key=words_key, params=params,
    clause_names={"line": word("points line"), "total": word("total cap"), "counts": word("rating weight")})
