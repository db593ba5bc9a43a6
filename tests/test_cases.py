"""Language cases as data: tests/cases/<topic>/*.yaml.

The files have the schema of every trimtab test file (dsl/rule_tests.schema.json, the one
`trimtab test` reads rules/tests with, through the same reader): each test gives a rule `source`,
a `form`, `facts` (and `history`, `as_of`) and either `expect` (rule name → the decision's value, or
{value: …, field of its JSON: …}), `expect_eval_error` ({rule, code: eval.*, field}) or
`expect_error` ({code: parse.*/check.*, line}); `expect_explanation` gives rule → {lang: text
the explanation contains}.  Every evaluating case runs through the compiled evaluator (plain
and traced) and the reference interpreter alike.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import shared_sources
from trimtab.dsl import interpreter
from trimtab.dsl.diagnostics import RuleError
from trimtab.dsl.ruleset import load_sources
from trimtab.dsl.rule_tests import read_test_file

CASES_DIR = Path(__file__).parent / "cases"


def _collect():
    out = []
    for path in sorted(CASES_DIR.glob("*/*.yaml")):
        for i, (_where, case) in enumerate(read_test_file(path)):
            case_id = f"{path.parent.name}/{path.stem}#{i}:{case.get('name', '')}"
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
    if "expect_error" in case:
        want = case["expect_error"]
        with pytest.raises(RuleError) as info:
            _load(case, schemas)
        codes = [(d.code, d.line) for d in info.value.diagnostics if d.file == "case.rules"]
        assert any(code == want["code"] for code, _ in codes), codes
        if "line" in want:
            assert (want["code"], want["line"]) in codes, codes
        if "count" in want:
            assert len(codes) == want["count"], codes
        found = next(d for d in info.value.diagnostics if d.code == want["code"])
        for lang, text in want.get("says", {}).items():
            assert text in found.format(lang), found.format(lang)
        for d in info.value.diagnostics:      # every diagnostic has a place and both languages
            assert d.line > 0 and d.column > 0
            assert d.message("zh") != d.message("en")
        return
    rs = _load(case, schemas)
    facts, history = case["facts"], case.get("history", [])
    # `as_of`: the versions in force that day (dated rules and a rating's dated weights)
    in_force = rs.in_force(case["form"], case["as_of"]) if "as_of" in case else rs.by_form[case["form"]]
    rules = {r.name: r for r in in_force}
    if "expect_eval_error" in case:
        want = case["expect_eval_error"]
        name = want["rule"]
        with pytest.raises(RuleError) as info:
            rules[name].decide(facts, history)
        assert info.value.code == want["code"]
        with pytest.raises(RuleError) as info2:
            interpreter.run(rules[name], facts, history)
        assert info2.value.code == want["code"]
        decision = rules[name].evaluate(facts, history, trace=True)
        assert decision.error is not None and decision.error.code == want["code"]
        if "field" in want:
            assert decision.error.details.get("field") == want["field"]
        return
    assert case["expect"], "a case must expect something"
    for name, expected in case["expect"].items():
        want, details = _split(expected)
        compiled = rules[name]
        fast = compiled.decide(facts, history)
        traced = compiled.evaluate(facts, history, trace=True)
        reference = interpreter.run(compiled, facts, history)[0]
        assert traced.error is None, traced.error
        assert _numeric_equal(fast, want), f"compiled {fast!r} != {want!r}"
        assert _numeric_equal(traced.value, want), f"traced {traced.value!r} != {want!r}"
        assert _numeric_equal(reference, want), f"reference {reference!r} != {want!r}"
        assert traced.explain("en") and traced.explain("zh")
        if details:
            got = compiled.evaluate(facts, history).to_json("en")
            for key, value in details.items():
                assert _numeric_equal(_plainish(got[key]), _plainish(value)), (key, got[key], value)
    for name, texts in case.get("expect_explanation", {}).items():
        decision = rules[name].evaluate(facts, history, trace=True)
        for lang, text in texts.items():
            assert text in decision.explain(lang), decision.explain(lang)


def _split(expected):
    """(value, other fields of the decision's JSON) of one `expect` entry: a mapping names
    fields (its `value` is the decision's value), anything else is the value itself."""
    if isinstance(expected, dict):
        assert "value" in expected, f"a case names the decision's value: {expected!r}"
        return expected["value"], {k: v for k, v in expected.items() if k != "value"}
    return expected, {}


def _plainish(v):
    from trimtab.dsl.decision import plain
    return plain(v)
