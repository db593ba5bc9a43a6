"""No English word reaches a zh-CN message: every message of the language's catalog (every code
of dsl/messages.py, every explanation and diff text) rendered in zh with representative
arguments — the words among them (types, units, kinds: diagnostics.WORD_ARGS) given as the code
gives them, in English, so their translation is tested too."""
from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from trimtab.dsl.catalog_tools import read_catalog
from trimtab.dsl.diagnostics import WORD_ARGS, render_message
from trimtab.dsl.messages import MESSAGES

PO = Path(__file__).resolve().parent.parent / "dsl/locale/zh_CN/LC_MESSAGES/trimtab_dsl.po"

# What a user wrote or a number: Chinese names as an HRBP writes them, numbers as numbers.
SAMPLE = {"rule": "健康度黄灯", "form": "周报", "field": "有效拜访数", "name": "有效拜访数", "list": "线索",
          "test": "黄灯测试", "rating": "综合评级", "part": "行为分", "case": "正常", "earlier": "否则",
          "subject": "华东.李", "role": "直属上级", "other": "评分.rules:3", "path": "规则/评分.rules",
          "json_path": "$.tests[0]", "rev": "HEAD~1", "commit": "30a1b29", "repo": "/数据/规则", "dir": "规则",
          "key": "广东", "token": "针对", "char": "；", "header": "至少 2 项满足:", "above": "当 x < 1",
          "sibling": "通知 hrbp", "block": "当", "deeper_line": "x < 1", "outer_line": "通知 hrbp",
          "text": "0.5万", "value": "75", "options": "黄、橙、红", "suggestion": "effective_visits",
          "func": "sum", "command": "show", "period": "2026-11", "percent": "75%", "fraction": "0.75",
          "shown": "7500%", "low_pct": "0%", "high_pct": "1000%", "seconds": "2", "budget": "2"}
# Arguments that carry another program's own text, shown verbatim (an OS error, YAML's or
# JSON Schema's message, git's stderr, a Python exception): not ours to translate.
VERBATIM = {"detail"}
# The words the code passes, per code where a code takes a word argument (else "a number").
WORDS = {"check.unit_mismatch": {"left": "a number", "right": "a percentage"},
         "check.type_mismatch": {"expected": "a number", "found": "a text"},
         "check.not_a_condition": {"found": "an amount of money"},
         "check.bad_arguments": {"expected": "(field, last N periods) or (list.field [where …])"},
         "check.missing_clause": {"kind": "alert", "clause": "when"},
         "check.example_kind": {"kind": "schedule"},
         "check.period_mismatch": {"actual": "month", "wanted": "week"},
         "check.window_not_coarser": {"unit": "week", "actual": "month"},
         "check.bad_percent": {"what": "weight"}, "check.count_out_of_range": {"what": "N"},
         "check.duration_out_of_range": {"what": "cycle"},
         "check.bad_interval": {"what": "cycle", "unit": "weeks/months"},
         "check.no_history_for_form": {"what": "no"},
         "check.bad_cap": {"why": "smaller than one award"},
         "eval.wrong_type": {"expected": "a whole number", "found": "str"},
         "decode.wrong_type": {"expected": "int", "found": "str"}}
# Not words: names of formats and programs (UTF-8, YAML, JSON, git and its subcommand `show`),
# file and folder names (*.rules, tests/cases), the schema keyword x-period and git's HEAD.
# Code names quoted in backticks (fields, keywords, functions) are left out before the check.
# HRBP is the role's name in Chinese HR (the seeds write it so), the zh word for `hrbp`.
ALLOWED = {"UTF-8", "YAML", "JSON", "git", "show", "rules", "x-period", "tests", "cases", "HEAD", "HRBP"}
ENGLISH = re.compile(r"[A-Za-z]{2,}(?:-[A-Za-z0-9]+)*")


def english_words(text: str) -> list[str]:
    """ASCII words of 2+ letters outside backticks, less the allowed names."""
    text = re.sub(r"`[^`]*`", "", text)
    return [w for w in ENGLISH.findall(text) if w not in ALLOWED]


def sample_args(code: str | None, *templates: str) -> dict:
    """Arguments for a diagnostic `code`'s templates, or for an explanation text's (code None).
    Only render_message translates the words among a diagnostic's arguments (WORD_ARGS); an
    explanation text is `tr(lang, …).format(…)`, whose caller passes words already in the
    reader's language and values as they are (`trimtab test`'s expected/actual are JSON)."""
    names = {f for t in templates for _, f, _, _ in string.Formatter().parse(t) if f}
    args = {}
    for n in names:
        if n in VERBATIM:
            args[n] = "…"
        elif n in (WORDS.get(code) or {}):
            args[n] = WORDS[code][n]
        elif code is not None and n in WORD_ARGS:
            args[n] = "a number"
        else:
            args[n] = SAMPLE.get(n, "3")
    return args


ENTRIES = [(m.context, m.id, m.string) for m in read_catalog(PO) if m.id]


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_code_renders_in_zh_without_english(code):
    zh_template = next(s for c, i, s in ENTRIES if c == code)
    args = sample_args(code, MESSAGES[code], zh_template)
    zh = render_message(code, args, "zh")
    assert not any("{%s}" % n in zh for n in args) and "{'" not in zh, zh     # every placeholder filled
    assert not english_words(zh), f"{code}: {zh}"


@pytest.mark.parametrize("msgid", sorted(i for c, i, s in ENTRIES if c is None))
def test_every_explanation_text_and_word_renders_in_zh_without_english(msgid):
    zh = next(s for c, i, s in ENTRIES if c is None and i == msgid)
    args = sample_args(None, msgid, zh)
    assert not english_words(zh.format(**args)), f"{msgid} → {zh}"
