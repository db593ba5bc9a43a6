"""`trimtab lsp` over stdio, as an editor speaks to it (issue 16, deliverable 8): diagnostics of
the whole rule set published in the client's language and cleared when fixed, formatting,
completion with the fields' labels and units, semantic tokens in UTF-16 units."""
from __future__ import annotations

import json
import shutil

from conftest import ROOT
from lspkit import Editor, run

ALERTS = ROOT / "rules" / "alerts.rules"
GOOD = ALERTS.read_text(encoding="utf-8")
MISSPELT = GOOD.replace("when days_late > 5 days", "when days_lat > 5 days", 1)


def test_a_misspelt_field_is_published_in_chinese_with_its_suggestion_then_cleared():
    assert MISSPELT != GOOD
    uri = ALERTS.as_uri()

    async def scenario():
        async with Editor(ROOT, "zh-CN") as ed:
            ed.open(uri, MISSPELT)
            (found,) = await ed.diagnostics(uri, 1)
            ed.change(uri, GOOD, 2)
            cleared = await ed.diagnostics(uri, 2)
            return found, cleared

    found, cleared = run(scenario)
    assert found.code == "check.unknown_field"
    assert "表单 `milestone_update` 中没有字段 `days_lat`" in found.message
    assert "是否想写 `days_late`？" in found.message
    line = MISSPELT.split("\n").index("    when days_lat > 5 days")
    assert (found.range.start.line, found.range.start.character) == (line, 9)
    assert (found.range.end.line, found.range.end.character) == (line, 9 + len("days_lat"))
    assert cleared == []


def test_the_whole_set_is_checked_a_role_removed_from_roles_rules_is_an_error_in_alerts_rules():
    roles = ROOT / "rules" / "roles.rules"
    text = roles.read_text(encoding="utf-8")
    without = text.replace('role regional_supervisor "区域主管"\n', "")
    assert without != text

    async def scenario():
        async with Editor(ROOT, "en") as ed:
            ed.open(roles.as_uri(), without)
            found = await ed.diagnostics(ALERTS.as_uri(), 1)
            ed.change(roles.as_uri(), text, 2)
            return found, await ed.diagnostics(ALERTS.as_uri(), 2)

    found, cleared = run(scenario)
    assert [d.code for d in found] == ["check.unknown_role"]
    assert found[0].message.startswith("unknown role `regional_supervisor`")       # en, as asked
    assert cleared == []


def test_formatting_returns_the_edit_of_trimtab_fmt():
    from trimtab.dsl.formatter import format_text
    messy = GOOD.replace("    when days_late > 5 days", "    when   days_late>5 days", 1)
    uri = ALERTS.as_uri()

    async def scenario():
        async with Editor(ROOT) as ed:
            ed.open(uri, messy)
            return await ed.format(uri), await ed.format_after(uri, GOOD)

    edits, none = run(scenario)
    assert len(edits) == 1 and edits[0].new_text == format_text(messy) == GOOD
    assert (edits[0].range.start.line, edits[0].range.start.character) == (0, 0)
    assert none is not None and len(none) == 0           # already formatted: no edit


def test_completion_offers_the_forms_fields_with_label_and_unit_roles_and_enum_values():
    uri = ALERTS.as_uri()
    lines = GOOD.split("\n")
    when = lines.index("    when days_late > 5 days")
    notify = when + 1
    accounts = ROOT / "rules" / "accounts.rules"
    acc_lines = accounts.read_text(encoding="utf-8").split("\n")
    green = next(i for i, s in enumerate(acc_lines) if s.startswith("    green when (procurement_stage = "))

    async def scenario():
        async with Editor(ROOT, "zh-CN") as ed:
            ed.open(uri, GOOD)
            ed.open(accounts.as_uri(), accounts.read_text(encoding="utf-8"))
            return (await ed.complete(uri, when, len("    when ")),
                    await ed.complete(uri, notify, len("    notify ")),
                    await ed.complete(accounts.as_uri(), green, len("    green when (procurement_stage = ")))

    at_when, at_notify, at_value = run(scenario)
    by_label = {i.label: i for i in at_when.items}
    assert by_label["days_late"].detail == "延期天数 (天)"
    assert {"当", "when", "预警", "alert", "至少"} <= set(by_label)           # keywords in both languages
    assert "effective_visits" not in by_label                                 # another form's field
    roles = {i.label: i.detail for i in at_notify.items}
    assert roles["regional_supervisor"] == "区域主管" and "direct_manager" in roles
    enum = json.loads((ROOT / "form_schemas" / "account_status.json").read_text())["properties"]
    assert [i.label for i in at_value.items] == enum["procurement_stage"]["enum"]
    assert {"contract", "signed"} <= {i.label for i in at_value.items}


