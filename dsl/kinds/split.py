"""split: divide a total across a list's items by weighted scores, adjustments within a band.

    split 区域拆分
        on target_plan per region
        divide total_target across regions
        weight market_potential 50%
        weight staffing 30%
        weight strategic 20%
        adjust within ±10%, beyond require reason
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple, Optional

from .. import ast as A
from .. import runtime as rt
from ..diagnostics import EvalError
from ..tokens import tokens
from ..units import parse_band, parse_quantity
from ..words import item_key, list_items, pct, plain, show, t
from .common import Kind, missing, no_examples, set_once


@dataclass(eq=False)
class Divide:
    total: A.Ref
    across: str                     # the list field
    loc: A.Loc


@dataclass(eq=False)
class Weight:
    field: str                      # an item field
    share: Decimal
    loc: A.Loc


@dataclass(eq=False)
class Adjust:
    band: Decimal
    reason_field: str
    loc: A.Loc


@dataclass(eq=False)
class Split(A.Rule):
    divide: Optional[Divide] = None
    weights: list = field(default_factory=list)     # Weight clauses
    adjust: Optional[Adjust] = None

    @property
    def across(self) -> Optional[str]:
        return self.divide.across if self.divide is not None else None


class SplitResult(NamedTuple):
    finals: list                    # each item's share after its adjustment
    bases: list                     # each item's share by the weights
    violations: list                # (item key, adjustment) beyond the band without a reason


def build_divide(b, children):
    ref = next(c for c in children if isinstance(c, A.Ref))
    return Divide(ref, str(tokens(children, "NAME")[-1]), b.span(children))


def build_weight(b, children):
    value, _unit = parse_quantity(str(tokens(children, "PERCENT")[0]))
    return Weight(str(tokens(children, "NAME")[0]), Decimal(value), b.span(children))


def build_adjust(b, children):
    band = parse_band(str(tokens(children, "SIGNED_PERCENT")[0]))
    return Adjust(band, str(tokens(children, "NAME")[0]), b.span(children))


def attach(rule: Split, c) -> None:
    if isinstance(c, Divide):
        set_once(rule, "divide", c, "divide")
    elif isinstance(c, Weight):
        rule.weights.append(c)
    elif isinstance(c, Adjust):
        set_once(rule, "adjust", c, "adjust")


# ---------------------------------------------------------------------- checking
def check(ck, rule: Split, scope) -> None:
    d = rule.divide
    if d is None:
        missing(ck, rule, "divide")
        return
    ty = ck.expr(d.total, scope)
    if ty.kind != "number":
        ck.error("check.type_mismatch", d.total.loc, expected="a number", found=ty.describe())
    lst = ck.list_named(d.across, d.loc, scope)
    if not rule.weights:
        missing(ck, rule, "weight")
    total = sum((w.share for w in rule.weights), Decimal(0))
    if rule.weights and total != 1:
        ck.error("check.weights_sum", rule.weights[-1].loc, total=pct(total))
    if lst is None:
        return
    for w in rule.weights:
        ck.item_field(lst, w.field, w.loc, d.across, numeric=True)
    if rule.adjust is not None:
        a = rule.adjust
        ck.check_band(a.band, a.loc, "adjust")
        ck.item_field(lst, "adjustment", a.loc, d.across, numeric=True)
        ck.item_field(lst, a.reason_field, a.loc, d.across)


def limits(ck, rule: Split) -> None:
    pass


# ---------------------------------------------------------------------- evaluating
def compile_body(c, rule: Split) -> None:
    d = A.given(rule.divide)
    lst = c.form.list_field(d.across)
    it = "it0"
    c.depth = 1
    terms, valid_terms = (" + ".join(f"{c.const(w.share)} * {c.read_entry(lst.items[w.field], it, valid)}"
                                     for w in rule.weights) for valid in (False, True))
    c.depth = 0
    c.emit(f"L = {c.read_current(lst)}")
    c.emit(f"total = {c.gen(d.total)}")
    if valid_terms != terms:        # validated facts: the items' fields need no checks
        c.emit(f"ws = [{valid_terms} for {it} in L] if valid else [{terms} for {it} in L]")
    else:
        c.emit(f"ws = [{terms} for {it} in L]")
    c.emit("tw = D(sum(ws))")
    c.emit(f"if not tw: raise EvalError('eval.division_by_zero', rule=R, "
           f"line={c.const(d.loc.line)})")
    c.emit("bases = [total * w / tw for w in ws]")
    if rule.adjust is None:
        c.emit_return("bases", "bases", "[]")
        return
    adj = lst.items["adjustment"]
    key = f"{it}.get({c.const(lst.key_field)})" if lst.key_field else "None"
    c.emit("finals, viol = [], []")
    c.emit(f"for {it}, b in zip(L, bases):")
    c.emit(f"    a = {it}.get('adjustment')")
    c.emit(f"    a = 0 if a is None else read({it}, 'adjustment', {c.const(adj.kind)}, 1, R)")
    c.emit(f"    if abs(a) > {c.const(rule.adjust.band)} and "
           f"is_blank({it}.get({c.const(rule.adjust.reason_field)})):")
    c.emit(f"        viol.append(({key}, a))")
    c.emit("    finals.append(b + b * a)")
    c.emit_return("finals", "bases", "viol")


def run(env, rule: Split, form) -> SplitResult:
    d = A.given(rule.divide)
    lst = form.list_field(d.across)
    items = env.read(env.facts, lst)
    total = env.value(d.total)
    scores = [sum(w.share * env.read(it, lst.items[w.field]) for w in rule.weights)
              for it in items]
    if sum(scores) == 0:
        raise EvalError("eval.division_by_zero", rule=rule.name, line=d.loc.line)
    bases = [total * s / Decimal(sum(scores)) for s in scores]
    if rule.adjust is None:
        return SplitResult(bases, bases, [])
    finals, violations = [], []
    for it, base in zip(items, bases):
        adj = it.get("adjustment")
        adj = 0 if adj is None else env.read(it, lst.items["adjustment"])
        if abs(adj) > rule.adjust.band and rt.is_blank(it.get(rule.adjust.reason_field)):
            violations.append((it.get(lst.key_field) if lst.key_field else None, adj))
        finals.append(base * (1 + adj))
    return SplitResult(finals, bases, violations)


# ---------------------------------------------------------------------- words
def details(compiled, facts: dict, raw: SplitResult) -> dict:
    finals, bases, viol = raw
    lst = compiled.form.list_field(A.given(compiled.rule.divide).across)
    items, key = list_items(facts, lst.name), lst.key_field
    return {"ok": not viol, "total": sum(finals), "shares": [
        {"key": item_key(it, key, i), "base": b, "final": f}
        for i, (it, b, f) in enumerate(zip(items, bases, finals))],
        "violations": [{"key": k, "adjustment": a} for k, a in viol]}


def headline(d, lang: str) -> str:
    x = d.details
    shares = ", ".join(f"{s['key']} {show(s['final'])}" for s in x["shares"])
    text = t(lang, f"{d.rule}: {shares}", f"{d.rule}：{shares}")
    for v in x["violations"]:
        text += t(lang, f"; {v['key']} adjusted {show(v['adjustment'] * 100)}% without a reason",
                  f"；{v['key']} 调整 {show(v['adjustment'] * 100)}% 但未填写理由")
    return text


def diff(rule: Split, add, text) -> None:
    total = rule.divide.total.dotted if rule.divide else None
    add("divide", "divide", repr((total, rule.across)), text=f"{total or ''} → {rule.across}")
    for w in rule.weights:
        add("weight", w.field, repr(w.share), text=f"{w.field} {pct(w.share)}")
    band = rule.adjust.band if rule.adjust else None
    reason = rule.adjust.reason_field if rule.adjust else None
    add("adjust", "adjust", repr((band, reason)), text=f"±{pct(band or 0)}")


def test_clauses(rule: Split) -> list:
    return [(rule.divide.total, None)] if rule.divide is not None else []


def derive_form(rule: Split, schema: dict, props: dict, required: list, notes: list) -> None:
    """Beyond the band, the reason field is required: a JSON Schema if/then per item."""
    if rule.adjust is None:
        return
    items = props.get(rule.across, {}).get("items")
    if not isinstance(items, dict):
        return
    band = plain(Decimal(rule.adjust.band))
    reason = rule.adjust.reason_field
    items.setdefault("allOf", []).append({
        "if": {"required": ["adjustment"],
               "properties": {"adjustment": {"not": {"minimum": -band, "maximum": band}}}},
        "then": {"required": [reason],
                 "properties": {reason: {"type": "string", "minLength": 1}}}})
    items.setdefault("properties", {}).setdefault("adjustment", {})["x-trimtab-free-band"] = band
    notes.append({"rule": rule.name, "field": f"{rule.across}[].{reason}",
                  "constraint": f"required beyond ±{plain(Decimal(rule.adjust.band * 100))}%"})


KIND = Kind(
    name="split", node=Split, result=SplitResult,
    build={"split": lambda b, children: b.rule(Split, children), "divide": build_divide,
           "split_weight": build_weight, "adjust": build_adjust},
    attach=attach, check=check, limits=limits, expected=no_examples, compile=compile_body,
    run=run, details=details, headline=headline, diff=diff, test_clauses=test_clauses,
    derive_form=derive_form)
