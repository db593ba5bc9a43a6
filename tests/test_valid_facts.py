"""Facts the caller vouches for (`valid=True`): validated against the form schema, so the
compiled rules skip their per-field type checks — and decide, explain and trace exactly as
the checked path does.

The facts of every evaluating case under tests/cases that the form's decoder (dsl/decode.py)
accepts go through both paths; a field whose schema admits null keeps its check.
"""
from __future__ import annotations

import msgspec
import pytest

from conftest import evaluating_cases, shared_sources
from trimtab.dsl.decode import FactsDecoder
from trimtab.dsl.diagnostics import RuleError
from trimtab.dsl.ruleset import load_sources
from trimtab.dsl.schemas import schemas_from_texts


def _outcome(compiled, facts, history, valid):
    """Everything a reader of the decision sees, on one path."""
    try:
        value = ("value", compiled.decide(facts, history, valid=valid))
    except RuleError as err:
        value = ("error", err.code, err.details)
    d = compiled.evaluate(facts, history, trace=True, valid=valid)
    return value, d.to_json("en"), d.to_json("zh"), d.compact()


def _decoded(schema, facts):
    """The case's facts as the decoder gives them from their JSON, or None if it refuses."""
    try:
        body = msgspec.json.Encoder(decimal_format="number").encode(facts)
        return FactsDecoder(schema.raw).decode(body)
    except (RuleError, ValueError):
        return None


def test_valid_facts_decide_as_checked_facts(schemas):
    compared = 0
    for case_id, case in evaluating_cases():
        facts = _decoded(schemas[case["form"]], case["facts"])
        if facts is None:
            continue
        rs = load_sources(shared_sources() + [("case.rules", case["source"])], schemas)
        history = case.get("history", [])
        for compiled in rs.by_form[case["form"]]:
            checked = _outcome(compiled, case["facts"], history, False)
            assert _outcome(compiled, facts, history, True) == checked, (case_id, compiled.name)
            compared += 1
    assert compared >= 40, compared


def test_a_field_that_may_be_null_keeps_its_check():
    schema = {"title": "f", "type": "object", "x-subject": ["rep"],
              "properties": {"rep": {"type": "string"}, "n": {"type": ["integer", "null"]},
                             "m": {"type": "integer"}}}
    import json
    schemas = schemas_from_texts([("f.json", json.dumps(schema))])
    rs = load_sources([("r.rules", "alert a level red\n    on f per rep\n    when n > m\n"
                                   "    notify hrbp\n"),
                       ("roles.rules", 'role hrbp "HRBP"\n')], schemas)
    rule = rs.rule("a")
    for valid in (False, True):
        with pytest.raises(RuleError) as info:
            rule.decide({"rep": "x", "n": None, "m": 1}, valid=valid)
        assert info.value.code == "eval.wrong_type"
    assert "if valid:" in rule.source          # `m` alone is read without a check
