"""Names may be labels (issue 15): a rule written with the forms' and roles' Chinese labels is
the same rule as with ids — same compiled code, same decisions and traces — and `fmt` writes
either.  Cases that evaluate are data, in tests/cases/labels/."""
from __future__ import annotations

import json

import pytest

from conftest import RULES, shared_sources
from trimtab.dsl.ast import structure
from trimtab.dsl.build_ast import build
from trimtab.dsl.diagnostics import RuleError
from trimtab.dsl.formatter import format_text
from trimtab.dsl.names import resolve_names
from trimtab.dsl.parser import parse
from trimtab.dsl.ruleset import load_sources, read_rule_files
from trimtab.dsl.schemas import parse_schema

SHIPPED = [(path, text) for path, text in read_rule_files(RULES)]


def _spellings(sources, schemas):
    files = [build(parse(text, path), path, text) for path, text in sources]
    return resolve_names(files, schemas, lambda *a, **k: None)


def _fmt(sources, lang, schemas):
    names = _spellings(sources, schemas)[1]
    return [(path, format_text(text, lang, path, names[path])) for path, text in sources]


@pytest.fixture(scope="module")
def shipped_zh(schemas):
    return _fmt(SHIPPED, "zh", schemas)


def test_fmt_zh_writes_labels_for_fields_lists_forms_and_roles(shipped_zh):
    # (that `--lang en` brings every shipped file back is test_formatter's round trip)
    zh = dict(shipped_zh)
    assert "针对 周度销售指标 按 销售代表 每周" in zh[str(RULES / "health.rules")]
    assert "审批人 销售总监 当" in zh[str(RULES / "approvals.rules")]
    assert "-10 每一个 线索 满足 跟进间隔 > 48 小时" in zh[str(RULES / "scoring.rules")]


def test_the_labelled_set_compiles_to_the_same_rules(shipped_zh, schemas, shipped):
    labelled = load_sources(shipped_zh, schemas)
    assert [(r.name, r.source) for r in labelled.rules] == [(r.name, r.source) for r in shipped.rules]
    ids = _spellings(SHIPPED, schemas)[0]
    assert [structure(f.decls) for f in _spellings(shipped_zh, schemas)[0]] == \
        [structure(f.decls) for f in ids]


@pytest.mark.parametrize("demo", sorted((RULES / "demo").glob("*.json")), ids=lambda p: p.stem)
def test_the_labelled_set_decides_and_explains_as_the_shipped_one(demo, shipped_zh, schemas, shipped):
    spec = json.loads(demo.read_text(encoding="utf-8"))
    labelled = load_sources(shipped_zh, schemas)
    args = (spec["form"], spec["facts"], spec.get("history", []))
    for mine, theirs in zip(labelled.evaluate(*args), shipped.evaluate(*args), strict=True):
        for lang in ("en", "zh"):
            a, b = mine.to_json(lang, with_trace=False), theirs.to_json(lang, with_trace=False)
            assert {**a, "file": ""} == {**b, "file": ""}
        # the same trace records (node, values, verdict); a line quotes the rule as written
        assert mine.trace == theirs.trace
        assert len(mine.explain_lines("zh")) == len(theirs.explain_lines("zh"))


TWO_LABELS = {"type": "object", "x-subject": "rep", "required": ["rep"], "properties": {
    "rep": {"type": "string", "x-label-zh": "销售代表"},
    "visits": {"type": "integer", "x-label-zh": "拜访数"},
    "calls": {"type": "integer", "x-label-zh": "拜访数"},
    "meetings": {"type": "integer", "x-label-zh": "calls"}}}


