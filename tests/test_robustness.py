"""Broken input never escapes as a Python exception: every problem is a diagnostic.

Shipped files are damaged in seeded, repeatable ways (a character dropped, a line cut, a
token doubled, lines shuffled) and loaded; the only acceptable failure is RuleError
with located diagnostics.
"""
from __future__ import annotations

import random

import pytest

from conftest import RULES, shared_sources
from trimtab.dsl.diagnostics import RuleError
from trimtab.dsl.ruleset import load_sources

SHIPPED = sorted(RULES.glob("*.rules"))


def mutations(text: str, rng: random.Random, n: int):
    lines = text.splitlines(keepends=True)
    for _ in range(n):
        kind = rng.randrange(5)
        if kind == 0 and text:
            i = rng.randrange(len(text))
            yield text[:i] + text[i + 1:]
        elif kind == 1:
            yield text[: rng.randrange(len(text) + 1)]
        elif kind == 2 and lines:
            copy = lines[:]
            rng.shuffle(copy)
            yield "".join(copy)
        elif kind == 3:
            i = rng.randrange(len(text) + 1)
            yield text[:i] + rng.choice([" ", "\t", "(", ")", "%", "万", "当", ":", "\n    ", "\"", "#"]) + text[i:]
        else:
            words = text.split(" ")
            i = rng.randrange(len(words))
            words.insert(i, words[i])
            yield " ".join(words)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_damaged_files_give_diagnostics_only(path, schemas):
    rng = random.Random(f"trimtab:{path.name}")
    text = path.read_text(encoding="utf-8")
    seen_errors = 0
    for damaged in mutations(text, rng, 60):
        sources = [s for s in shared_sources() if s[0] != str(path)] + [(str(path), damaged)]
        lines = {name: text.count("\n") + 1 for name, text in sources}
        try:
            load_sources(sources, schemas)
        except RuleError as err:
            seen_errors += 1
            for d in err.diagnostics:
                assert d.code.split(".")[0] in ("parse", "check", "load")
                assert d.message("en") and d.message("zh")
                # Located: in a file that was loaded, on one of its lines, at a column.
                assert d.file in lines and 1 <= d.line <= lines[d.file] and d.column >= 1, \
                    (d.code, d.file, d.line, d.column)
    assert seen_errors > 0


@pytest.mark.parametrize("expr,code", [
    ("not " * 20000 + "effective_visits", "parse.too_deep"),
    # Deeper than the checker allows (limits.MAX_EXPR_DEPTH), not deep enough for our parser.
    ("(" * 199 + "effective_visits" + " + 1)" * 199, "check.too_deep"),
    ("(" * 400 + "effective_visits" + " + 1)" * 400, "parse.too_deep"),
])
def test_deep_nesting_is_a_diagnostic(schemas, expr, code):
    src = f"alert a level yellow\n    on weekly_metrics per rep\n    when {expr} < 8\n    notify hrbp\n"
    with pytest.raises(RuleError) as info:
        load_sources(shared_sources() + [("deep.rules", src)], schemas)
    assert [d.code for d in info.value.diagnostics] == [code]


def test_moderate_nesting_loads(schemas):
    expr = "(" * 50 + "effective_visits" + " + 1)" * 50
    src = f"alert a level yellow\n    on weekly_metrics per rep\n    when {expr} < 80\n    notify hrbp\n"
    rs = load_sources(shared_sources() + [("ok.rules", src)], schemas)
    assert rs.rules[0].decide({"effective_visits": 29, "meeting_conversion": 0, "stage_advances": 0,
                               "pipeline_coverage": 0}) is True


def test_wrong_fact_types_never_crash(shipped):
    rng = random.Random(7)
    junk = [None, "x", True, [], {}, -1, 10 ** 30, 1.5, "2026-13-45"]
    for form in shipped.forms():
        fields = list(shipped.schemas[form].fields)
        for _ in range(40):
            facts = {f: rng.choice(junk) for f in fields}
            history = [facts] if rng.random() < 0.5 else []
            try:
                decisions = shipped.evaluate(form, facts, history)
            except RuleError as err:        # a percent field's number out of its range
                assert err.code == "eval.percent_not_fraction" and err.message("zh")
                continue
            for d in decisions:
                if d.error is not None:
                    assert d.error.code.startswith("eval.")
                    assert d.error.message("zh")
