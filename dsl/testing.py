"""Rule tests: given facts (and history) → expected decisions; and what they exercised.

This module is pure: it takes test cases as dicts (the CLI reads them from YAML files beside
the rules) and the rule set; it returns results and coverage, and prints nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from . import ast as A
from .decision import plain
from .diagnostics import RuleError
from .kinds import KINDS


@dataclass
class Case:
    name: str
    where: str                      # "rules/tests/health.yaml:12" or "rules/scoring.rules:9"
    form: str
    facts: dict
    history: list = field(default_factory=list)
    as_of: str | None = None
    expect: dict = field(default_factory=dict)      # rule name -> value or {field: value}
    only_rule: Any = None           # for an inline example: the CompiledRule it belongs to
    today: str | None = None        # a silence case: the day the scheduler looks (history: what came)


@dataclass
class Mismatch:
    rule: str
    expected: object
    actual: object
    explanation: str = ""


@dataclass
class CaseResult:
    case: Case
    mismatches: list = field(default_factory=list)
    error: str | None = None        # the case could not run (unknown rule, bad facts)

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.error is None


class Coverage:
    """Which rules, clauses and source lines the cases exercised."""

    def __init__(self, ruleset):
        self.rules = {id(r): r for r in ruleset.rules}
        self.hit_rules: set = set()
        self.hit_clauses: set = set()             # (rule id, clause index)
        self.outcomes: dict = {}                  # (rule id, clause index) -> {True, False}

    def record(self, compiled, decision):
        if decision.error is not None:
            return
        rid = id(compiled)
        self.hit_rules.add(rid)
        by_id = {}
        for rec in decision.trace:
            by_id[rec.node] = rec.outcome
        for index, (clause, cond) in enumerate(clauses(compiled.rule)):
            if not _evaluated(compiled.rule, clause, decision):
                continue
            self.hit_clauses.add((rid, index))
            nid = compiled.ann.ids.get(id(cond)) if cond is not None else None
            if nid is not None and nid in by_id:
                self.outcomes.setdefault((rid, index), set()).add(by_id[nid] is True)

    def report(self) -> dict:
        rules = list(self.rules.values())
        total_clauses = [(id(r), i, c) for r in rules for i, (c, _) in enumerate(clauses(r.rule))]
        lines_all, lines_hit = set(), set()
        uncovered = []
        for rid, i, clause in total_clauses:
            line = (clause.loc.file, clause.loc.line)
            lines_all.add(line)
            if (rid, i) in self.hit_clauses:
                lines_hit.add(line)
            else:
                uncovered.append(f"{clause.loc.file}:{clause.loc.line}")
        conditions = [(rid, i) for rid, i, _ in total_clauses
                      if clauses(self.rules[rid].rule)[i][1] is not None]
        both = sum(1 for key in conditions if self.outcomes.get(key) == {True, False})
        return {
            "rules": _ratio(len(self.hit_rules), len(rules)),
            "clauses": _ratio(len(self.hit_clauses), len(total_clauses)),
            "lines": _ratio(len(lines_hit), len(lines_all)),
            "conditions_both_ways": _ratio(both, len(conditions)),
            "rules_not_run": sorted(f"{r.name} ({r.rule.loc.file}:{r.rule.loc.line})"
                                    for r in rules if id(r) not in self.hit_rules),
            "clauses_not_run": sorted(set(uncovered), key=_file_line),
        }


def _file_line(where: str):
    file, _, line = where.rpartition(":")
    return file, int(line) if line.isdigit() else 0


def _ratio(hit: int, total: int) -> dict:
    return {"hit": hit, "total": total, "percent": round(100.0 * hit / total, 1) if total else 100.0}


def clauses(rule: A.Rule) -> list:
    """(clause node, its condition or None) for every clause a test can exercise."""
    return [(f, None) for f in rule.formulas] + KINDS[rule.kind].test_clauses(rule)


def _evaluated(rule, clause, decision) -> bool:
    """Was this clause reached?  Every clause is, unless its kind says otherwise (a status's
    cases after the one that matched)."""
    return KINDS[rule.kind].reached(rule, clause, decision.value)


# ---------------------------------------------------------------------- running
def run_case(ruleset, case: Case, coverage: Coverage | None = None, lang: str = "en") -> CaseResult:
    result = CaseResult(case)
    if case.form not in ruleset.by_form and case.form not in ruleset.silent_by_form:
        result.error = RuleError.of("eval.unknown_form", form=case.form).message(lang)
        return result
    try:
        if case.today is not None:
            decisions = _silences(ruleset, case)
        elif case.only_rule is not None:
            decisions = [case.only_rule.evaluate(case.facts, case.history)]
        else:
            decisions = ruleset.evaluate(case.form, case.facts, case.history, as_of=case.as_of)
    except RuleError as err:
        result.error = err.diagnostics[0].format(lang)
        return result
    by_rule = {d.rule: d for d in decisions}
    if coverage is not None:
        # A rule counts as tested only when the case checks its decision: a case evaluates
        # every rule on its form, and a rule nobody expects anything of is not tested by it.
        for d in decisions:
            if d.rule in case.expect:
                coverage.record(d.compiled, d)
    for rule_name, want in case.expect.items():
        d = by_rule.get(rule_name)
        if d is None:
            result.mismatches.append(Mismatch(rule_name, want, "(rule not in force for this form)"))
            continue
        if d.error is not None:
            result.mismatches.append(Mismatch(rule_name, want, f"error: {d.error.message(lang)}"))
            continue
        got = d.to_json(lang, with_trace=False)
        if isinstance(want, dict):
            wrong = {k: v for k, v in want.items() if not _same(got.get(k), v)}
            if wrong:
                result.mismatches.append(Mismatch(rule_name, wrong, {k: got.get(k) for k in wrong},
                                                  d.explain(lang)))
        elif not _same(got["value"], want):
            result.mismatches.append(Mismatch(rule_name, want, got["value"], d.explain(lang)))
    return result


def _silences(ruleset, case: Case) -> list:
    """Silence alerts on `case.today` for the subject in `case.facts`, who submitted `history`."""
    import datetime as dt
    from .periods import day_of
    form = ruleset.schemas[case.form]
    days = [day_of(form, entry) for entry in case.history]
    subject = next((str(case.facts[s]) for s in form.subjects if case.facts.get(s)), "")
    return ruleset.evaluate_silences(case.form, subject, dt.date.fromisoformat(case.today or ""),
                                     max(days, default=None))


def _same(actual, expected) -> bool:
    actual, expected = plain(actual), plain(expected)
    if isinstance(actual, str) and isinstance(expected, (int, float, str)) \
            and not isinstance(expected, bool) and _decimal(actual) is not None:
        # An amount ("96428.57") equals the number a test writes, exactly.
        want = _decimal(expected if isinstance(expected, str) else repr(expected))
        return want is not None and _decimal(actual) == want
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    if isinstance(actual, list) and isinstance(expected, list):
        return len(actual) == len(expected) and all(_same(a, e) for a, e in zip(actual, expected))
    if isinstance(actual, dict) and isinstance(expected, dict):
        return all(_same(actual.get(k), v) for k, v in expected.items())
    if isinstance(actual, (int, float)) and isinstance(expected, (int, float)):
        return abs(actual - expected) <= 1e-9 * max(1.0, abs(expected))
    return actual == expected


def _decimal(text: str):
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def example_cases(ruleset) -> list[Case]:
    """The inline `example` lines of every rule, as cases of that rule alone."""
    out = []
    for r in ruleset.rules:
        for i, ex in enumerate(r.rule.examples):
            name = f"{r.name} example" + (f" “{ex.note}”" if ex.note else f" #{i + 1}")
            facts, expected = r.ann.example(ex)
            out.append(Case(name, f"{ex.loc.file}:{ex.loc.line}", r.form.name, facts,
                            expect={r.name: expected}, only_rule=r))
    return out
