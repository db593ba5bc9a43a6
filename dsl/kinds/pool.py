"""pool: a pool's size shared among a list's items by their contributions.

    pool 季度奖金池
        on incentive_pool per team
        size profit × 5%
        share among members by contribution_score
        round to 元

The shares are rounded to the scale (0.01 元 by default) so that they sum to the size, itself
rounded to the scale (amounts.allocate: largest remainder).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, Optional

from .. import ast as A
from ..canon import canon
from ..diagnostics import RuleError
from ..tokens import tokens
from ..catalogs import tr, word
from ..words import item_key, list_items, show
from ..amounts import allocate, round_to
from .common import (Kind, Rounding, build_rounding, check_rounding, missing,
                     scale_of, set_once)


@dataclass(eq=False)
class Size:
    expr: A.Expr
    loc: A.Loc


@dataclass(eq=False)
class Share:
    among: str                      # the list field (or its item name)
    by: A.Expr                      # each item's contribution
    loc: A.Loc


@dataclass(eq=False)
class Pool(A.Rule):
    size: Optional[Size] = None
    share: Optional[Share] = None
    rounding: Optional[Rounding] = None


class PoolResult(NamedTuple):
    shares: list
    size: Any
    contributions: list


def build_size(b, children):
    return Size(children[-1], b.span(children))


def build_share(b, children):
    return Share(str(tokens(children, "NAME")[0]), children[-1], b.span(children))


def attach(rule: Pool, c) -> None:
    if isinstance(c, Size):
        set_once(rule, "size", c, "size")
    elif isinstance(c, Share):
        set_once(rule, "share", c, "share")
    elif isinstance(c, Rounding):
        set_once(rule, "rounding", c, "round to")


def check(ck, rule: Pool, scope) -> None:
    if rule.size is None:
        missing(ck, rule, "size")
    else:
        ty = ck.expr(rule.size.expr, scope)
        if ty.kind != "number":
            ck.error("check.type_mismatch", rule.size.expr.loc, expected="a number",
                     found=ty.describe())
        check_rounding(ck, rule.rounding, ty.dim == "money")
    if rule.share is None:
        missing(ck, rule, "share")
        return
    lst = ck.list_named(rule.share.among, rule.share.loc, scope)
    if lst is not None:
        by = rule.share.by
        ty = ck.expr(by, ck.item_scope(scope, lst))
        if ty.kind != "number":
            ck.error("check.type_mismatch", by.loc, expected="a number", found=ty.describe())


def limits(ck, rule: Pool) -> None:
    pass


def compile_body(c, rule: Pool) -> None:
    share = A.given(rule.share)
    lst = c.form.list_field(share.among)
    size = A.given(rule.size).expr
    c.emit(f"size = {c.clause(size, c.gen(size))}")
    c.depth = 1
    by = c.gen(share.by)
    c.depth = 0
    c.emit(f"cs = [{by} for it0 in {c.read_current(lst)}]")
    c.emit("tc = D(sum(cs))")
    c.emit(f"if not tc: raise RuleError.of('eval.division_by_zero', rule=R, "
           f"line={c.const(share.loc.line)})")
    shares = c.const(pool_shares)
    c.emit(f"got = {shares}(size, cs, tc, {c.const(_scale(c.ann, rule))})")
    c.emit_return("got[0]", "got[1]", "cs")


def run(env, rule: Pool, form) -> PoolResult:
    share = A.given(rule.share)
    lst = form.list_field(share.among)
    items = env.read(env.facts, lst)
    size = env.value(A.given(rule.size).expr)
    contributions = [env.with_item(it).value(share.by) for it in items]
    if sum(contributions) == 0:
        raise RuleError.of("eval.division_by_zero", rule=rule.name, line=share.loc.line)
    shares, rounded = pool_shares(size, contributions, Decimal(sum(contributions)),
                                  _scale(env.ann, rule))
    return PoolResult(shares, rounded, contributions)


def pool_shares(size, contributions, whole, scale):
    """(shares, the size), both rounded to the scale: the shares sum to the size exactly."""
    rounded = round_to(size, scale)
    return allocate([size * c / whole for c in contributions], scale, rounded), rounded


def _scale(ann, rule: Pool):
    return scale_of(rule.rounding, ann.typed(A.given(rule.size).expr).dim == "money")


def details(compiled, facts: dict, raw: PoolResult) -> dict:
    shares, size, cs = raw.shares, raw.size, raw.contributions
    lst = compiled.form.list_field(A.given(compiled.rule.share).among)
    items, key = list_items(facts, lst.name), lst.key_field
    return {"size": size, "shares": [
        {"key": item_key(it, key, i), "contribution": c, "share": s}
        for i, (it, c, s) in enumerate(zip(items, cs, shares))]}


def headline(d, lang: str) -> str:
    x = d.details
    shares = ", ".join(f"{s['key']} {show(s['share'])}" for s in x["shares"])
    return tr(lang, "{rule}: pool {size} → {shares}").format(rule=d.rule, size=show(x["size"]), shares=shares)


def diff(rule: Pool, add, text) -> None:
    size = rule.size.expr if rule.size else None
    by = rule.share.by if rule.share else None
    add("size", "size", canon(size) if size else "", size)
    add("share", "share", repr((rule.share.among if rule.share else None,
                                canon(by) if by else "")), by)
    r = rule.rounding
    if r is not None:
        add("round", "round", repr((r.step, r.mode)), text=f"{r.text} ({r.mode})")


def test_clauses(rule: Pool) -> list:
    return [(x, None) for x in (rule.size.expr if rule.size else None,
                                rule.share.by if rule.share else None) if x is not None]


# ---------------------------------------------------------------------- names
def names(r, rule: Pool) -> None:
    if rule.size is not None:
        r.expr(rule.size.expr)
    if rule.share is not None:
        r.expr(rule.share.by, r.list_at(rule.share, "among", rule.share.loc))


# ---------------------------------------------------------------------- tunable numbers
def params(c, rule) -> None:
    if rule.size is not None:
        c.numbered("size", c.in_expr(rule.size.expr))
    if rule.share is not None:
        c.numbered("share", c.in_expr(rule.share.by))


KIND = Kind(
    name="pool", node=Pool, result=PoolResult,
    build={"pool": lambda b, children: b.rule(Pool, children), "pool_size": build_size,
           "pool_share": build_share, "rounding": build_rounding},
    attach=attach, check=check, limits=limits, compile=compile_body,
    run=run, details=details, headline=headline, diff=diff, test_clauses=test_clauses, names=names, params=params,
    clause_names={"size": word("pool size"), "share": word("sharing")})
