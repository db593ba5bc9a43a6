"""target: a suggested amount with a range, and formulas held within their bounds.

    target 区域目标
        on region_monthly per region
        base = average(closed_amount, last 6 months)
        factor = region_factor within ±15%
        suggest base × (1 + industry_growth) × factor, range ±10%
        reward 10% of closed_amount above range

`reward R% of ACTUAL above range`: the part of the actual above the range's top earns R% of
itself as an extra reward (seed 002: 允许±15%浮动空间，超出部分额外奖励), rounded to 0.01 元.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, Optional

from .. import ast as A
from ..amounts import default_scale, round_to
from ..canon import canon
from ..tokens import tokens
from ..units import parse_band, parse_quantity
from ..catalogs import tr, word
from ..words import pct, show
from ..param_sites import BAND, labels, WEIGHT
from .common import Kind, expect_number, missing, set_once


@dataclass(eq=False)
class Suggest:
    expr: A.Expr
    band: Optional[Decimal]         # `range ±10%`
    loc: A.Loc


@dataclass(eq=False)
class Reward:
    rate: Decimal                   # 0.1 for `reward 10% of …`
    actual: A.Ref                   # what is compared with the range's top
    loc: A.Loc


@dataclass(eq=False)
class Target(A.Rule):
    suggestion: Optional[Suggest] = None
    reward: Optional[Reward] = None

    @property
    def suggest(self) -> Optional[A.Expr]:
        return self.suggestion.expr if self.suggestion is not None else None


class TargetResult(NamedTuple):
    suggested: Any
    low: Any
    high: Any
    formulas: dict                  # name → value
    violations: list                # (formula, value, low, high) outside its bound
    excess: Any = None              # `reward`: the actual above the range's top (0 if not)
    reward: Any = None              # … and the reward it earns


def build_suggest(b, children):
    expr = next(c for c in children if isinstance(c, A.Expr))
    bands = tokens(children, "SIGNED_PERCENT")
    return Suggest(expr, parse_band(str(bands[0])) if bands else None, b.span(children))


def build_reward(b, children):
    value, _unit = parse_quantity(str(tokens(children, "PERCENT")[0]))
    ref = next(c for c in children if isinstance(c, A.Ref))
    return Reward(Decimal(value), ref, b.span(children))


def attach(rule: Target, c) -> None:
    if isinstance(c, Suggest):
        set_once(rule, "suggestion", c, "suggest")
    elif isinstance(c, Reward):
        set_once(rule, "reward", c, "reward")


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
    if rule.reward is not None:
        _check_reward(ck, rule.reward, ty, scope)


def _check_reward(ck, reward: Reward, suggested, scope) -> None:
    ck.check_percent(reward.rate, reward.loc, "reward", Decimal(0), Decimal(1))
    ty = ck.expr(reward.actual, scope)
    if ty.kind != "number" or (ty.dim and suggested.dim and ty.dim != suggested.dim):
        ck.error("check.type_mismatch", reward.actual.loc, expected=suggested.describe(),
                 found=ty.describe())


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
    if rule.reward is None:
        c.emit_return("s", "lo", "hi", f"{{{values}}}", "viol", "None", "None")
        return
    c.emit(f"ex, rw = {c.const(excess_reward)}({c.gen(rule.reward.actual)}, hi, {c.const(rule.reward.rate)})")
    c.emit_return("s", "lo", "hi", f"{{{values}}}", "viol", "ex", "rw")


def excess_reward(actual, high, rate) -> tuple:
    """(the actual above the range's top, never below 0; the reward on it, to 0.01)."""
    excess = max(actual - high, 0)
    return excess, round_to(excess * rate, default_scale(True))


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
    low, high = s * (1 - band), s * (1 + band)
    if rule.reward is None:
        return TargetResult(s, low, high, dict(env.formulas), violations)
    excess, reward = excess_reward(env.value(rule.reward.actual), high, rule.reward.rate)
    return TargetResult(s, low, high, dict(env.formulas), violations, excess, reward)


def details(compiled, facts: dict, raw: TargetResult) -> dict:
    s, lo, hi, formulas = raw.suggested, raw.low, raw.high, raw.formulas
    viol, excess, reward = raw.violations, raw.excess, raw.reward
    out = {"suggested": s, "range": [lo, hi], "formulas": formulas, "ok": not viol,
           "violations": [{"formula": n, "value": v, "low": a, "high": b} for n, v, a, b in viol]}
    if compiled.rule.reward is not None:
        out.update(above_range=excess, reward=reward, reward_rate=compiled.rule.reward.rate)
    return out


def headline(d, lang: str) -> str:
    x = d.details
    lo, hi = x["range"]
    text = tr(lang, "{rule} suggests {suggested} (range {low} – {high})").format(
        rule=d.rule, suggested=show(x["suggested"]), low=show(lo), high=show(hi))
    if "reward" in x:
        text += tr(lang, "; {above} above the range earns {reward} ({rate})").format(
            above=show(x["above_range"]), reward=show(x["reward"]), rate=pct(x["reward_rate"]))
    for v in x["violations"]:
        text += tr(lang, "; {formula} = {value} is outside {low} – {high}").format(
            formula=v["formula"], value=show(v["value"]), low=show(v["low"]), high=show(v["high"]))
    return text


def diff(rule: Target, add, text) -> None:
    s = rule.suggestion
    add("suggest", "suggest", canon(s.expr) if s else "", s.expr if s else None)
    band = s.band if s else None
    add("range", "range", repr(band), text=f"±{pct(band or 0)}")
    r = rule.reward
    add("reward", "reward", repr(("reward", r.rate, r.actual.dotted) if r else ("reward", None)),
        text=f"{pct(r.rate)} {r.actual.dotted}" if r else "-")


def test_clauses(rule: Target) -> list:
    return [(rule.suggestion.expr, None)] if rule.suggestion is not None else []


# ---------------------------------------------------------------------- names
def names(r, rule: Target) -> None:
    if rule.suggestion is not None:
        r.expr(rule.suggestion.expr)
    if rule.reward is not None:
        r.expr(rule.reward.actual)


# ---------------------------------------------------------------------- tunable numbers
def params(c, rule) -> None:
    s = rule.suggestion
    if s is not None:
        c.numbered("suggest", c.in_expr(s.expr))
        if s.band is not None:
            c.add(c.first(s.loc, "SIGNED_PERCENT"), "suggest", "range", "band",
                  labels(word("suggested range")), "percent", BAND)
    if rule.reward is not None:
        c.add(c.first(rule.reward.loc, "PERCENT"), "reward", "rate", "rate",
              labels(word("reward rate: {x}"), *c.name_of(rule.reward.actual)), "percent", WEIGHT)


KIND = Kind(
    name="target", node=Target, result=TargetResult,
    build={"target": lambda b, children: b.rule(Target, children), "suggest": build_suggest,
           "reward": build_reward},
    attach=attach, check=check, limits=limits, expected=lambda ck, ex, rule: expect_number(ck, ex),
    compile=compile_body, run=run, details=details, headline=headline, diff=diff,
    test_clauses=test_clauses, names=names, params=params,
    clause_names={"suggest": word("suggestion"), "range": word("range"), "reward": word("reward above range")})
