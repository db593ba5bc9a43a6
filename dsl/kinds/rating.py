"""rating: an overall rating assembled from weighted parts, the weights dated.

    rating 季度评级
        on performance_review per rep quarterly
        part behaviour_score 40%
        part customer_score 30%
        part contract_score 30%
        part customer_score 10% from 2026-08-10
        part contract_score 50% from 2026-08-10

A part is a field of the form or a formula of the rule (points on a 0–100 scale, say); the
rating is the sum of each part times its weight.  A `part … from DATE` line replaces that
part's earlier weight from its date on: the builder turns the rule into one version per date
(versions(), below), so evaluation as of a date picks the weights then in force exactly as it
picks any rule's version.  On every date the weights in force add up to 100%.  The rating
is rounded to 0.01, half up, unless a `round to …` line says otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, NamedTuple, Optional

from .. import ast as A
from ..amounts import round_to
from ..tokens import tokens
from ..units import parse_quantity
from ..catalogs import tr, word
from ..words import pct, show
from ..param_sites import WEIGHT, labels
from .common import Kind, Rounding, build_rounding, check_rounding, expect_number, missing, \
    scale_of, set_once


# ---------------------------------------------------------------------- nodes
@dataclass(eq=False)
class Part:
    ref: A.Ref
    weight: Decimal                 # 0.4 for `40%`
    since: Optional[str]            # `from DATE`: replaces the part's earlier weight
    loc: A.Loc


@dataclass(eq=False)
class Rating(A.Rule):
    parts: list = field(default_factory=list)           # every part line, as written
    weights: Optional[list] = None  # the part lines in force in this version (versions())
    rounding: Optional[Rounding] = None

    @property
    def in_force(self) -> list:
        return self.weights if self.weights is not None else _latest(self.parts, self.effective)


class RatingResult(NamedTuple):
    rating: Any                     # Σ part × weight
    parts: tuple                    # each part's value, in the order of `in_force`


# ---------------------------------------------------------------------- building
def build_part(b, children):
    ref = next(c for c in children if isinstance(c, A.Ref))
    value, _unit = parse_quantity(str(tokens(children, "PERCENT")[0]))
    dates = tokens(children, "DATE")
    return Part(ref, Decimal(value), str(dates[0]) if dates else None, b.span(children))


def attach(rule: Rating, c) -> None:
    if isinstance(c, Part):
        rule.parts.append(c)
    elif isinstance(c, Rounding):
        set_once(rule, "rounding", c, "round to")


def _latest(parts: list, date: Optional[str]) -> list:
    """Each part's line with the latest `from` date on or before `date` (None: undated only)."""
    chosen: dict[str, Part] = {}
    for p in parts:
        if p.since is not None and p.since > (date or ""):
            continue
        held = chosen.get(p.ref.dotted)
        if held is None or (held.since or "") <= (p.since or ""):
            chosen[p.ref.dotted] = p
    return list(chosen.values())


def versions(rule: Rating) -> list:
    """The rule as versions: one from its own date, one more for each later `from` date.  The
    worked examples stay with the first version (a rule test with `as_of` checks the others)."""
    dates = sorted({p.since for p in rule.parts if p.since and p.since > (rule.effective or "")})
    first = replace(rule, weights=_latest(rule.parts, rule.effective))
    later = [replace(rule, effective=d, weights=_latest(rule.parts, d), examples=[]) for d in dates]
    return [first, *later]


# ---------------------------------------------------------------------- checking
def check(ck, rule: Rating, scope) -> None:
    if not rule.parts:
        missing(ck, rule, "part …")
        return
    seen: dict[tuple, Part] = {}
    for p in rule.parts:
        ck.node_id(p, scope)
        key = (p.ref.dotted, p.since)
        if key in seen:
            ck.error("check.duplicate_part", p.loc, part=p.ref.dotted, line=seen[key].loc.line)
        seen[key] = p
        if p.since is not None:
            ck.check_date(p.since, p.loc)
        ty = ck.expr(p.ref, scope)
        if ty.kind != "number":
            ck.error("check.type_mismatch", p.ref.loc, expected="a number", found=ty.describe())
        ck.check_percent(p.weight, p.loc, "weight", Decimal(0), Decimal(1))
    check_rounding(ck, rule.rounding, money=False)
    total = sum((p.weight for p in rule.in_force), Decimal(0))
    if total != 1:
        loc = max((p.loc for p in rule.in_force), key=lambda loc: loc.line, default=rule.loc)
        ck.error("check.rating_parts_sum", loc, rating=rule.name, total=pct(total))


