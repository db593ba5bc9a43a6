"""A score's line on a yes/no field (`+30 when needs_report_submitted`) leaves no trace record
when evaluated: it earns its points exactly when the field is true, so Decision.trace works
the record out from the result (kinds/score.derived); an evaluation stopped by an error adds
it if the line ran (runtime.reached).  The trace read, the compact form, the explanations and
the rule tests' coverage must be exactly those of the same rule recording it as it runs."""
from __future__ import annotations

import json
import random
from decimal import Decimal

from conftest import ROOT
from trimtab.dsl.decision import Decision
from trimtab.dsl.kinds import score
from trimtab.dsl.ruleset import load

FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "yes_no_log",
    "type": "object", "x-subject": ["rep"],
    "properties": {"rep": {"type": "string"}, "flag": {"type": "boolean"},
                   "other": {"type": "boolean", "default": False},
                   "amount": {"type": "number"}, "visits": {"type": "integer"}},
    "required": ["flag", "amount", "visits"], "additionalProperties": False}

# Records of a formula and of comparisons around the yes/no lines; `-2 per amount` overflows
# for a huge amount (an error after the first yes/no line, before the others), `amount > 10`
# raises for NaN (its record made, no result); `+0 when flag` cannot be told from its points.
RULES = """score mixed
    on yes_no_log per rep
    small = amount - 1
    +5 when flag
    -2 per amount
    +3 when amount > 10
    +7 when other, at most 20
    +4 when flag and amount > 1
    +0 when flag
    +6 when not flag
    -1 for every 2 visits

score plain
    on yes_no_log per rep
    +20 for every 3 visits
    +30 when flag
    -10 when other
"""


def _rules(tmp_path, monkeypatch, derive: bool):
    (tmp_path / "forms").mkdir(exist_ok=True)
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "forms" / "yes_no_log.json").write_text(json.dumps(FORM))
    (tmp_path / "rules" / "mixed.rules").write_text(RULES)
    with monkeypatch.context() as m:
        if not derive:
            m.setattr(score, "derivable", lambda ann, line: False)
        return load(tmp_path / "rules", tmp_path / "forms")


def _seen(decision):
    # repr: a NaN amount's records are equal only as text.  (The compact forms differ: each
    # stores its records as its evaluation left them; revived, they read alike, below.)
    return (repr([(type(r).__name__, *r) for r in decision.trace]),
            decision.explain("en"), decision.explain("zh"), repr(decision.value))


def _facts(rng):
    facts = {"rep": "r1", "flag": rng.choice([True, False]),
             "amount": rng.choice([Decimal("0.5"), Decimal(12), Decimal("2.25"), Decimal("NaN"),
                                   Decimal("9E+999999"), 3]),
             "visits": rng.randint(0, 9)}
    if rng.random() < 0.5:
        facts["other"] = rng.choice([True, False])
    if rng.random() < 0.1:
        del facts[rng.choice(["flag", "amount"])]       # stopped before any line
    return facts


def test_derived_records_read_as_recorded_ones(tmp_path, monkeypatch):
    deriving = _rules(tmp_path, monkeypatch, True)
    recording = _rules(tmp_path, monkeypatch, False)
    rng = random.Random(5)
    errors, derived = set(), 0
    for name in ("mixed", "plain"):
        a, b = deriving.rule(name), recording.rule(name)
        assert a.derived and not b.derived
        assert "T.append(" not in a.source.split("def evaluate")[1] or name == "mixed"
        derived += len(a.derived)
        for _ in range(300):
            facts = _facts(rng)
            for trace in (True, False):
                for valid in (False, True):
                    if valid and ("flag" not in facts or "amount" not in facts):
                        continue        # `valid` vouches for the schema's required fields
                    got, want = a.evaluate(facts, (), trace, valid), b.evaluate(facts, (), trace, valid)
                    assert _seen(got) == _seen(want), (name, facts, trace, valid)
                    if got.error is not None:
                        errors.add((got.error.code, len(got.trace)))
                    # stored and revived, it reads alike (a trace=False decision too)
                    stored = json.loads(json.dumps(got.compact()))
                    revived = Decision.revive(a, facts, stored)
                    assert _seen(revived) == _seen(got), (facts, trace)
                    assert repr(revived.compact()) == repr(got.compact())
    assert derived == 4
    # errors before any line, after the first yes/no line, at a comparison that raised
    assert {code for code, _ in errors} >= {"eval.missing_field", "eval.out_of_range"}
    assert any(n > 1 for _, n in errors), errors


def test_the_bench_scoring_records_nothing_while_evaluating():
    """The bench's `+30 when needs_report_submitted`: no list is made, and the trace still
    holds the condition's record, True or False."""
    scoring = load(ROOT / "tests" / "bench" / "rules", ROOT / "tests" / "bench" / "forms").rule("scoring")
    evaluate = scoring.source.split("def evaluate")[1]
    assert "T = []" not in evaluate and "T.append(" not in evaluate
    for said in (True, False):
        facts = {"effective_visits": 7, "needs_report_submitted": said, "stale_leads_over_48h": 1}
        (record,) = scoring.evaluate(facts).trace
        assert type(record).__name__ == "Valued" and record.value is said
        assert scoring.evaluate(facts, (), False).trace == []
