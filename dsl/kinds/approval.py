"""approval: who approves a change, what it must state, how often it may happen.

    approval 目标变更
        on target_change per rep
        at most 1 change per cycle, else "本季度已调整过一次"
        cycle every 3 months from 2025-01-01
        require reason, evidence
        step direct_manager
        countersign hrbp, regional_manager when abs(change) > 15%
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple, Optional

from ..catalogs import tr, word
from .. import ast as A
from .. import runtime as rt
from ..canon import canon
from ..diagnostics import suggest
from ..schemas import spellings
from ..tokens import number_in, tokens, unquote
from ..units import parse_quantity
from ..param_sites import duration_limits, labels, Limits, UNIT_NAMES
from ..limits import MAX_COUNT
from .common import Kind, expect_truth, missing, role_names, set_once


@dataclass(eq=False)
class ChangeLimit:
    limit: int
    message: Optional[str]          # `else "…"`
    loc: A.Loc


@dataclass(eq=False)
class Cycle:
    n: int
    unit: str                       # week | month
    anchor: Optional[str]           # `from DATE`
    loc: A.Loc


@dataclass(eq=False)
class Require:
    names: list
    loc: A.Loc


@dataclass(eq=False)
class Step:
    roles: list                     # one role for a step, several for a countersign
    cond: Optional[A.Expr]
    countersign: bool
    loc: A.Loc


@dataclass(eq=False)
class Approval(A.Rule):
    limit: Optional[ChangeLimit] = None
    cycle: Optional[Cycle] = None
    requires: list = field(default_factory=list)    # Require clauses
    steps: list = field(default_factory=list)

    @property
    def require(self) -> list:
        return [n for r in self.requires for n in r.names]


class ApprovalResult(NamedTuple):
    allowed: bool
    violations: list                # ("required", field) and ("limit", changes this cycle)
    steps: list                     # ("step" | "countersign", roles) that apply
    used: int                       # changes already made this cycle


def build_change_limit(b, children):
    msg = tokens(children, "STRING")
    return ChangeLimit(int(str(tokens(children, "INT")[0])), unquote(msg[0]) if msg else None,
                       b.span(children))


def build_cycle(b, children):
    dur = tokens(children, "DURATION")[0]
    _value, unit = parse_quantity(str(dur))
    date = tokens(children, "DATE")
    return Cycle(int(number_in(dur)), unit or "", str(date[0]) if date else None, b.span(children))


def build_require(b, children):
    return Require(list(children[-1]), b.span(children))


def build_step(b, children):
    cond = next((c for c in children if isinstance(c, A.Expr)), None)
    return Step([str(tokens(children, "NAME")[0])], cond, False, b.span(children))


def build_countersign(b, children):
    cond = next((c for c in children if isinstance(c, A.Expr)), None)
    roles = next(c for c in children if isinstance(c, list))
    return Step(list(roles), cond, True, b.span(children))


def attach(rule: Approval, c) -> None:
    if isinstance(c, Step):
        rule.steps.append(c)
    elif isinstance(c, ChangeLimit):
        set_once(rule, "limit", c, "at most")
    elif isinstance(c, Cycle):
        set_once(rule, "cycle", c, "cycle")
    elif isinstance(c, Require):
        rule.requires.append(c)


# ---------------------------------------------------------------------- checking
def check(ck, rule: Approval, scope) -> None:
    form = scope.form
    if rule.limit is not None and rule.cycle is None:
        missing(ck, rule, "cycle", rule.limit.loc)
    if rule.cycle is not None:
        c = rule.cycle
        if c.unit not in ("week", "month") or c.n < 1:
            ck.error("check.bad_interval", c.loc, what="cycle", unit="weeks/months")
        if c.anchor:
            ck.check_date(c.anchor, c.loc)
        if form.date_field is None:
            ck.error("check.no_history_for_form", c.loc, what="cycle", form=form.name)
    for req in rule.requires:
        for name in req.names:
            if name not in form.fields:
                ck.error("check.unknown_field", rule.requires[-1].loc, name=name, form=form.name,
                         suggestion=suggest(name, spellings(form.fields)))
    seen: dict[str, A.Loc] = {}
    for step in rule.steps:
        if step.cond is not None:
            ck.condition(step.cond, scope)
        ck.check_roles(step.roles, step.loc)
        for role in step.roles:
            if role in ("subject", "rep", A.given(rule.on).subject):
                ck.error("check.self_approval", step.loc)
            if role in seen:
                ck.error("check.repeated_role", step.loc, name=role, line=seen[role].line)
            seen[role] = step.loc
    if not any(s.cond is None and not s.countersign for s in rule.steps):
        ck.error("check.no_final_approver", rule.loc, width=len(rule.name) + 9, rule=rule.name)


def limits(ck, rule: Approval) -> None:
    if rule.limit is not None:
        ck.limit_count(rule.limit.limit, rule.limit.loc, "N", low=0)
    if rule.cycle is not None:
        ck.limit_duration(rule.cycle.n, rule.cycle.unit, rule.cycle.loc, "cycle")


# ---------------------------------------------------------------------- evaluating
def compile_body(c, rule: Approval) -> None:
    c.emit("viol = []")
    for name in rule.require:
        key = c.const(name)
        c.emit(f"if is_blank(f.get({key})): viol.append(('required', {key}))")
    if rule.limit is not None:
        cy = A.given(rule.cycle)
        args = ", ".join(c.const(x) for x in (c.form.date_field, cy.n, cy.unit, cy.anchor))
        c.emit(f"used = cycle_count(f, h, {args}, R)")
        c.emit(f"if used >= {c.const(rule.limit.limit)}: viol.append(('limit', used))")
    else:
        c.emit("used = 0")
    c.emit("steps = []")
    for step in rule.steps:
        roles = c.const(tuple(step.roles))
        kind = "'countersign'" if step.countersign else "'step'"
        if step.cond is None:
            c.emit(f"steps.append(({kind}, {roles}))")
        else:
            c.emit(f"if {c.clause(step.cond, c.gen(step.cond))}: steps.append(({kind}, {roles}))")
    c.emit_return("not viol", "viol", "steps", "used")


def run(env, rule: Approval, form) -> ApprovalResult:
    violations: list = [("required", name) for name in rule.require
                        if rt.is_blank(env.facts.get(name))]
    used = 0
    if rule.limit is not None:
        cy = A.given(rule.cycle)
        used = rt.cycle_count(env.facts, env.history, form.date_field, cy.n, cy.unit, cy.anchor,
                              rule.name)
        if used >= rule.limit.limit:
            violations.append(("limit", used))
    steps = [("countersign" if s.countersign else "step", list(s.roles)) for s in rule.steps
             if s.cond is None or env.value(s.cond)]
    return ApprovalResult(not violations, violations, steps, used)


# ---------------------------------------------------------------------- words
def details(compiled, facts: dict, raw: ApprovalResult) -> dict:
    allowed, viol, steps, used = raw.allowed, raw.violations, raw.steps, raw.used
    rule = compiled.rule
    return {"allowed": allowed, "changes_this_cycle": used,
            "violations": [_violation(rule, v) for v in viol],
            "steps": [{"type": kind, "roles": list(roles)} for kind, roles in steps]}


def _violation(rule: Approval, v) -> dict:
    code, arg = v
    if code == "limit":
        lim = A.given(rule.limit)
        return {"code": "limit", "count": arg, "limit": lim.limit, "message": lim.message or None}
    return {"code": "required", "field": arg}


def headline(d, lang: str) -> str:
    x = d.details
    chain = " → ".join(role_names(d.compiled, s["roles"], lang, "+") for s in x["steps"])
    if x["allowed"]:
        return tr(lang, "{rule}: may proceed; approvers {chain}").format(rule=d.rule, chain=chain)
    reasons = []
    for v in x["violations"]:
        if v["code"] == "limit":
            reasons.append(v["message"] or tr(lang, "already {count} change(s) this cycle (at most {limit})")
                           .format(count=v["count"], limit=v["limit"]))
        else:
            reasons.append(tr(lang, "`{field}` is required").format(field=v["field"]))
    return tr(lang, "{rule}: refused — {reasons}").format(rule=d.rule, reasons=tr(lang, "; ").join(reasons))


def diff(rule: Approval, add, text) -> None:
    lim = rule.limit
    add("limit", "limit", repr((lim.limit if lim else None, lim.message if lim else None)),
        text=str(lim.limit if lim else None))
    cy = (rule.cycle.n, rule.cycle.unit, rule.cycle.anchor) if rule.cycle else None
    add("cycle", "cycle", repr(cy), text=" ".join(str(x) for x in cy or ()))
    add("require", "require", repr(sorted(rule.require)), text=", ".join(rule.require))
    for s in rule.steps:
        label = "countersign" if s.countersign else "step"
        meaning = repr((s.roles, canon(s.cond) if s.cond else None))
        words = "+".join(s.roles) + (f" (when {text(s.cond)})" if s.cond else "")
        add(label, "+".join(s.roles), meaning, s, words)


def test_clauses(rule: Approval) -> list:
    return [(s, s.cond) for s in rule.steps]


def derive_form(rule: Approval, schema: dict, props: dict, required: list, notes: list) -> None:
    """Required fields become required (and non-empty) in the form."""
    for name in rule.require:
        if name not in required:
            required.append(name)
        spec = props.setdefault(name, {})
        if spec.get("type") == "string":
            spec["minLength"] = 1
        elif spec.get("type") == "array":
            spec["minItems"] = 1
        notes.append({"rule": rule.name, "field": name, "constraint": "required"})


def workflow(compiled, text) -> dict:
    """The approval chain as a workflow definition (workflows/workflow.schema.json)."""
    rule = compiled.rule
    steps = []
    for i, s in enumerate(rule.steps, 1):
        step: dict[str, Any] = {"id": f"step{i}", "type": "countersign" if s.countersign else "approve",
                                "roles": list(s.roles)}
        if s.cond is not None:
            step["when"] = text(compiled, s.cond)
        steps.append(step)
    doc: dict[str, Any] = {"name": rule.name, "kind": "approval",
                           "trigger": {"form": A.given(rule.on).form, "subject": A.given(rule.on).subject},
                           "require": list(rule.require), "steps": steps,
                           "source": {"file": rule.loc.file, "line": rule.loc.line}}
    if rule.formulas:
        doc["formulas"] = {f.name: text(compiled, f.expr) for f in rule.formulas}
    if rule.limit is not None:
        cy = A.given(rule.cycle)
        doc["limit"] = {"changes_per_cycle": rule.limit.limit,
                        "cycle": {"every": cy.n, "unit": cy.unit, "anchor": cy.anchor},
                        "message": rule.limit.message}
    if rule.effective:
        doc["effective"] = rule.effective
    return doc


# ---------------------------------------------------------------------- names
def names(r, rule: Approval) -> None:
    for req in rule.requires:
        r.fields_list_at(req, "names", req.loc)
    for step in rule.steps:
        r.roles_at(step, "roles", step.loc)
        if step.cond is not None:
            r.expr(step.cond)


# ---------------------------------------------------------------------- tunable numbers
def params(c, rule) -> None:
    if rule.limit is not None:
        c.add(c.first(rule.limit.loc, "INT"), "limit", "changes", "changes",
              labels(word("changes per cycle")), "count", Limits(Decimal(0), Decimal(MAX_COUNT)))
    cycle = rule.cycle
    if cycle is not None:
        c.add(c.first(cycle.loc, "DURATION"), "cycle", "every", "cycle", labels(word("cycle length")),
              UNIT_NAMES.get(cycle.unit, cycle.unit), duration_limits(cycle.unit))
    for n, step in enumerate(rule.steps, 1):
        if step.cond is not None:
            c.numbered(f"step.{n}", c.in_expr(step.cond))


KIND = Kind(
    name="approval", node=Approval, result=ApprovalResult,
    build={"approval": lambda b, children: b.rule(Approval, children),
           "change_limit": build_change_limit, "cycle": build_cycle, "require": build_require,
           "step": build_step, "countersign": build_countersign},
    attach=attach, check=check, limits=limits, expected=lambda ck, ex, rule: expect_truth(ck, ex),
    compile=compile_body, run=run, details=details, headline=headline, diff=diff,
    test_clauses=test_clauses, derive_form=derive_form, workflow=workflow, names=names, params=params,
    clause_names={"step": word("step"), "countersign": word("countersign"), "limit": word("change limit"),
                  "cycle": word("cycle"), "require": word("required fields")}, yes_no=True)
