"""A rule's words kept once (Decision.to_json: an alert that did not fire is worked out once per
rule, result and language) read exactly as words worked out afresh, whatever was asked before."""
from __future__ import annotations

from conftest import evaluating_cases, shared_sources
from trimtab.dsl.diagnostics import RuleError
from trimtab.dsl.ruleset import load_sources


def _docs(ruleset, case, lang):
    try:
        decisions = ruleset.evaluate(case["form"], case["facts"], case.get("history", []))
    except RuleError:       # a limits case's facts, refused before any rule
        return []
    return [d.to_json(lang) for d in decisions]


def test_kept_words_read_as_fresh_ones(schemas):
    kept_some = 0
    for _case_id, case in evaluating_cases():
        sources = shared_sources() + [("case.rules", case["source"])]
        warm, fresh = load_sources(sources, schemas), load_sources(sources, schemas)
        for lang in ("zh", "en", "zh"):              # the other language in between
            assert _docs(warm, case, lang) == _docs(fresh, case, lang)
            fresh = load_sources(sources, schemas)   # nothing kept yet
        kept_some += sum(isinstance(key, tuple) and key[0] in ("zh", "en") and isinstance(key[1], tuple)
                         for r in warm.rules for key in getattr(r, "words", {}))
    assert kept_some > 20, kept_some


def test_a_caller_s_changes_stay_its_own(schemas):
    for _case_id, case in evaluating_cases():
        ruleset = load_sources(shared_sources() + [("case.rules", case["source"])], schemas)
        first = _docs(ruleset, case, "en")
        for doc in first:
            doc["compact"] = "mine"
            doc["explanation"] = "changed"
        assert all("compact" not in d and d.get("explanation") != "changed"
                   for d in _docs(ruleset, case, "en"))
