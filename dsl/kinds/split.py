"""split: divide a total across a list's items by weighted scores, adjustments within a band.

    split 区域拆分
        on target_plan per region
        divide total_target across regions
        weight market_potential 50%
        weight staffing 30%
        weight strategic 20%
        adjust adjustment within ±10%, beyond require reason, never beyond ±30%, rebalance
        round to 万, largest remainder

Shares are exact, then rounded to the scale (0.01 元 by default) so they sum to the parent
(amounts.allocate).  The band: free within `within`, a reason beyond it, refused beyond
`never beyond`; `adjust at most ±15%, require reason` is the seeds' reading (every adjustment
needs a reason, none may pass 15%).  `rebalance`: the children nobody adjusted absorb the
difference, so the adjusted shares still sum to the parent.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple, Optional

from .. import ast as A
from .. import runtime as rt
from ..diagnostics import RuleError
from ..tokens import tokens
from ..amounts import amount_sum
from .. import splitting
from ..splitting import plan_of, split_shares
from ..units import parse_band, parse_quantity
from ..catalogs import tr, word
from ..words import item_key, list_items, pct, plain, show
from ..param_sites import BAND, labels, WEIGHT
from .common import (Kind, Rounding, build_rounding, check_rounding, missing,
                     scale_of, set_once)

DEFAULT_ADJUST_FIELD = "adjustment"     # the item field when the rule names none


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
    band: Decimal                   # free band: within it no reason is needed
    reason_field: str
    loc: A.Loc
    field: str = DEFAULT_ADJUST_FIELD   # the item field holding each child's adjustment
    limit: Optional[Decimal] = None     # hard limit: never beyond it, reason or not
    rebalance: bool = False             # the other children keep the parent's total
    capped: bool = False                # written `adjust at most ±15%, require reason`


@dataclass(eq=False)
class Split(A.Rule):
    divide: Optional[Divide] = None
    weights: list = field(default_factory=list)     # Weight clauses
    adjust: Optional[Adjust] = None
    rounding: Optional[Rounding] = None

    @property
    def across(self) -> Optional[str]:
        return self.divide.across if self.divide is not None else None


class SplitResult(NamedTuple):
    finals: list                    # each item's share after its adjustment (Amounts)
    bases: list                     # each item's share by the weights (Amounts)
    violations: list                # (item key, adjustment, code): reason_required | beyond_limit


def build_divide(b, children):
    ref = next(c for c in children if isinstance(c, A.Ref))
    return Divide(ref, str(tokens(children, "NAME")[-1]), b.span(children))


def build_weight(b, children):
    value, _unit = parse_quantity(str(tokens(children, "PERCENT")[0]))
    return Weight(str(tokens(children, "NAME")[0]), Decimal(value), b.span(children))


class HardLimit(NamedTuple):
    """`hard limit ±N%` of an adjust clause, before build_adjust takes it in."""
    band: Decimal
    loc: A.Loc


class Rebalance(NamedTuple):
    """`rebalance` of an adjust clause, before build_adjust takes it in."""
    loc: A.Loc


def build_adjust(b, children, capped=False):
    names = tokens(children, "NAME")
    band = parse_band(str(tokens(children, "SIGNED_PERCENT")[0]))
    limit = next((c.band for c in children if isinstance(c, HardLimit)), None)
    adjust = Adjust(band, str(names[-1]), b.span(children),
                    field=str(names[0]) if len(names) == 2 else DEFAULT_ADJUST_FIELD,
                    limit=limit, rebalance=any(isinstance(c, Rebalance) for c in children))
    if capped:      # at most ±15%, with a reason: every adjustment needs one
        adjust.band, adjust.limit, adjust.capped = Decimal(0), band, True
    return adjust


def attach(rule: Split, c) -> None:
    if isinstance(c, Divide):
        set_once(rule, "divide", c, "divide")
    elif isinstance(c, Weight):
        rule.weights.append(c)
    elif isinstance(c, Adjust):
        set_once(rule, "adjust", c, "adjust")
    elif isinstance(c, Rounding):
        set_once(rule, "rounding", c, "round to")


# ---------------------------------------------------------------------- checking
def check(ck, rule: Split, scope) -> None:
    d = rule.divide
    if d is None:
        missing(ck, rule, "divide")
        return
    ty = ck.expr(d.total, scope)
    if ty.kind != "number":
        ck.error("check.type_mismatch", d.total.loc, expected="a number", found=ty.describe())
    check_rounding(ck, rule.rounding, ty.dim == "money")
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
        if not a.capped:
            ck.check_band(a.band, a.loc, "adjust")
        if a.limit is not None:
            ck.check_band(a.limit, a.loc, "adjust")
            if a.limit < a.band:
                ck.error("check.band_order", a.loc, free=pct(a.band), limit=pct(a.limit))
        ck.item_field(lst, a.field, a.loc, d.across, numeric=True)
        ck.item_field(lst, a.reason_field, a.loc, d.across)


def limits(ck, rule: Split) -> None:
    pass


def _scale(ann, rule: Split):
    return scale_of(rule.rounding, ann.typed(A.given(rule.divide).total).dim == "money")


# ---------------------------------------------------------------------- evaluating
def compile_body(c, rule: Split) -> None:
    d = A.given(rule.divide)
    lst = c.form.list_field(d.across)
    it = "it0"
    c.depth = 1
    row, valid_row = (", ".join(c.read_entry(lst.items[w.field], it, valid) for w in rule.weights)
                      for valid in (False, True))
    c.depth = 0
    c.emit(f"L = {c.read_current(lst)}")
    c.emit(f"total = {c.gen(d.total)}")
    rows = f"[({valid_row},) for {it} in L] if valid else [({row},) for {it} in L]" \
        if valid_row != row else f"[({row},) for {it} in L]"     # valid: the fields need no checks
    a = rule.adjust
    shares, weights, scale = c.const(split_shares), [w.share for w in rule.weights], _scale(c.ann, rule)
    fields = tuple(w.field for w in rule.weights)
    items_plan = a is None and all(c.number_as_is(lst.items[f]) for f in fields) and \
        plan_of(weights, a, scale, fields)
    if items_plan:
        # The C helper reads the items' scores itself; where it cannot, the rows as below.
        c.emit(f"got = None if (core := {c.const(splitting)}.CORE) is None else "
               f"core.shares(total, L, {c.const(items_plan)}, None, None, None)")
        c.emit(f"if got is None: got = {shares}(total, {rows}, {c.const(weights)}, None, None, None, None, "
               f"{c.const(scale)}, False)")
    else:
        c.emit(f"rows = {rows}")
        if a is None:
            c.emit("adj = blank = keys = None")
        else:
            adj = lst.items[a.field]
            name = c.const(a.field)
            key = f"{it}.get({c.const(lst.key_field)})" if lst.key_field else "None"
            c.emit(f"adj = [0 if {it}.get({name}) is None else "
                   f"read({it}, {name}, {c.const(adj.kind)}, 1, R) for {it} in L]")
            c.emit(f"blank = [is_blank({it}.get({c.const(a.reason_field)})) for {it} in L]")
            c.emit(f"keys = [{key} for {it} in L]")
        c.emit(f"got = {shares}(total, rows, {c.const(weights)}, adj, blank, keys, {c.const(a)}, "
               f"{c.const(scale)}, {c.const(plan_of(weights, a, scale))})")
    c.emit(f"if got is None: raise RuleError.of('eval.division_by_zero', rule=R, "
           f"line={c.const(d.loc.line)})")
    c.emit_return("got[0]", "got[1]", "got[2]")


def run(env, rule: Split, form) -> SplitResult:
    d = A.given(rule.divide)
    lst = form.list_field(d.across)
    items = env.read(env.facts, lst)
    total = env.value(d.total)
    rows = [[env.read(it, lst.items[w.field]) for w in rule.weights] for it in items]
    adj = blank = keys = None
    a = rule.adjust
    if a is not None:
        adj = [0 if it.get(a.field) is None else env.read(it, lst.items[a.field]) for it in items]
        blank = [rt.is_blank(it.get(a.reason_field)) for it in items]
        keys = [it.get(lst.key_field) if lst.key_field else None for it in items]
    got = split_shares(total, rows, [w.share for w in rule.weights], adj, blank, keys, a,
                       _scale(env.ann, rule))
    if got is None:
        raise RuleError.of("eval.division_by_zero", rule=rule.name, line=d.loc.line)
    return SplitResult(*got)


# ---------------------------------------------------------------------- words
def details(compiled, facts: dict, raw: SplitResult) -> dict:
    finals, bases, viol = raw.finals, raw.bases, raw.violations
    rule = compiled.rule
    lst = compiled.form.list_field(A.given(rule.divide).across)
    items, key = list_items(facts, lst.name), lst.key_field
    scale = _scale(compiled.ann, rule)
    out = {"ok": not viol, "total": amount_sum(finals, scale.places), "shares": [
        {"key": item_key(it, key, i), "base": b, "final": f}
        for i, (it, b, f) in enumerate(zip(items, bases, finals))],
        "violations": [{"key": k, "adjustment": a, "code": code} for k, a, code in viol]}
    if rule.adjust is not None:
        out["band"] = band_of(rule.adjust)
    return out


def band_of(a: Adjust) -> dict:
    """The band as integrators read it (the split's details, /v1/splits, derived forms)."""
    return {"field": a.field, "free": a.band, "reason_field": a.reason_field,
            "limit": a.limit, "rebalance": a.rebalance}


def headline(d, lang: str) -> str:
    x = d.details
    shares = ", ".join(f"{s['key']} {show(s['final'])}" for s in x["shares"])
    text = tr(lang, "{rule}: {shares}").format(rule=d.rule, shares=shares)
    for v in x["violations"]:
        p = show(v["adjustment"] * 100)
        if v["code"] == "beyond_limit":
            text += tr(lang, "; {key} adjusted {p}%, beyond the limit of ±{limit}").format(
                key=v["key"], p=p, limit=pct(x["band"]["limit"]))
        else:
            text += tr(lang, "; {key} adjusted {p}% without a reason").format(key=v["key"], p=p)
    return text


def diff(rule: Split, add, text) -> None:
    total = rule.divide.total.dotted if rule.divide else None
    add("divide", "divide", repr((total, rule.across)), text=f"{total or ''} → {rule.across}")
    for w in rule.weights:
        add("weight", w.field, repr(w.share), text=f"{w.field} {pct(w.share)}")
    a = rule.adjust
    said = "" if a is None else f"{a.field} ±{pct(a.band)}" + \
        (f", never beyond ±{pct(a.limit)}" if a.limit is not None else "") + \
        (", rebalance" if a.rebalance else "")
    add("adjust", "adjust", repr(None if a is None else tuple(band_of(a).values())),
        text=said or "±0%")
    r = rule.rounding
    if r is not None:
        add("round", "round", repr((r.step, r.mode)), text=f"{r.text} ({r.mode})")


def test_clauses(rule: Split) -> list:
    return [(rule.divide.total, None)] if rule.divide is not None else []


def derive_form(rule: Split, schema: dict, props: dict, required: list, notes: list) -> None:
    """Beyond the free band, the reason field is required (a JSON Schema if/then per item);
    beyond the hard limit, the adjustment is refused (its minimum and maximum)."""
    a = rule.adjust
    if a is None:
        return
    items = props.get(rule.across, {}).get("items")
    if not isinstance(items, dict):
        return
    band = plain(Decimal(a.band))
    items.setdefault("allOf", []).append({
        "if": {"required": [a.field],
               "properties": {a.field: {"not": {"minimum": -band, "maximum": band}}}},
        "then": {"required": [a.reason_field],
                 "properties": {a.reason_field: {"type": "string", "minLength": 1}}}})
    field_schema = items.setdefault("properties", {}).setdefault(a.field, {})
    field_schema["x-trimtab-free-band"] = band
    notes.append({"rule": rule.name, "field": f"{rule.across}[].{a.reason_field}",
                  "constraint": "required for any adjustment" if a.capped
                  else f"required beyond ±{plain(Decimal(a.band * 100))}%"})
    if a.limit is not None:
        limit = plain(Decimal(a.limit))
        field_schema.update({"minimum": -limit, "maximum": limit, "x-trimtab-limit": limit})
        notes.append({"rule": rule.name, "field": f"{rule.across}[].{a.field}",
                      "constraint": f"never beyond ±{plain(Decimal(a.limit * 100))}%"})
    if a.rebalance:
        field_schema["x-trimtab-rebalance"] = True


# ---------------------------------------------------------------------- names
def names(r, rule: Split) -> None:
    d = rule.divide
    lst = None
    if d is not None:
        r.expr(d.total)
        lst = r.list_at(d, "across", d.loc)
    if lst is None:
        return
    for w in rule.weights:
        r.fields_at(w, "field", w.loc, lst=lst)
    if rule.adjust is not None:
        after = r.fields_at(rule.adjust, "field", rule.adjust.loc, lst=lst)
        r.fields_at(rule.adjust, "reason_field", rule.adjust.loc, after, lst=lst)


# ---------------------------------------------------------------------- tunable numbers
def params(c, rule) -> None:
    for w in rule.weights:
        en, zh = c.name_of_field(w.field)
        c.add(c.first(w.loc, "PERCENT"), f"weight.{w.field}", "weight", "weight",
              labels(word("weight: {x}"), en, zh), "percent", WEIGHT, group=f"{c.rule}/weights")
    a = rule.adjust
    if a is not None:
        bands = c.sites.tokens_in(a.loc, "SIGNED_PERCENT")
        slots = ["limit"] if a.capped else ["band", "limit"]
        for slot, tok in zip(slots, bands):
            template = word("adjustment limit") if slot == "limit" else \
                word("adjustment without a reason")
            c.add(tok, "adjust", slot, "band", labels(template), "percent", BAND)


KIND = Kind(
    name="split", node=Split, result=SplitResult,
    build={"split": lambda b, children: b.rule(Split, children), "divide": build_divide,
           "split_weight": build_weight, "adjust": build_adjust,
           "adjust_at_most": lambda b, children: build_adjust(b, children, capped=True),
           # with their spans, so that the clause's span covers them (build_ast._edge)
           "hard_limit": lambda b, children: HardLimit(parse_band(str(children[-1])), b.span(children)),
           "rebalance": lambda b, children: Rebalance(b.span(children)), "rounding": build_rounding},
    attach=attach, check=check, limits=limits, compile=compile_body,
    run=run, details=details, headline=headline, diff=diff, test_clauses=test_clauses,
    derive_form=derive_form, names=names, params=params,
    clause_names={"weight": word("weight"), "divide": word("split of"), "adjust": word("adjustment band")})
