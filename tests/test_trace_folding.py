"""What evaluate() leaves out of its trace records and Decision.trace works out when read: the
verdict of a clause of `and` / `or` / `not` over comparisons (its comparisons' records
determine it) and each comparison's result (its two sides do).  The trace read, the compact
form and the explanations must be exactly those of the same rule compiled to record every
verdict; a comparison that raised has no result and no record.
"""
from __future__ import annotations

import json

from conftest import ROOT, evaluating_cases, shared_sources
from trimtab.dsl.compiler import RuleCompiler
from trimtab.dsl.decision import Decision
from trimtab.dsl.ruleset import load, load_sources


def _seen(decision):
    """What a reader sees, now and from its stored compact form (which holds the records as
    each evaluation left them, so the two compilations store different ones)."""
    stored = Decision.revive(decision.compiled, decision.facts,
                             json.loads(json.dumps(decision.compact())))
    return ([(type(r).__name__, *r) for r in decision.trace], decision.explain("en"),
            decision.explain("zh"), [(type(r).__name__, *r) for r in stored.trace],
            stored.explain("en"), stored.explain("zh"))


def test_folded_verdicts_read_as_recorded_ones(schemas, monkeypatch):
    folded_clauses = 0
    for case_id, case in evaluating_cases():
        sources = shared_sources() + [("case.rules", case["source"])]
        folding = load_sources(sources, schemas)
        with monkeypatch.context() as m:
            m.setattr(RuleCompiler, "recorded", lambda self, node: False)
            recording = load_sources(sources, schemas)
        history = case.get("history", [])
        for a, b in zip(folding.by_form[case["form"]], recording.by_form[case["form"]]):
            assert not b.folded
            folded_clauses += len({clause_id for clause_id, _, _ in a.folded.values()})
            got, want = a.evaluate(case["facts"], history), b.evaluate(case["facts"], history)
            assert _seen(got) == _seen(want), (case_id, a.name)
    assert folded_clauses >= 5, folded_clauses


def test_the_peers_alert_on_seeded_facts(monkeypatch):
    """`(a and b) or c` over 500 seeded facts: every way its evaluation can stop."""
    import random
    import sys
    sys.path.insert(0, str(ROOT / "tests" / "bench"))
    import bench_dsl
    bench = ROOT / "tests" / "bench"
    folding = load(bench / "rules", bench / "forms").rule("alert")
    with monkeypatch.context() as m:
        m.setattr(RuleCompiler, "recorded", lambda self, node: False)
        recording = load(bench / "rules", bench / "forms").rule("alert")
    assert folding.folded and not recording.folded
    rng = random.Random(14)
    for _ in range(500):
        facts = bench_dsl.as_decimal(bench_dsl.gen_alert(rng))
        assert _seen(folding.evaluate(facts)) == _seen(recording.evaluate(facts)), facts


def test_a_comparison_that_raised_has_no_record():
    """Decimal NaN (only a library caller can pass one) cannot be ordered: the evaluation
    stops at the first comparison, and its trace is empty, as it was when records held
    their results."""
    from decimal import Decimal
    bench = ROOT / "tests" / "bench"
    rule = load(bench / "rules", bench / "forms").rule("alert")
    facts = {"milestone_delay_days": 1, "conversion_rate": Decimal("0.1"),
             "baseline_conversion": Decimal("0.2"), "weeks_below": 1,
             "contract_amount_change_pct": Decimal("NaN"), "receivables_days": 3}
    decision = rule.evaluate(facts)
    assert decision.error is not None and decision.error.code == "eval.out_of_range"
    assert decision.trace == []
    stored = json.loads(json.dumps(decision.compact(), default=str))
    assert Decision.revive(rule, facts, stored).trace == []


def test_a_clause_record_holds_the_clause_value(schemas):
    """A clause recorded as evaluated (a score's yes/no condition, a formula) holds the value
    the rule computed: the bool itself for a yes/no, the exact number for a formula."""
    from decimal import Decimal
    bench = ROOT / "tests" / "bench"
    scoring = load(bench / "rules", bench / "forms").rule("scoring")
    for said in (True, False):
        facts = {"effective_visits": 7, "needs_report_submitted": said, "stale_leads_over_48h": 1}
        for valid in (False, True):
            (record,) = scoring.evaluate(facts, (), True, valid).trace
            assert type(record).__name__ == "Valued" and record.value is said, (said, valid, record)
    source = ("alert a level yellow\n    on kr_progress per rep\n    gap = expected - progress\n"
              "    when gap > 20%\n    notify subject\n")
    alert = load_sources(shared_sources() + [("case.rules", source)], schemas).rule("a")
    facts = {"rep": "r1", "month": "2026-07", "kr": "k", "progress": Decimal("0.5"),
             "expected": Decimal("0.75"), "alignment": Decimal("0.9")}
    decision = alert.evaluate(facts)
    assert decision.error is None and decision.value is True
    valued = [r.value for r in decision.trace if type(r).__name__ == "Valued"]
    assert valued == [Decimal("0.25")] and type(valued[0]) is Decimal, decision.trace