def check_ratings(ck, rules: list) -> None:
    """Across the set (the score kind's check_all): the weights that scores count toward one
    rating add up to at most 100% on every date.  A dated version of a score replaces the
    earlier one from its date, so on each date only the version then in force counts (30%
    then 50% is 50% from the date, not 80%)."""
    by_rating: dict[str, list] = {}
    for r in rules:
        if r.counts is not None:
            by_rating.setdefault(r.counts.rating, []).append(r)
    for rating, counted in by_rating.items():
        for date in sorted({r.effective or "" for r in counted}):
            in_force = _in_force(counted, date)
            total = sum((r.counts.weight for r in in_force), Decimal(0))
            if total > 1:
                loc = max((r.counts.loc for r in in_force), key=lambda loc: (loc.file, loc.line))
                ck.error("check.rating_weights_sum", loc, rating=rating, total=pct(total))
                break


def _in_force(rules: list, date: str) -> list:
    """Of each rule's versions, the one with the latest effective date on or before `date`."""
    chosen: dict[str, Any] = {}
    for r in rules:
        eff = r.effective or ""
        if eff <= date and (r.name not in chosen or (chosen[r.name].effective or "") < eff):
            chosen[r.name] = r
    return list(chosen.values())


def limits(ck, rule: Rating) -> None:
    pass


# ---------------------------------------------------------------------- evaluating
def compile_body(c, rule: Rating) -> None:
    names = []
    for i, p in enumerate(rule.in_force):
        c.emit(f"q{i} = {c.gen(p.ref)}")
        names.append(f"q{i}")
    terms = " + ".join(f"q{i} * {c.const(p.weight)}" for i, p in enumerate(rule.in_force))
    c.emit(f"r = {c.const(round_to)}({terms or '0'}, {c.const(scale_of(rule.rounding, False))})")
    c.emit_return("r", f"({', '.join(names)}{',' if len(names) == 1 else ''})")


def run(env, rule: Rating, form) -> RatingResult:
    values = tuple(env.value(p.ref) for p in rule.in_force)
    total = sum(v * p.weight for v, p in zip(values, rule.in_force))
    return RatingResult(round_to(total, scale_of(rule.rounding, False)), values)


# ---------------------------------------------------------------------- words
def details(compiled, facts: dict, raw: RatingResult) -> dict:
    parts = compiled.rule.in_force
    return {"rating": raw.rating, "parts": [
        {"part": p.ref.dotted, "value": v, "weight": p.weight, "weighted": v * p.weight,
         "since": p.since} for p, v in zip(parts, raw.parts)]}


def headline(d, lang: str) -> str:
    x = d.details
    parts = " + ".join(f"{show(p['value'])}×{pct(p['weight'])}" for p in x["parts"])
    return tr(lang, "{rule} = {rating} ({parts})").format(rule=d.rule, rating=show(x["rating"]), parts=parts)


def diff(rule: Rating, add, text) -> None:
    for p in rule.in_force:
        add("part", p.ref.dotted, repr((p.ref.dotted, p.weight)), p,
            text=f"{p.ref.dotted} {pct(p.weight)}")


def test_clauses(rule: Rating) -> list:
    return [(p, None) for p in rule.in_force]


# ---------------------------------------------------------------------- names
def names(r, rule: Rating) -> None:
    for part in rule.parts:
        r.expr(part.ref)


# ---------------------------------------------------------------------- tunable numbers
def params(c, rule) -> None:
    for p in rule.parts:
        since = f"@{p.since}" if p.since else ""
        en, zh = c.name_of(p.ref)
        shown = labels(word("weight: {x}"), en, zh) if not since else \
            labels(word("weight: {x} from {date}"), en, zh, date=p.since)
        c.add(c.first(p.loc, "PERCENT"), f"part.{p.ref.dotted}{since}", "weight", "weight",
              shown, "percent", WEIGHT, group=f"{c.rule}/weights")


KIND = Kind(
    name="rating", node=Rating, result=RatingResult,
    build={"rating": lambda b, children: b.rule(Rating, children), "rating_part": build_part,
           "rounding": build_rounding},
    attach=attach, check=check, limits=limits, expected=lambda ck, ex, rule: expect_number(ck, ex),
    compile=compile_body, run=run, details=details, headline=headline, diff=diff,
    test_clauses=test_clauses, value_variant=True, versions=versions, names=names, params=params,
    clause_names={"part": word("rating part")})
