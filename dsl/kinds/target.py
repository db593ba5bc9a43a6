"""target: a suggested amount with a range, and formulas held within their bounds.

    target 区域目标
        on region_monthly per region
        base = average(closed_amount, last 6 months)
        factor = region_factor within ±15%
        suggest base × (1 + industry_growth) × factor, range ±10%
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, Optional

from .. import ast as A
from ..canon import canon
from ..tokens import tokens
from ..units import parse_band
from ..words import pct, show, t
from .common import Kind, expect_number, missing, set_once


@dataclass(eq=False)
class Suggest:
    expr: A.Expr
    band: Optional[Decimal]         # `range ±10%`
    loc: A.Loc


@dataclass(eq=False)
class Target(A.Rule):
    suggestion: Optional[Suggest] = None

    @property
    def suggest(self) -> Optional[A.Expr]:
        return self.suggestion.expr if self.suggestion is not None else None


class TargetResult(NamedTuple):
    suggested: Any
    low: Any
    high: Any
    formulas: dict                  # name → value
    violations: list                # (formula, value, low, high) outside its bound


def build_suggest(b, children):
    expr = next(c for c in children if isinstance(c, A.Expr))
    bands = tokens(children, "SIGNED_PERCENT")
    return Suggest(expr, parse_band(str(bands[0])) if bands else None, b.span(children))


def attach(rule: Target, c) -> None:
    if isinstance(c, Suggest):
        set_once(rule, "suggestion", c, "suggest")


def check(ck, rule: Target, scope) -> None:
    s = rule.suggestion
    if s is None:
        missing(ck, rule, "suggest")
        return
    ty = ck.expr(s.expr, scope)
    if ty.kind != "number":
        ck.error("check.type_mismatch", s.expr.loc, expected="a number", found=ty.describe())
    if s.band is not None:
        ck.check_band(s.band, s.loc, "range")


def limits(ck, rule: Target) -> None:
    pass


def compile_body(c, rule: Target) -> None:
    c.emit("viol = []")
    for formula in rule.formulas:
        if formula.bound is None:
            continue
        var = c.formula_vars[formula.name]
        centre = c.gen(formula.bound.of) if formula.bound.of is not None else "1"
        band = c.const(formula.bound.band)
        c.emit(f"c = {centre}")
        c.emit(f"lo, hi = c - c * {band}, c + c * {band}")
        c.emit(f"if not (lo <= {var} <= hi): viol.append(({c.const(formula.name)}, {var}, lo, hi))")
    s = A.given(rule.suggestion)
    c.emit(f"s = {c.clause(s.expr, c.gen(s.expr))}")
    if s.band is not None:
        band = c.const(s.band)
        c.emit(f"lo, hi = s - s * {band}, s + s * {band}")
    else:
        c.emit("lo, hi = s, s")
    values = ", ".join(f"{c.const(f.name)}: {c.formula_vars[f.name]}" for f in rule.formulas)
    c.emit_return("s", "lo", "hi", f"{{{values}}}", "viol")


def run(env, rule: Target, form) -> TargetResult:
    violations = []
    for f in rule.formulas:
        if f.bound is not None:
            centre = env.value(f.bound.of) if f.bound.of is not None else 1
            lo, hi = centre * (1 - f.bound.band), centre * (1 + f.bound.band)
            if not lo <= env.formulas[f.name] <= hi:
                violations.append((f.name, env.formulas[f.name], lo, hi))
    suggestion = A.given(rule.suggestion)
    s = env.value(suggestion.expr)
    band = suggestion.band or 0
    return TargetResult(s, s * (1 - band), s * (1 + band), dict(env.formulas), violations)


def details(compiled, facts: dict, raw: TargetResult) -> dict:
    s, lo, hi, formulas, viol = raw
    return {"suggested": s, "range": [lo, hi], "formulas": formulas, "ok": not viol,
            "violations": [{"formula": n, "value": v, "low": a, "high": b} for n, v, a, b in viol]}


def headline(d, lang: str) -> str:
    x = d.details
    lo, hi = x["range"]
    text = t(lang, f"{d.rule} suggests {show(x['suggested'])} (range {show(lo)} – {show(hi)})",
             f"{d.rule} 建议 {show(x['suggested'])}（区间 {show(lo)} – {show(hi)}）")
    for v in x["violations"]:
        text += t(lang, f"; {v['formula']} = {show(v['value'])} is outside {show(v['low'])} – {show(v['high'])}",
                  f"；{v['formula']} = {show(v['value'])} 超出 {show(v['low'])} – {show(v['high'])}")
    return text


def diff(rule: Target, add, text) -> None:
    s = rule.suggestion
    add("suggest", "suggest", canon(s.expr) if s else "", s.expr if s else None)
    band = s.band if s else None
    add("range", "range", repr(band), text=f"±{pct(band or 0)}")


def test_clauses(rule: Target) -> list:
    return [(rule.suggestion.expr, None)] if rule.suggestion is not None else []


KIND = Kind(
    name="target", node=Target, result=TargetResult,
    build={"target": lambda b, children: b.rule(Target, children), "suggest": build_suggest},
    attach=attach, check=check, limits=limits, expected=lambda ck, ex, rule: expect_number(ck, ex),
    compile=compile_body, run=run, details=details, headline=headline, diff=diff,
    test_clauses=test_clauses)
