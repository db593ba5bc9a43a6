"""Syntax errors (issue #15, 5): one mistake gives one error, wherever it is in a shipped file;
every error of a file is reported, placed, with its caret; full-width punctuation reads as
ASCII in `fmt` too.  The single cases are data: tests/cases/errors/parse.yaml."""
from __future__ import annotations

import random

import pytest

from conftest import RULES
from trimtab.dsl.diagnostics import MAX_DIAGNOSTICS, RuleError
from trimtab.dsl.formatter import format_text
from trimtab.dsl.parser import parse

SHIPPED = sorted(RULES.rglob("*.rules"))


def _mutate(lines: list[str], rng: random.Random) -> list[str]:
    """One typo on one line: its indentation lost or grown, a word doubled or dropped, or a
    stray character."""
    n = rng.choice([i for i, raw in enumerate(lines) if raw.strip() and not raw.lstrip().startswith("#")])
    raw, words = lines[n], lines[n].split(" ")
    kind = rng.randrange(5)
    if kind == 0:
        raw = raw.lstrip()
    elif kind == 1:
        raw = "  " + raw
    elif kind == 2:
        i = rng.randrange(len(words))
        raw = " ".join(words[:i + 1] + words[i:])
    elif kind == 3:
        i = rng.choice([i for i, w in enumerate(words) if w])
        raw = " ".join(words[:i] + words[i + 1:])
    else:
        i = rng.randrange(len(raw) + 1)
        raw = raw[:i] + rng.choice("@$?;。") + raw[i:]
    return lines[:n] + [raw] + lines[n + 1:]


def _errors(text: str) -> int:
    try:
        parse(text, "typo.rules")
    except RuleError as err:
        return len(err.diagnostics)
    return 0


def test_one_typo_gives_one_error_and_two_files_with_one_each_give_two():
    """A typo in each of two shipped files: each alone gives at most one error, the two read
    as one file give both (the old parser stopped at the first; a cascade would give more)."""
    rng = random.Random(15)
    both = 0
    for _ in range(150):
        a, b = ("\n".join(_mutate(rng.choice(SHIPPED).read_text(encoding="utf-8").splitlines(), rng)) + "\n"
                for _ in range(2))
        alone = _errors(a), _errors(b)
        assert max(alone) <= 1, (a if alone[0] > 1 else b)
        # A role between them: a line of b that lost its indentation or its `#` before b's
        # first rule would otherwise join a's last rule, where only its first error is said.
        joined = a + "\nrole between\n" + b
        assert _errors(joined) == sum(alone), joined
        both += alone == (1, 1)
    assert both >= 80          # most typos break the syntax; the rest still read


def test_every_error_of_a_file_placed_with_its_caret():
    rule = ("alert a{i} level yellow\n    on weekly_metrics per rep\n    when effective_visits < 8 8\n"
            "    notify hrbp\n\n")
    text = "".join(rule.format(i=i) for i in range(5))
    with pytest.raises(RuleError) as info:
        parse(text, "five.rules")
    diags = info.value.diagnostics
    assert [(d.line, d.column) for d in diags] == [(3 + 5 * i, 31) for i in range(5)]
    shown = diags[0].format("zh").splitlines()
    assert shown[0].startswith("five.rules:3:31: parse.unexpected_token: 此处不应出现 `8`")
    assert shown[2] == "    " + " " * 30 + "^"


def test_errors_stop_at_the_limit():
    text = "alert a level yellow\n    on weekly_metrics per rep\n" + "    when x < 8 8\n" * 80
    with pytest.raises(RuleError) as info:
        parse(text, "many.rules")
    assert len(info.value.diagnostics) == MAX_DIAGNOSTICS


def test_fmt_writes_full_width_punctuation_as_ascii_and_keeps_texts():
    text = ("预警 a 级别 yellow\n    针对 weekly_metrics 按 rep\n    当 至少 1 项满足：\n"
            "        （effective_visits ＜ 8）\n        pipeline_coverage ＜＝ 75％  # 注释，原样\n"
            "    通知 direct_manager，hrbp\n    提示 \"（原样）＜\"\n")
    assert format_text(text, "zh") == (
        "预警 a 级别 yellow\n    针对 weekly_metrics 按 rep\n    当 至少 1 项满足:\n"
        "        (effective_visits < 8)\n        pipeline_coverage <= 75%  # 注释，原样\n"
        "    通知 direct_manager, hrbp\n    提示 \"（原样）＜\"\n")


def test_a_huge_broken_block_is_read_again_a_bounded_number_of_times():
    """An error on each of 5,000 lines of one block: the first 50 are said, and reading the
    block again after each stays within its budget (26 s of CPU before the bound, ~0.3 s after)."""
    import time
    body = "".join(f"        effective_visits < {i} {i}\n" for i in range(5000))
    text = "alert a level yellow\n    on weekly_metrics per rep\n    when at least 1 of:\n" + body
    started = time.process_time()
    with pytest.raises(RuleError) as info:
        parse(text, "huge.rules")
    assert len(info.value.diagnostics) == MAX_DIAGNOSTICS
    assert time.process_time() - started < 5
