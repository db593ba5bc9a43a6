"""What evaluate() leaves out of its trace records and Decision.trace works out when read: the
verdict of a clause of `and` / `or` / `not` over comparisons (its comparisons' records
determine it) and each comparison's result (its two sides do).  The trace read, the compact
form and the explanations must be exactly those of the same rule compiled to record every
verdict; a comparison that raised has no result and no record.
"""
from __future__ import annotations

from conftest import ROOT, evaluating_cases, shared_sources
from trimtab.dsl.compiler import RuleCompiler
from trimtab.dsl.ruleset import load, load_sources


def _seen(decision):
    return ([(type(r).__name__, *r) for r in decision.trace], decision.compact(),
            decision.explain("en"), decision.explain("zh"))


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
    assert decision.trace == [] and decision.compact()["trace"] == []
