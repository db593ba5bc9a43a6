"""`trimtab fmt`: zh and en keyword sets mean the same; formatting is stable."""
from __future__ import annotations

import pytest

from conftest import RULES
from trimtab.dsl.ast import structure
from trimtab.dsl.build_ast import build
from trimtab.dsl.formatter import detect_lang, format_text
from trimtab.dsl.parser import parse

SHIPPED = sorted(RULES.glob("*.rules"))


def meaning(text: str):
    return structure(build(parse(text, "x.rules"), "x.rules", text))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_zh_then_en_keeps_the_meaning(path):
    text = path.read_text(encoding="utf-8")
    zh = format_text(text, "zh")
    en = format_text(zh, "en")
    assert meaning(zh) == meaning(text)
    assert meaning(en) == meaning(text)
    assert en == format_text(text, "en")          # and the text comes back the same
    assert (detect_lang(zh), detect_lang(en)) == ("zh", "en")    # each in its keywords


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