@pytest.mark.parametrize("when, meanings", [
    ("拜访数 < 8", "the field `calls`, the field `visits`"),        # two fields, one label
    ("calls < 8", "the field `calls`, the field `meetings`"),       # a label that is another's id
])
def test_an_ambiguous_field_name_is_a_check_error(when, meanings, schemas):
    forms = {**schemas, "log": parse_schema("log", json.dumps(TWO_LABELS))}
    rule = f"alert a level yellow\n    on log per rep\n    when {when}\n    notify hrbp\n"
    with pytest.raises(RuleError) as info:
        load_sources(shared_sources() + [("case.rules", rule)], forms)
    d = info.value.diagnostics[0]
    assert (d.code, d.line, d.column) == ("check.ambiguous_name", 3, 10)
    assert meanings in d.message("en") and "请写它的标识名" in d.message("zh")
    # an unambiguous label in the same form still reads
    ok = rule.replace(when, "销售代表 = \"x\"")
    assert load_sources(shared_sources() + [("case.rules", ok)], forms).rules


def test_fmt_zh_keeps_an_ambiguous_label_as_its_id(schemas):
    forms = {**schemas, "log": parse_schema("log", json.dumps(TWO_LABELS))}
    text = "alert a level yellow\n    on log per rep\n    when visits < 8 and rep = \"x\"\n    notify hrbp\n"
    zh = format_text(text, "zh", "x.rules", _spellings([("x.rules", text)], forms)[1]["x.rules"])
    assert "当 visits < 8 且 销售代表 = \"x\"" in zh


def test_fmt_without_a_language_writes_names_as_they_are(schemas):
    text = "alert a level yellow\n    on weekly_metrics per rep\n    when 有效拜访数 < 8\n    notify hrbp\n"
    names = _spellings([("x.rules", text)], schemas)[1]["x.rules"]
    assert format_text(text, None, "x.rules", None) == text
    assert "when effective_visits < 8" in format_text(text, "en", "x.rules", names)


def test_weekdays_are_written_in_the_chosen_language():
    text = "schedule s every monday at 09:00\n    report weekly_actions to hrbp\n" \
           "schedule t monthly on the 2nd friday at 14:00\n    report weekly_actions to hrbp\n"
    zh = format_text(text, "zh")
    assert "日程 s 每 周一 在 09:00" in zh and "每月 第 2 个 周五 在 14:00" in zh
    assert format_text(zh, "en") == text
    assert structure(build(parse(zh, "x"), "x", zh)) == structure(build(parse(text, "x"), "x", text))


def test_a_label_that_is_not_one_word_or_is_a_keyword_is_no_name():
    schema = parse_schema("kr", json.dumps({"type": "object", "x-title-zh": "KR 进度", "properties": {
        "size": {"type": "integer", "x-label-zh": "总额"}, "visits": {"type": "integer", "x-label-zh": "拜访"}}}))
    assert (schema.title, schema.fields["size"].label, schema.fields["visits"].label) == (None, None, "拜访")


def test_explanations_in_zh_name_roles_by_their_labels_and_english_keeps_ids(schemas):
    """`通知 sales_director` read as English inside a Chinese sentence; a declared role's label
    and a built-in role's word are what a Chinese reader expects (issue 15, Chinese all the way)."""
    rule = ('预警 拜访不足 级别 黄\n    针对 周度销售指标 按 rep\n    当 有效拜访数 < 8\n'
            '    通知 销售总监, direct_manager, hrbp\n')
    sources = [p for p in shared_sources() if p[0].endswith("roles.rules")] + [("zz.rules", rule)]
    rs = load_sources(sources, schemas)
    facts = {"rep": "r1", "region": "east", "week_start": "2026-07-06", "effective_visits": 5,
             "meeting_conversion": 0.2, "new_opportunity_amount": 0, "new_opportunities": 5,
             "stage_advances": 1, "pipeline_coverage": 0.7, "weighted_pipeline": 0,
             "conversion_rate": 0.3, "new_customers": 3, "new_visit_records": 4,
             "contract_amount": 100000, "negative_feedback": 0}
    [d] = [d for d in rs.evaluate("weekly_metrics", facts) if d.rule == "拜访不足"]
    assert d.headline("zh").endswith("通知 销售总监、直属上级、HRBP")
    assert d.headline("en").endswith("notify sales_director, direct_manager, hrbp")
    assert d.details["notify"] == ["sales_director", "direct_manager", "hrbp"]
