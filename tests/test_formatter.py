"""`trimtab fmt`: zh and en keyword sets mean the same; formatting is stable."""
from __future__ import annotations

import pytest

from conftest import RULES
from trimtab.dsl.ast import structure
from trimtab.dsl.build_ast import build
from trimtab.dsl.formatter import detect_lang, format_text
from trimtab.dsl.names import resolve_names
from trimtab.dsl.parser import parse

SHIPPED = sorted(RULES.glob("*.rules"))


def meaning(text: str):
    return structure(build(parse(text, "x.rules"), "x.rules", text))


def named(texts: dict, schemas) -> tuple[dict, dict]:
    """{path: meaning with every name an id}, {path: where names stand, id and label}: the
    rule set's texts read together (roles are declared in roles.rules)."""
    files, spellings = resolve_names([build(parse(t, p), p, t) for p, t in texts.items()], schemas,
                                     lambda *a, **k: None)
    return {f.path: structure(f.decls) for f in files}, spellings


@pytest.fixture(scope="module")
def both_ways(schemas):
    """The shipped texts, `fmt --lang zh` of them (labels for names), and `--lang en` of that."""
    texts = {str(p): p.read_text(encoding="utf-8") for p in SHIPPED}
    meanings, names = named(texts, schemas)
    zh = {p: format_text(t, "zh", p, names[p]) for p, t in texts.items()}
    zh_meanings, zh_names = named(zh, schemas)
    en = {p: format_text(t, "en", p, zh_names[p]) for p, t in zh.items()}
    return texts, meanings, zh, zh_meanings, en, named(en, schemas)[0]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_zh_then_en_keeps_the_meaning(path, both_ways):
    texts, meanings, zh, zh_meanings, en, en_meanings = both_ways
    p = str(path)
    assert zh_meanings[p] == meanings[p]          # labels and Chinese keywords mean the same
    assert en_meanings[p] == meanings[p]
    assert en[p] == texts[p] == format_text(texts[p], "en")     # and the text comes back the same
    assert (detect_lang(zh[p]), detect_lang(en[p])) == ("zh", "en")    # each in its keywords
    assert meaning(format_text(texts[p], "zh")) == meaning(texts[p])   # keywords alone, no schemas


def test_zh_writes_labels_for_names(both_ways):
    zh = both_ways[2]
    assert "        有效拜访数 < 80% 的 industry.effective_visits" in zh[str(RULES / "health.rules")]
    assert "    通知 direct_manager, 财务分析师" in zh[str(RULES / "alerts.rules")]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_rules_are_formatted(path):
    text = path.read_text(encoding="utf-8")
    assert format_text(text) == text


def test_zh_output_uses_chinese_keywords():
    text = (RULES / "scoring.rules").read_text(encoding="utf-8")
    zh = format_text(text, "zh")
    assert "积分 行为分" in zh and "每 3 个 effective_visits" in zh and "按 40% 计入" in zh
    assert "48 小时" in zh
    assert "# 行为积分" in zh                   # comments are kept


def test_formatting_is_idempotent_and_keeps_comments():
    text = "# top\nalert a level yellow   # trailing\n\n\n    on weekly_metrics per rep\n" \
           "    # inside\n    when effective_visits<8\n    notify hrbp\n"
    once = format_text(text, "en")
    assert format_text(once, "en") == once
    assert once == ("# top\nalert a level yellow  # trailing\n\n    on weekly_metrics per rep\n"
                    "    # inside\n    when effective_visits < 8\n    notify hrbp\n")


def test_field_named_like_a_keyword_is_not_translated():
    text = "alert a level yellow\n    on weekly_metrics per rep\n    level = effective_visits\n" \
           "    when level < 8\n    notify hrbp\n"
    zh = format_text(text, "zh")
    assert "level = effective_visits" in zh and "当 level < 8" in zh
    assert meaning(zh) == meaning(text)


def test_notify_when_cleared_round_trips_in_both_languages():
    text = "alert a level yellow\n    on weekly_metrics per rep\n    when effective_visits < 8\n" \
           "    notify hrbp, direct_manager\n    notify direct_manager when cleared\n"
    zh = format_text(text, "zh")
    assert "    通知 direct_manager 解除时\n" in zh
    assert format_text(zh, "en") == format_text(text, "en") == text
    assert meaning(zh) == meaning(text)
    rule = build(parse(zh, "x.rules"), "x.rules", zh).decls[0]
    assert (rule.notify, rule.notify_cleared) == (["hrbp", "direct_manager"], ["direct_manager"])
