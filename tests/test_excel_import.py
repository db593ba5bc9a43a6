"""Excel import (seed 000): the shipped templates import; one bad row refuses the whole file
with that row named; --partial imports the rest; imported history feeds history rules."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from conftest import ROOT
from excelkit import TEMPLATES, count, edited, filled, run, saved, targets_book, unmarked
from serverkit import ADMIN, CLIENT, SECRET, Hooks, week
from trimtab.server.storage.models import AuditEntry, Fact, Target
from trimtab.server.plugin.excel import ImportRefused, import_history, import_targets, problem_text
from trimtab.server.domain.rulesets import load_for


@pytest.fixture
def app_config():
    return {"LANG": "en"}


def test_the_shipped_templates_import_once_their_example_mark_is_gone(app, org):
    ruleset, tz = load_for(app.config), app.config["TZ"]
    report = run(app, import_targets, ruleset, filled(TEMPLATES / "targets.xlsx"))
    assert (report["imported"], report["skipped"]) == (2, [])
    assert count(app, Target) == 2 and count(app, AuditEntry) == 2
    sheets = len(openpyxl.load_workbook(TEMPLATES / "history.xlsx").worksheets)
    report = run(app, import_history, ruleset, filled(TEMPLATES / "history.xlsx"), tz)
    assert report["skipped"] == [] and report["imported"] == sheets >= 3
    assert count(app, Fact) == sheets


def test_one_bad_row_refuses_the_file_and_names_the_row(app, org):
    ruleset, tz = load_for(app.config), app.config["TZ"]
    book = unmarked(TEMPLATES / "history.xlsx")
    weekly = next(i for i, ws in enumerate(book.worksheets) if ws.title == "周度销售指标")
    header = [c.value for c in book.worksheets[weekly][1]]
    column = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[header.index("有效拜访数")]
    data = edited(TEMPLATES / "history.xlsx", weekly, f"{column}2", -3)
    with pytest.raises(ImportRefused) as refused:
        run(app, import_history, ruleset, data, tz)
    [problem] = refused.value.problems
    assert (problem["sheet"], problem["row"], problem["column"], problem["header"]) == \
        ("周度销售指标", 2, column, "有效拜访数")
    assert "-3 is less than the minimum of 0" in problem["message"]
    assert count(app, Fact) == 0                                   # nothing imported
    report = run(app, import_history, ruleset, data, tz, partial=True)
    assert report["imported"] == len(book.worksheets) - 1 and report["skipped"] == [problem]
    assert problem_text(problem) == f"周度销售指标!{column}2 (有效拜访数): -3 is less than the minimum of 0"


def test_a_target_that_already_differs_is_refused_on_its_row(app, org):
    ruleset = load_for(app.config)
    run(app, import_targets, ruleset, filled(TEMPLATES / "targets.xlsx"))
    data = edited(TEMPLATES / "targets.xlsx", 0, "C2", 70)
    with pytest.raises(ImportRefused) as refused:
        run(app, import_targets, ruleset, data)
    assert [(p["row"], p["column"]) for p in refused.value.problems] == [(2, "C")]
    assert "approval chain" in refused.value.problems[0]["message"]
    assert run(app, import_targets, ruleset, filled(TEMPLATES / "targets.xlsx"))["imported"] == 2  # same values: fine


def test_imported_history_feeds_the_history_rules(app, org):
    """Weeks 1–4 of the fintech case from Excel, week 5 by webhook: the yellow alert fires as
    it does when every week came by webhook (it needs the weeks before)."""
    ruleset, tz = load_for(app.config), app.config["TZ"]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "weekly_metrics"
    rows = [week(1, 5, 0.9), week(2, 5, 0.88), week(3, 3, 0.85), week(4, 3, 0.8)]
    sheet.append(list(rows[0]))
    for r in rows:
        sheet.append(list(r.values()))
    out = io.BytesIO()
    book.save(out)
    assert run(app, import_history, ruleset, out.getvalue(), tz)["imported"] == 4
    r = Hooks(app.test_client()).post("weekly_metrics", week(5, 2, 0.7))
    assert {d["rule"]: d["value"] for d in r.json["decisions"]}["健康度黄灯"] is True


@pytest.mark.slow
@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_cli_import_all_or_nothing_and_partial(app, org, database, tmp_path):
    env = {**os.environ, "DATABASE_URL": database, "TRIMTAB_ADMIN_TOKEN": ADMIN,
           "TRIMTAB_CLIENTS": f"{CLIENT}:{SECRET}"}
    trimtab = [str(Path(sys.executable).parent / "trimtab")]
    bad = tmp_path / "targets.xlsx"
    bad.write_bytes(edited(TEMPLATES / "targets.xlsx", 0, "A3", "nobody"))
    r = subprocess.run(trimtab + ["import", str(bad), "--rules", str(ROOT / "rules")], env=env,
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 1
    assert "targets.xlsx 目标!A3 (销售代表): `nobody` is not in the organisation chart" in r.stderr
    assert "nothing imported" in r.stderr and count(app, Target) == 0
    r = subprocess.run(trimtab + ["import", str(bad), "--partial", "--rules", str(ROOT / "rules")],
                       env=env, cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0 and "imported 1 targets row(s) from targets.xlsx; skipped 1" in r.stdout
    assert "skipped targets.xlsx 目标!A3" in r.stderr and count(app, Target) == 1


def test_the_shipped_templates_match_the_forms(tmp_path, shipped):
    """A form that gains a field must not leave the shipped template behind
    (refresh with `trimtab import --template server/templates`)."""
    from trimtab.server.plugin.excel import write_templates
    write_templates(tmp_path, shipped)
    for name in ("targets.xlsx", "history.xlsx"):
        fresh, kept = (openpyxl.load_workbook(d / name) for d in (tmp_path, TEMPLATES))
        assert [[[c.value for c in row] for row in ws.iter_rows()] for ws in fresh.worksheets] == \
               [[[c.value for c in row] for row in ws.iter_rows()] for ws in kept.worksheets]


def test_cells_that_read_as_nan_or_infinity_are_bad_rows(app, org):
    ruleset, tz = load_for(app.config), app.config["TZ"]
    book = unmarked(TEMPLATES / "history.xlsx")
    weekly = next(i for i, ws in enumerate(book.worksheets) if ws.title == "周度销售指标")
    book.worksheets[weekly]["D2"] = "NaN"
    book.worksheets[weekly]["E2"] = "Infinity"
    with pytest.raises(ImportRefused) as refused:
        run(app, import_history, ruleset, saved(book), tz)
    assert [(p["column"], p["row"]) for p in refused.value.problems] == [("D", 2), ("E", 2)]
    with pytest.raises(ImportRefused) as refused:
        run(app, import_targets, ruleset, edited(TEMPLATES / "targets.xlsx", 0, "C2", "NaN"))
    assert refused.value.problems[0]["column"] == "C" and "not a target" in refused.value.problems[0]["message"]


def test_imported_targets_record_who_when_and_the_rule_version(app, org, monkeypatch, capsys, tmp_path):
    """`trimtab import targets.xlsx --as PERSON`: the person, the time and the version, not `-`."""
    from trimtab.server.cli.main import main
    from trimtab.server.storage.models import AuditEntry
    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"].replace("+psycopg", ""))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules").symlink_to(ROOT / "rules")
    (tmp_path / "form_schemas").symlink_to(ROOT / "form_schemas")
    (tmp_path / "targets.xlsx").write_bytes(filled(TEMPLATES / "targets.xlsx"))
    assert main(["import", "targets.xlsx", "--as", "nobody.here"]) == 2
    assert count(app, Target) == 0
    assert main(["import", "targets.xlsx", "--as", "hr.east"]) == 0
    with app.extensions["trimtab.sessions"]() as s:
        targets = s.scalars(select(Target)).all()
        entries = s.scalars(select(AuditEntry)).all()
    version = targets[0].ruleset_version          # the rule set the command loaded (a git commit)
    assert version not in (None, "-") and len(version) >= 12
    assert {(t.source, t.set_by, t.ruleset_version) for t in targets} == {("import", "hr.east", version)}
    assert {(e.actor, e.ruleset_version) for e in entries} == {("hr.east", version)}
    assert all(t.updated_at is not None for t in targets)


def test_trimtab_import_speaks_the_importers_language(app, org, monkeypatch, capsys, tmp_path):
    from trimtab.server.cli.main import main
    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"].replace("+psycopg", ""))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules").symlink_to(ROOT / "rules")
    (tmp_path / "form_schemas").symlink_to(ROOT / "form_schemas")
    book = tmp_path / "targets.xlsx"            # two real rows (the template's are examples)
    book.write_bytes(targets_book([["east.li", "new_customers", 8], ["east.li", "contract_amount", "90万"]]))
    assert main(["import", str(book), "--as", "nobody.here", "--lang", "zh"]) == 2
    assert "`--as nobody.here` 不在组织架构中" in capsys.readouterr().err
    assert main(["import", str(book), "--lang", "zh"]) == 0
    assert "已从 targets.xlsx 导入 2 行目标" in capsys.readouterr().out
    assert main(["import", str(book), "--lang", "en"]) == 0
    assert "imported 2 targets row(s) from targets.xlsx" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["1e20", "1e999999", "80.12345", "9" * 5000])
def test_a_target_outside_the_limits_is_a_row_problem(app, org, value):
    data = edited(TEMPLATES / "targets.xlsx", 0, "C2", value)
    with pytest.raises(ImportRefused) as refused:
        run(app, import_targets, load_for(app.config), data)
    assert [(p["row"], p["column"]) for p in refused.value.problems] == [(2, "C")]
    assert count(app, Target) == 0


@pytest.mark.parametrize("cell,value,column", [("F2", "1e999999", "F"), ("F2", "9" * 5000, "F"),
                                               ("A2", "a" * 129, "A")])
def test_history_cells_outside_the_limits_are_row_problems(app, org, cell, value, column):
    ruleset, tz = load_for(app.config), app.config["TZ"]
    data = edited(TEMPLATES / "history.xlsx", 0, cell, value)
    with pytest.raises(ImportRefused) as refused:
        run(app, import_history, ruleset, data, tz)
    assert [(p["row"], p["column"]) for p in refused.value.problems] == [(2, column)]
    assert count(app, Fact) == 0


def _coverage_column(book) -> tuple[int, str]:
    weekly = next(i for i, ws in enumerate(book.worksheets) if ws.title == "周度销售指标")
    header = [c.value for c in book.worksheets[weekly][1]]
    return weekly, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[header.index("管道覆盖率")]


def test_the_template_shows_percent_columns_as_fractions():
    book = openpyxl.load_workbook(TEMPLATES / "history.xlsx")
    weekly, column = _coverage_column(book)
    cell = book.worksheets[weekly][f"{column}2"]
    assert cell.value == 0.75 and cell.number_format == "0%"


def test_a_percent_text_cell_imports_as_its_fraction(app, org):
    ruleset, tz = load_for(app.config), app.config["TZ"]
    weekly, column = _coverage_column(unmarked(TEMPLATES / "history.xlsx"))
    data = edited(TEMPLATES / "history.xlsx", weekly, f"{column}2", "27%")
    run(app, import_history, ruleset, data, tz)
    with app.extensions["trimtab.sessions"]() as s:
        payloads = [json.loads(p) for p in s.scalars(select(Fact.payload).where(Fact.form == "weekly_metrics"))]
    assert [Decimal(str(p["pipeline_coverage"])) for p in payloads] == [Decimal("0.27")]


def test_a_whole_number_in_a_percent_column_is_refused_with_the_fix(app, org):
    ruleset, tz = load_for(app.config), app.config["TZ"]
    weekly, column = _coverage_column(unmarked(TEMPLATES / "history.xlsx"))
    data = edited(TEMPLATES / "history.xlsx", weekly, f"{column}2", 100)
    with pytest.raises(ImportRefused) as refused:
        run(app, import_history, ruleset, data, tz)
    [problem] = refused.value.problems
    assert (problem["sheet"], problem["row"], problem["column"]) == ("周度销售指标", 2, column)
    assert 'Percent fields are fractions: 1 or "100%"' in problem["message"]
    assert count(app, Fact) == 0


# ---------------------------------------------------------------- issue 17: an import a person can trust
