"""No English word reaches a zh-CN message: every message of the language's catalog (every code
of dsl/messages.py, every explanation and diff text) rendered in zh with representative
arguments — the words among them (types, units, kinds: diagnostics.WORD_ARGS) given as the code
gives them, in English, so their translation is tested too."""
from __future__ import annotations

import string
from pathlib import Path

import pytest

from trimtab.dsl.catalog_tools import read_catalog
from trimtab.dsl.diagnostics import WORD_ARGS, render_message
from trimtab.dsl.messages import MESSAGES

from messagekit import SAMPLE, english_words

PO = Path(__file__).resolve().parent.parent / "dsl/locale/zh_CN/LC_MESSAGES/trimtab_dsl.po"

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
