"""Editor support in process (dsl/editor/): which rule set a file belongs to, the whole set's
diagnostics with unsaved texts laid over the disk, completion by context."""
from __future__ import annotations

from conftest import ROOT, RULES, SCHEMAS


def test_a_file_under_rules_belongs_to_the_set_with_or_without_a_workspace():
    from trimtab.dsl.editor.workspace import Scope, scope_of
    whole = Scope(RULES.resolve(), SCHEMAS.resolve())
    assert scope_of(RULES / "alerts.rules", ROOT) == whole
    assert scope_of(RULES / "alerts.rules", None) == whole
    lone = ROOT / "first.rules"
    assert scope_of(lone, ROOT) == Scope(lone.resolve(), SCHEMAS.resolve())


def test_an_unsaved_text_is_checked_with_the_saved_rest_and_its_errors_land_on_their_files():
    from trimtab.dsl.editor.workspace import check, scope_of
    roles = (RULES / "roles.rules").resolve()
    scope = scope_of(roles, ROOT)
    assert check(scope, {}) == {}
    without = roles.read_text(encoding="utf-8").replace('role finance_analyst "财务分析师"\n', "")
    found = check(scope, {roles: without})
    assert {p.name for p in found} == {"alerts.rules", "approvals.rules"}
    assert all(d.code == "check.unknown_role" for ds in found.values() for d in ds)


def test_a_typo_in_one_open_file_hides_no_check_error_of_another():
    """Two unsaved files: alerts.rules does not parse, roles.rules drops a role approvals.rules
    uses.  Both are shown — the editor did what the workbench's draft check does (before, the
    load stopped at the syntax error and the unknown role went unsaid)."""
    from trimtab.dsl.editor.workspace import check, scope_of
    roles, alerts = (RULES / "roles.rules").resolve(), (RULES / "alerts.rules").resolve()
    without = roles.read_text(encoding="utf-8").replace('role finance_analyst "财务分析师"\n', "")
    typo = alerts.read_text(encoding="utf-8").replace("when days_late > 5 days", "when days_late >> 5 days")
    found = check(scope_of(roles, ROOT), {roles: without, alerts: typo})
    assert [d.code for d in found[alerts]][0].startswith("parse.")
    assert {d.code for d in found[(RULES / "approvals.rules").resolve()]} == {"check.unknown_role"}


def test_a_new_file_not_yet_saved_joins_the_set():
    from trimtab.dsl.editor.workspace import check, scope_of
    new = (RULES / "unsaved_draft.rules").resolve()
    assert not new.exists()
    text = ("alert 新预警 level yellow\n    on behavior_log per rep monthly\n    when effective_visit < 8\n"
            "    notify hrbp\n")
    found = check(scope_of(new, ROOT), {new: text})
    assert [d.args.get("suggestion") for d in found[new]] == ["effective_visits"]


def completions(text: str, line: int, column: int, lang: str = "zh"):
    from trimtab.dsl.editor.completion import complete
    from trimtab.dsl.schemas import load_schemas
    return complete(text, line, column, load_schemas(SCHEMAS), {"hrbp": "HRBP"}, lang)


def test_completion_by_place_forms_levels_list_items_and_everything_else():
    rule = "积分 拜访积分\n    针对 behavior_log 按 rep 每月\n    +10 每一个 lead 满足 lead.\n"
    forms = completions(rule, 1, len("    针对 "))
    assert {"behavior_log": "月度行为记录"}.items() <= {s.label: s.detail for s in forms}.items()
    assert all(s.kind == "form" for s in forms)
    items = completions(rule, 2, len("    +10 每一个 lead 满足 lead."))
    assert [(s.label, s.detail) for s in items] == [("lead_id", "线索编号"),
                                                    ("hours_since_followup", "跟进间隔 (小时)")]
    english = completions(rule, 2, len("    +10 每一个 lead 满足 lead."), "en")
    assert english[1].detail == "hours from assignment to first follow-up (hours)"
    levels = completions("alert x level \n", 0, len("alert x level "))
    assert {"yellow", "红"} <= {s.label for s in levels}
    anywhere = completions(rule, 2, 4)
    assert {"effective_visits", "合计", "sum", "每一个", "for each"} <= {s.label for s in anywhere}
    # A position past the end (an editor's stale one; schemathesis found it a 500) is the end.
    assert {s.label for s in completions(rule, 300, 300)} == {s.label for s in completions(rule, 3, 0)}


def test_without_pygls_trimtab_lsp_says_which_extra_to_install(monkeypatch, capsys):
    import sys

    from trimtab.dsl.commands.editor import cmd_lsp
    monkeypatch.setitem(sys.modules, "trimtab.dsl.editor.server", None)     # as if pygls were absent
    assert cmd_lsp(None) == 2
    assert "pip install 'trimtab[lsp]'" in capsys.readouterr().err


def test_semantic_tokens_of_a_file_being_typed_run_up_to_its_first_error():
    from trimtab.dsl.editor.highlight import spans
    text = ("alert x level yellow\n    on behavior_log per rep monthly\n    when effective_visits <\n"
            "    notify hrbp\n")
    found = [(s.line, s.text, s.kind) for s in spans(text)]
    assert found[:4] == [(0, "alert", "keyword"), (0, "x", "function"), (0, "level", "keyword"),
                         (0, "yellow", "enumMember")]
    assert found[-2:] == [(2, "effective_visits", "property"), (2, "<", "operator")]


def test_a_quick_fix_replaces_the_misspelt_word_only_not_the_whole_underlined_range():
    from trimtab.dsl.editor.fixes import did_you_mean
    line = "    notify direct_manager, regional_supervisr"
    fix = did_you_mean(line, 7, 4, len(line), "regional_supervisor", "en")
    assert line[fix.start:fix.end] == "regional_supervisr" and fix.text == "regional_supervisor"
    assert did_you_mean("    notify hrbp", 0, 4, 15, "regional_supervisor", "en") is None
