"""Compact traces (Decision.compact / Decision.revive): a decision stored as its result and
trace records, JSON and exact, is explained later in the very words it had when made."""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import pytest

from bodygen import spec_example
from conftest import shared_sources
from trimtab.dsl.decision import Decision
from trimtab.dsl.diagnostics import RuleError
from trimtab.dsl.rule_tests import read_test_file
from trimtab.dsl.ruleset import load_sources

CASES_DIR = Path(__file__).parent / "cases"


def _load(case, schemas):
    return load_sources(shared_sources() + [("case.rules", case["source"])], schemas)


def _documents(decision):
    return [decision.to_json("en"), decision.to_json("zh"), decision.explain("en"),
            decision.explain("zh"), [list(r) for r in decision.trace], decision.raw, decision.value]


def _round_trip(decision):
    stored = json.loads(json.dumps(decision.compact()))      # through JSON, as a database keeps it
    return Decision.revive(decision.compiled, decision.facts, stored)


def _stored_before(decision) -> dict:
    """Decision.compact as rows stored before 2026-11-30 hold it: the records as
    Decision.trace reads them (folded verdicts and derived records included)."""
    from trimtab.dsl.decision import _pack
    error = decision.error
    return {"rule": decision.rule, "raw": _pack(decision.outcome),
            "trace": [[type(rec).__name__, *[_pack(v) for v in rec]] for rec in decision.trace],
            "error": None if error is None else {"code": error.code, "args": _pack(error.details)}}


def _check(decision):
    again = _round_trip(decision)
    assert _documents(again) == _documents(decision)
    if decision.records is not None:    # an older row revives alike (trace=False: none stored)
        older = Decision.revive(decision.compiled, decision.facts,
                                json.loads(json.dumps(_stored_before(decision))))
        assert _documents(older) == _documents(decision)
    if decision.error is not None:
        assert (again.error.code, again.error.details) == (decision.error.code, decision.error.details)
        assert again.error.diagnostics == decision.error.diagnostics      # the same place


def test_every_case_file_decision_is_explained_alike_after_storing(schemas):
    checked = 0
    for path in sorted(CASES_DIR.glob("*/*.yaml")):
        for _, case in read_test_file(path):
            if "expect_error" in case:
                continue
            rs = _load(case, schemas)
            try:
                decisions = rs.evaluate(case["form"], case["facts"], case.get("history", []))
            except RuleError as err:     # a limits case's huge percent: refused before any rule
                assert err.code == "eval.percent_not_fraction"
                continue
            for decision in decisions:
                _check(decision)
                checked += 1
    assert checked > 60


def test_shipped_rules_on_seeded_facts_with_history(shipped):
    rng = random.Random(7)
    kinds = set()
    for form in shipped.forms():
        schema = shipped.schemas[form]
        for _ in range(15):
            facts = json.loads(spec_example(schema.raw, rng), parse_float=Decimal)
            history = [json.loads(spec_example(schema.raw, rng), parse_float=Decimal)
                       for _ in range(rng.randint(0, 4))]
            for decision in shipped.evaluate(form, facts, history, as_of="2026-12-31"):
                _check(decision)
                kinds.add((decision.kind, decision.error is None))
    for form in shipped.silent_by_form:
        for d in shipped.evaluate_silences(form, "east.li", dt.date(2026, 9, 1), dt.date(2026, 7, 1)):
            _check(d)
            kinds.add(("silence", d.value))
    assert {k for k, ok in kinds if ok} >= {"alert", "score", "status", "target", "split",
                                            "approval"}


def test_a_compact_decision_holds_no_words_and_is_refused_for_another_rule(shipped):
    rule = shipped.rule("健康度黄灯")
    facts = {"rep": "east.li", "week_start": "2026-07-06", "effective_visits": 3,
             "meeting_conversion": Decimal("0.1"), "new_opportunity_amount": 0, "new_opportunities": 1,
             "stage_advances": 0, "pipeline_coverage": Decimal("0.5"), "weighted_pipeline": 0,
             "conversion_rate": Decimal("0.1"), "new_customers": 0, "new_visit_records": 0,
             "contract_amount": 0, "negative_feedback": 0}
    decision = rule.evaluate(facts)
    doc = decision.compact()
    assert "explanation" not in json.dumps(doc) and doc["trace"]
    assert all(rec[0] in ("Compared", "Valued", "Missing", "Short") for rec in doc["trace"])
    other = next(r for r in shipped.rules if r.name != rule.name)
    with pytest.raises(ValueError):
        Decision.revive(other, facts, doc)


class Flagged(NamedTuple):
    """A record a new kind might make: defined here, beside its "kind", and nowhere else."""
    node: int
    why: str

    @property
    def outcome(self) -> bool:
        return True

    def render(self, compiled, text: str, where: str, lang: str) -> str:
        return f"⚑ {text}: {self.why} ({where})"


def test_a_kinds_own_record_is_stored_read_back_and_worded_by_its_kind(shipped):
    """A kind's record type lives in its module and is named in its hooks' `trace_records`:
    decision.py stores it, reads it back and has it word itself, knowing nothing of it."""
    rule = copy.copy(shipped.rule("健康度黄灯"))
    rule.hooks = dataclasses.replace(rule.hooks, trace_records=(Flagged,))
    node = rule.ann.id_of(rule.rule.conditions[0])
    made = Decision(rule, {"rep": "east.li"}, (False, 0), [(Flagged, node, "looked at")], None)
    doc = json.loads(json.dumps(made.compact()))
    assert doc["trace"] == [["Flagged", node, "looked at"]]
    back = Decision.revive(rule, {"rep": "east.li"}, doc)
    assert back.trace == [Flagged(node, "looked at")]
    line = back.explain_lines("en")
    assert line == made.explain_lines("en") == [
        "⚑ effective_visits < 80% of industry.effective_visits: looked at (health.rules:10)"]
    with pytest.raises(KeyError):           # the kind that makes it is the one that reads it back
        Decision.revive(shipped.rule("健康度黄灯"), {"rep": "east.li"}, doc)
