"""Language cases as data: tests/cases/<topic>/*.yaml.

Each case gives a rule `source`, a `form`, `input` facts (and `history`) and either `want`
(rule name → decision value; `want_explanation`: rule → {lang: text the explanation
contains}), `want_eval_error` (an `eval.*` code) or `want_error_code`
(a `parse.*`/`check.*` code, optionally at `want_error_line`).  Every evaluating case runs
through the compiled evaluator (plain and traced) and the reference interpreter alike.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import load_yaml, shared_sources
from dsl import interpreter
from dsl.diagnostics import DiagnosticError, EvalError
from dsl.ruleset import load_sources

CASES_DIR = Path(__file__).parent / "cases"


def _collect():
    out = []
    for path in sorted(CASES_DIR.glob("*/*.yaml")):
        doc = load_yaml(path)
        for i, case in enumerate(doc["cases"]):
            case_id = f"{path.parent.name}/{path.stem}#{i}:{case.get('note', '')}"
            out.append(pytest.param(case, id=case_id))
    return out


CASES = _collect()


def test_there_are_cases():
    assert len(CASES) >= 60


def _load(case, schemas):
    return load_sources(shared_sources() + [("case.rules", case["source"])], schemas)


def _numeric_equal(a, b) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_numeric_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


@pytest.mark.parametrize("case", CASES)
def test_case(case, schemas):
    if "want_error_code" in case:
        with pytest.raises(DiagnosticError) as info:
            _load(case, schemas)
        codes = [(d.code, d.line) for d in info.value.diagnostics if d.file == "case.rules"]
        assert any(code == case["want_error_code"] for code, _ in codes), codes
        if "want_error_line" in case:
            assert (case["want_error_code"], case["want_error_line"]) in codes, codes
        for d in info.value.diagnostics:      # every diagnostic has a place and both languages
            assert d.line > 0 and d.column > 0
            assert d.message("zh") != d.message("en")
        return
    rs = _load(case, schemas)
    facts, history = case["input"], case.get("history", [])
    rules = {r.name: r for r in rs.by_form[case["form"]]}
    if "want_eval_error" in case:
        name = case["rule"]
        with pytest.raises(EvalError) as info:
            rules[name].decide(facts, history)
        assert info.value.code == case["want_eval_error"]
        with pytest.raises(EvalError) as info2:
            interpreter.run(rules[name], facts, history)
        assert info2.value.code == case["want_eval_error"]
        decision = rules[name].evaluate(facts, history, trace=True)
        assert decision.error is not None and decision.error.code == case["want_eval_error"]
        if "field" in case:
            assert decision.error.args_.get("field") == case["field"]
        return
    assert case["want"], "a case must expect something"
    for name, want in case["want"].items():
        compiled = rules[name]
        fast = compiled.decide(facts, history)
        traced = compiled.evaluate(facts, history, trace=True)
        reference = interpreter.run(compiled, facts, history)[0]
        assert traced.error is None, traced.error
        assert _numeric_equal(fast, want), f"compiled {fast!r} != {want!r}"
        assert _numeric_equal(traced.value, want), f"traced {traced.value!r} != {want!r}"
        assert _numeric_equal(reference, want), f"reference {reference!r} != {want!r}"
        assert traced.explain("en") and traced.explain("zh")
    for name, texts in case.get("want_explanation", {}).items():
        decision = rules[name].evaluate(facts, history, trace=True)
        for lang, text in texts.items():
            assert text in decision.explain(lang), decision.explain(lang)
    for name, details in case.get("want_details", {}).items():
        got = rules[name].evaluate(facts, history).to_json("en")
        for key, value in details.items():
            assert _numeric_equal(_plainish(got[key]), _plainish(value)), (key, got[key], value)


def _plainish(v):
    from dsl.decision import plain
    return plain(v)
