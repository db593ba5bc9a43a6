"""status: the first case whose condition holds names the status; `otherwise` closes the list.

    status 里程碑
        on kr_progress per rep
        green when progress >= expected
        yellow when progress >= 80% of expected
        red otherwise
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple, Optional

from .. import ast as A
from ..canon import canon
from ..diagnostics import suggest
from ..catalogs import word
from .common import Kind, shown


@dataclass(eq=False)
class Case:
    name: str
    cond: Optional[A.Expr]          # None for `otherwise`
    loc: A.Loc


@dataclass(eq=False)
class Status(A.Rule):
    cases: list = field(default_factory=list)


class StatusResult(NamedTuple):
    status: str


def build_case(b, children):
    return Case(str(children[0]), children[-1], b.span(children))


def build_otherwise(b, children):
    return Case(str(children[0]), None, b.span(children))


def attach(rule: Status, c) -> None:
    if isinstance(c, Case):
        rule.cases.append(c)


# ---------------------------------------------------------------------- checking
def check(ck, rule: Status, scope) -> None:
    seen: dict[str, Case] = {}
    otherwise = None
    for case in rule.cases:
        if case.name in seen:
            ck.error("check.duplicate_case", case.loc, width=len(case.name), case=case.name)
        seen[case.name] = case
        if otherwise is not None:
            ck.error("check.case_after_otherwise", case.loc, width=len(case.name), case=case.name)
        if case.cond is None:
            otherwise = case
        else:
            ck.condition(case.cond, scope)
    if otherwise is None:
        ck.error("check.missing_otherwise", rule.loc, width=len(rule.name) + 7, rule=rule.name)
    conds = [c for c in rule.cases if c.cond is not None]
    for j, later in enumerate(conds):
        for earlier in conds[:j]:
            if covers(earlier.cond, later.cond):
                ck.error("check.dead_case", later.loc, width=len(later.name), case=later.name,
                         earlier=earlier.name, line=earlier.loc.line)
                break


def covers(earlier: A.Expr, later: A.Expr) -> bool:
    """True when `earlier` holding is certain whenever `later` holds (so `later` is dead).

    Decided for the shapes statuses use: the same condition twice, or `x >= k1 × y` before
    `x >= k2 × y` with k1 ≤ k2 (and the mirror for <, <=), assuming y is not negative.
    """
    if canon(earlier) == canon(later):
        return True
    a, b = _linear(earlier), _linear(later)
    if a is None or b is None or a[0] != b[0] or a[2] != b[2]:
        return False
    (_, op_a, _, k_a), (_, op_b, _, k_b) = a, b
    up = {">", ">="}
    down = {"<", "<="}
    if op_a in up and op_b in up:
        return k_a < k_b or (k_a == k_b and (op_a == ">=" or op_b == ">"))
    if op_a in down and op_b in down:
        return k_a > k_b or (k_a == k_b and (op_a == "<=" or op_b == "<"))
    return False


def _linear(node):
    if not isinstance(node, A.Compare) or node.consecutive is not None:
        return None
    right = node.right
    if isinstance(right, A.PercentOf):
        return canon(node.left), node.op, canon(right.operand), right.percent.value
    if isinstance(right, A.Num):
        return canon(node.left), node.op, "1", right.value
    return canon(node.left), node.op, canon(right), Decimal(1)


def limits(ck, rule: Status) -> None:
    pass


def expected(ck, ex, rule: Status):
    names = [c.name for c in rule.cases]
    if isinstance(ex.result, A.Word) and ex.result.name in names:
        return ex.result.name
    ck.error("check.enum_value", ex.loc, value=shown(ex.result), field=rule.name,
             options=", ".join(names), suggestion=suggest(shown(ex.result), names))
    return None


# ---------------------------------------------------------------------- evaluating
def compile_body(c, rule: Status) -> None:
    for case in rule.cases:
        if case.cond is None:
            c.emit_return(c.const(case.name))
            return
        c.emit(f"if {c.clause(case.cond, c.gen(case.cond))}:")
        c.emit_return(c.const(case.name), indent="    ")


def run(env, rule: Status, form) -> Optional[StatusResult]:
    for case in rule.cases:
        if case.cond is None or env.value(case.cond):
            return StatusResult(case.name)
    return None


# ---------------------------------------------------------------------- words
def details(compiled, facts: dict, raw: StatusResult) -> dict:
    return {"status": raw.status}


def headline(d, lang: str) -> str:
    return f"{d.rule} → {d.details['status']}"


def diff(rule: Status, add, text) -> None:
    for c in rule.cases:
        add("case", c.name, canon(c.cond) if c.cond else "otherwise", c)


def test_clauses(rule: Status) -> list:
    return [(c, c.cond) for c in rule.cases]


def reached(rule: Status, clause, value) -> bool:
    """Cases after the one that matched were not evaluated."""
    if not isinstance(clause, Case):
        return True
    names = [c.name for c in rule.cases]
    return names.index(clause.name) <= names.index(value)


def derive_form(rule: Status, schema: dict, props: dict, required: list, notes: list) -> None:
    schema.setdefault("x-trimtab-outputs", {})[rule.name] = {
        "type": "string", "enum": [c.name for c in rule.cases]}


# ---------------------------------------------------------------------- names
def names(r, rule: Status) -> None:
    for case in rule.cases:
        if case.cond is not None:
            r.expr(case.cond)


# ---------------------------------------------------------------------- tunable numbers
def params(c, rule) -> None:
    for case in rule.cases:
        if case.cond is not None:
            c.numbered(f"case.{case.name}", c.in_expr(case.cond))


KIND = Kind(
    name="status", node=Status, result=StatusResult,
    build={"status": lambda b, children: b.rule(Status, children), "case": build_case,
           "otherwise": build_otherwise},
    attach=attach, check=check, limits=limits, expected=expected, compile=compile_body, run=run,
    details=details, headline=headline, diff=diff, test_clauses=test_clauses,
    value_variant=True, reached=reached, derive_form=derive_form, names=names, params=params,
    clause_names={"case": word("case")})