def test_semantic_tokens_cover_keywords_with_utf16_lengths_on_lines_with_chinese(tmp_path):
    text = ('预警 拜访偏少 级别 yellow\n'
            '    针对 behavior_log 按 rep 每月\n'
            '    当 effective_visits < 8\n'
            '    通知 direct_manager\n'
            '    提示 "😀 {rep}：拜访偏少"  # 提醒 😀\n')
    path = tmp_path / "one.rules"
    path.write_text(text, encoding="utf-8")

    async def scenario():
        async with Editor(tmp_path) as ed:
            ed.open(path.as_uri(), text)
            return ed.capabilities, await ed.semantic_tokens(path.as_uri())

    capabilities, data = run(scenario)
    legend = capabilities.semantic_tokens_provider.legend.token_types
    tokens, line, start = [], 0, 0
    for i in range(0, len(data), 5):                    # relative → absolute
        d_line, d_start, length, kind, _mods = data[i: i + 5]
        line, start = line + d_line, (start + d_start if d_line == 0 else d_start)
        tokens.append((line, start, length, legend[kind]))
    assert tokens[:4] == [(0, 0, 2, "keyword"), (0, 3, 4, "function"), (0, 8, 2, "keyword"),
                          (0, 11, 6, "enumMember")]
    assert (1, 4, 2, "keyword") in tokens and (1, 7, 12, "type") in tokens and (1, 26, 2, "keyword") in tokens
    assert (2, 4, 1, "keyword") in tokens and (2, 6, 16, "property") in tokens
    # the emoji is two UTF-16 units: the text is one longer than its characters, the comment one further
    said = '"😀 {rep}：拜访偏少"'
    assert (4, 7, len(said) + 1, "string") in tokens
    assert (4, 7 + len(said) + 1 + 2, len("# 提醒 😀") + 1, "comment") in tokens


def test_the_did_you_mean_is_a_quick_fix_and_the_keywords_can_be_translated():
    uri = ALERTS.as_uri()

    async def scenario():
        async with Editor(ROOT, "zh-CN") as ed:
            ed.open(uri, MISSPELT)
            found = await ed.diagnostics(uri, 1)
            return await ed.code_actions(uri, found)

    fix, *translate = run(scenario)
    (edit,) = fix.edit.changes[uri]
    line = MISSPELT.split("\n").index("    when days_lat > 5 days")
    assert fix.title == "改为 `days_late`" and edit.new_text == "days_late"
    assert (edit.range.start.line, edit.range.start.character, edit.range.end.character) == (line, 9, 17)
    from trimtab.dsl.formatter import format_text
    (to_zh,) = translate                # an English file: to Chinese only (it parses, so it translates)
    assert to_zh.title == "关键字改为中文"
    assert to_zh.edit.changes[uri][0].new_text == format_text(MISSPELT, "zh")


def test_a_rule_file_changed_on_disk_checks_the_open_files_again(tmp_path):
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    shutil.copytree(ROOT / "form_schemas", tmp_path / "form_schemas")
    alerts, roles = tmp_path / "rules" / "alerts.rules", tmp_path / "rules" / "roles.rules"

    async def scenario():
        async with Editor(tmp_path, "en") as ed:
            ed.open(alerts.as_uri(), alerts.read_text(encoding="utf-8"))
            await ed.format(alerts.as_uri())            # the open was handled: nothing to publish
            assert alerts.as_uri() not in ed.published
            text = roles.read_text(encoding="utf-8")
            roles.write_text(text.replace('role regional_supervisor "区域主管"\n', ""), encoding="utf-8")
            ed.changed_on_disk(roles)                   # as after a checkout
            return await ed.diagnostics(alerts.as_uri(), 1)

    (found,) = run(scenario)
    assert found.code == "check.unknown_role"


def test_diagnostics_go_to_the_uri_the_client_used_through_a_symlink_and_a_chinese_name(tmp_path):
    real = tmp_path / "real"
    shutil.copytree(ROOT / "form_schemas", real / "form_schemas")
    (real / "rules").mkdir()
    shutil.copy(ROOT / "rules" / "roles.rules", real / "rules" / "roles.rules")
    (tmp_path / "link").symlink_to(real)
    mine = tmp_path / "link" / "rules" / "新规则.rules"
    text = ("预警 拜访偏少 级别 yellow\n    针对 behavior_log 按 rep 每月\n    当 effective_visit < 8\n"
            "    通知 direct_manager\n")

    async def scenario():
        async with Editor(tmp_path / "link", "zh-CN") as ed:
            ed.open(mine.as_uri(), text)                 # not saved yet, under the link's name
            return await ed.diagnostics(mine.as_uri(), 1)

    (found,) = run(scenario)
    assert found.code == "check.unknown_field" and "effective_visits" in found.message
