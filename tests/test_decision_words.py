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


def _decision_of(ruleset, name, facts, lang="zh"):
    """The decision of rule `name` on `facts` (form, facts, history), and its document."""
    [d] = [d for d in ruleset.evaluate(*facts) if d.rule == name]
    return d, d.to_json(lang)


def test_a_scores_words_are_kept_per_result_and_read_as_fresh_ones(shipped, schemas):
    """健康度评分's words follow from its points alone: two reps' weeks with the same points
    share them, and read as words worked out on a rule set that has kept nothing."""
    from serverkit import week
    from trimtab.dsl.ruleset import load
    from conftest import RULES, SCHEMAS
    weeks = [dict(week(1, visits, coverage), rep=rep)
             for rep, visits, coverage in (("east.li", 5, 0.9), ("east.wang", 6, 0.95),
                                           ("east.li", 1, 0.5), ("east.zhao", 14, 1.2))]
    for facts in weeks:
        d, doc = _decision_of(shipped, "健康度评分", ("weekly_metrics", facts, []))
        fresh = load(RULES, SCHEMAS)
        assert doc == _decision_of(fresh, "健康度评分", ("weekly_metrics", facts, []))[1]
        assert ("zh", d.outcome) in d.compiled.words          # kept under its points
    # 40 and Decimal("40") are equal keys but not the same words: only plain integers are kept
    from decimal import Decimal
    from trimtab.dsl.kinds.score import words_key
    assert words_key((40, (20, 20))) == (40, (20, 20))
    assert words_key((Decimal(40), (20, 20))) is None and words_key((40, (20, Decimal(20)))) is None


def test_a_rule_keeps_the_words_of_a_bounded_number_of_results(schemas):
    """A score of `for every` lines has a result per count of visits: the words kept stop at
    WORDS_KEPT, and what is not kept is worked out as before."""
    from conftest import RULES
    from trimtab.dsl.words import WORDS_KEPT
    ruleset = load_sources(shared_sources() + [(str(RULES / "scoring.rules"),
                                                (RULES / "scoring.rules").read_text(encoding="utf-8"))],
                           schemas)
    rule = next(r for r in ruleset.rules if r.name == "行为分")
    for visits in range(0, 3 * (WORDS_KEPT + 50), 3):
        facts = {"rep": "east.li", "month": "2026-07", "effective_visits": visits,
                 "needs_report": "draft", "leads": []}
        [doc] = [d.to_json("en") for d in ruleset.evaluate("behavior_log", facts, [])
                 if d.rule == "行为分"]
        assert doc["value"] == visits // 3 * 20
    assert len(rule.words) == WORDS_KEPT


def test_a_fired_alerts_headline_is_kept_per_count_and_its_message_is_each_decisions_own(shipped):
    """健康度黄灯 fired for two reps with as many indicators low: the headline up to the message
    is worked out once per language and count; the message names each rep — and the whole
    reads as on a rule set that has kept nothing."""
    from serverkit import week
    from trimtab.dsl.ruleset import load
    from conftest import RULES, SCHEMAS
    docs = {}
    for rep in ("east.li", "east.wang", "east.li"):
        facts = dict(week(1, 5, 0.5), rep=rep, effective_visits=1)     # visits, coverage low: fires
        for lang in ("zh", "en"):
            d, doc = _decision_of(shipped, "健康度黄灯", ("weekly_metrics", facts, []), lang)
            fresh = _decision_of(load(RULES, SCHEMAS), "健康度黄灯", ("weekly_metrics", facts, []), lang)[1]
            assert d.value is True and doc == fresh
            assert ("fired", lang, doc["matched"]) in d.compiled.words
            docs[rep, lang] = doc["explanation"]
    assert docs["east.li", "zh"] != docs["east.wang", "zh"]
    assert docs["east.li", "zh"].split(" — ")[0] == docs["east.wang", "zh"].split(" — ")[0]
    assert "east.wang" in docs["east.wang", "en"] and "east.li" not in docs["east.wang", "en"]
