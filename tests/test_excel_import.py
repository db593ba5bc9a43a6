"""Excel import (seed 000): the shipped templates import; one bad row refuses the whole file
with that row named; --partial imports the rest; imported history feeds history rules."""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from conftest import ROOT
from serverkit import ADMIN, CLIENT, SECRET, Hooks, load_org, week
from trimtab.server.storage.models import AuditEntry, Fact, Target
from trimtab.server.plugin.excel import ImportRefused, import_history, import_targets, problem_text
from trimtab.server.domain.rulesets import load_for

TEMPLATES = ROOT / "server" / "templates"


@pytest.fixture
def app_config():
    return {"LANG": "en"}


def run(app, fn, *args, **kw):
    with app.extensions["trimtab.sessions"]() as s, s.begin():
        return fn(s, *args, **kw)


def count(app, model) -> int:
    with app.extensions["trimtab.sessions"]() as s:
        return s.scalar(select(func.count()).select_from(model))


def unmarked(path: Path):
    """A shipped template as a person fills it in: its example rows, their mark column deleted."""
    book = openpyxl.load_workbook(path)
    for ws in book.worksheets:
        header = [c.value for c in ws[1]]
        ws.delete_cols(header.index("示例") + 1)
    return book


def saved(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def edited(path: Path, sheet_index: int, cell: str, value) -> bytes:
    book = unmarked(path)
    book.worksheets[sheet_index][cell] = value
    return saved(book)


def filled(path: Path) -> bytes:
    return saved(unmarked(path))


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
WEEKLY_HEADER = ["销售代表", "区域", "周起始日", "有效拜访数", "会面转化率", "新增商机金额", "新增商机数",
                 "商机阶段推进数", "管道覆盖率", "加权预测金额", "客户转化率", "新客户数", "新增拜访记录数",
                 "合同金额", "负面反馈数"]


def weekly_book(rows: list[list]) -> bytes:
    """A 周度销售指标 sheet as a person types it (WEEKLY_HEADER's columns)."""
    book = openpyxl.Workbook()
    book.active.title = "周度销售指标"
    book.active.append(WEEKLY_HEADER)
    for row in rows:
        book.active.append(row)
    return saved(book)


def weekly_row(rep="east.li", day="2026-06-08", visits=11, conversion=0.27, amount=900000) -> list:
    return [rep, "east", day, visits, conversion, amount, 3, 1, 0.8, 1200000, 0.25, 3, 6, 540000, 0]


def targets_book(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    book.active.title = "目标"
    book.active.append(["销售代表", "指标", "目标值"])
    for row in rows:
        book.active.append(row)
    return saved(book)


def stored_facts(app) -> list[dict]:
    with app.extensions["trimtab.sessions"]() as s:
        return [json.loads(p) for p in s.scalars(select(Fact.payload).order_by(Fact.id))]


def stored_targets(app) -> set:
    with app.extensions["trimtab.sessions"]() as s:
        return {(t.subject, t.metric, Decimal(t.value)) for t in s.scalars(select(Target))}


def test_the_untouched_templates_import_nothing_and_name_their_example_rows(app, org):
    ruleset, tz = load_for(app.config), app.config["TZ"]
    book = openpyxl.load_workbook(TEMPLATES / "history.xlsx")
    for partial in (False, True):
        try:
            report = run(app, import_history, ruleset, (TEMPLATES / "history.xlsx").read_bytes(), tz,
                         partial=partial)
            problems = report["skipped"]
            assert partial and report["imported"] == 0
        except ImportRefused as refused:
            problems = refused.problems
            assert not partial
        assert [(p["sheet"], p["row"], p["header"]) for p in problems] == \
            [(ws.title, 2, "示例") for ws in book.worksheets]
        assert "delete it and write your own rows below the header" in problems[0]["message"]
        with pytest.raises(ImportRefused) if not partial else _no_refusal():
            report = run(app, import_targets, ruleset, (TEMPLATES / "targets.xlsx").read_bytes(), partial=partial)
    assert report["imported"] == 0 and [(p["row"], p["column"]) for p in report["skipped"]] == [(2, "D"), (3, "D")]
    assert count(app, Fact) == count(app, Target) == count(app, AuditEntry) == 0


class _no_refusal:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_an_unknown_metric_is_refused_even_with_partial_and_offered_the_near_one(app, org):
    ruleset = load_for(app.config)
    data = targets_book([["east.li", "new_customer", 80], ["east.li", "contract_amount", 14400000]])
    report = run(app, import_targets, ruleset, data, partial=True)
    [problem] = report["skipped"]
    assert (problem["row"], problem["column"], problem["header"]) == (3 - 1, "B", "指标")
    assert problem["message"] == "unknown metric `new_customer`: did you mean `new_customers`?"
    assert problem["message"].render("zh") == "未知的指标 `new_customer`：是否想写 `new_customers`？"
    assert stored_targets(app) == {("east.li", "contract_amount", Decimal(14400000))}
    assert run(app, import_targets, ruleset, targets_book([["east.li", "动态目标池", 5]]))["imported"] == 1


def test_targets_as_people_type_them(app, org):
    """A rep by name (unique in the chart), `90万` for money, `27%` for a percent metric."""
    ruleset = load_for(app.config)
    data = targets_book([["李东", "contract_amount", "90万"], ["李东", "conversion_rate", "27%"],
                         ["east.li", "new_customers", "１,２００"]])
    assert run(app, import_targets, ruleset, data)["imported"] == 3
    assert stored_targets(app) == {("east.li", "contract_amount", Decimal(900000)),
                                   ("east.li", "conversion_rate", Decimal("0.27")),
                                   ("east.li", "new_customers", Decimal(1200))}


@pytest.mark.parametrize("day", ["2026/6/8", "2026-6-8", "2026年6月8日", "2026.6.8", dt.date(2026, 6, 8)])
def test_history_as_people_type_it(app, org, day):
    ruleset, tz = load_for(app.config), app.config["TZ"]
    data = weekly_book([weekly_row(rep="李东", day=day, conversion="27%", amount="90万")])
    assert run(app, import_history, ruleset, data, tz)["imported"] == 1
    [facts] = stored_facts(app)
    assert (facts["rep"], facts["week_start"]) == ("east.li", "2026-06-08")
    assert Decimal(str(facts["meeting_conversion"])) == Decimal("0.27")
    assert Decimal(str(facts["new_opportunity_amount"])) == 900000


def test_a_name_two_people_share_or_no_one_has_is_refused(app, org):
    from serverkit import ORG
    load_org(app, {"people": ORG["people"] + [{"id": "west.li", "name": "李东", "role": "rep", "region": "east"}]})
    ruleset, tz = load_for(app.config), app.config["TZ"]
    data = weekly_book([weekly_row(rep="李东"), weekly_row(rep="张三", day="2026-06-15")])
    with pytest.raises(ImportRefused) as refused:
        run(app, import_history, ruleset, data, tz)
    assert [(p["row"], p["column"], p["header"], str(p["message"])) for p in refused.value.problems] == [
        (2, "A", "销售代表", "`李东` is the name of 2 people (east.li, west.li): write the id"),
        (3, "A", "销售代表", "`张三` is not in the organisation chart")]
    assert count(app, Fact) == 0


def test_every_problem_has_its_column_and_header_never_a_dash(app, org):
    """The measured `周度销售指标!-4`: a missing cell on row 4 names D4 and its header, in zh too;
    every problem of the file is listed, not the first."""
    ruleset, tz = load_for(app.config), app.config["TZ"]
    rows = [weekly_row(day="2026-06-08"), weekly_row(day="2026-06-15"), weekly_row(day="2026-06-22", visits=None),
            weekly_row(day="2026-02-30")]
    with pytest.raises(ImportRefused) as refused:
        run(app, import_history, ruleset, weekly_book(rows), tz)
    texts = [problem_text(p) for p in refused.value.problems]
    assert texts == ["周度销售指标!D4 (有效拜访数): `effective_visits` is required",
                     "周度销售指标!C5 (周起始日): `2026-02-30` is not a date of the calendar"]
    assert problem_text(refused.value.problems[0], "zh").startswith("周度销售指标!D4 (有效拜访数): ")
    assert all("!-" not in t for t in texts) and count(app, Fact) == 0


def test_a_missing_column_is_named_where_it_would_go(app, org):
    ruleset, tz = load_for(app.config), app.config["TZ"]
    book = openpyxl.load_workbook(io.BytesIO(weekly_book([weekly_row()])))
    book.active.delete_cols(4)                      # 有效拜访数
    with pytest.raises(ImportRefused) as refused:
        run(app, import_history, ruleset, saved(book), tz)
    assert [problem_text(p) for p in refused.value.problems] == \
        ["周度销售指标!O1 (有效拜访数): missing column `有效拜访数` (`effective_visits`): add it to the header"]


def test_the_problems_listed_are_bounded(app, org):
    from trimtab.server.plugin.excel_book import MAX_PROBLEMS
    ruleset, tz = load_for(app.config), app.config["TZ"]
    rows = [weekly_row(day=str(dt.date(2026, 6, 8) + dt.timedelta(weeks=n)), visits=-1) for n in range(250)]
    with pytest.raises(ImportRefused) as refused:
        run(app, import_history, ruleset, weekly_book(rows), tz)
    assert (len(refused.value.problems), refused.value.more) == (MAX_PROBLEMS, 250 - MAX_PROBLEMS)


def test_a_dry_run_checks_everything_and_stores_nothing(app, org):
    ruleset, tz = load_for(app.config), app.config["TZ"]
    report = run(app, import_history, ruleset, weekly_book([weekly_row()]), tz, dry_run=True)
    assert report["imported"] == 1 and report["rows"] == [
        {"sheet": "周度销售指标", "row": 2, "form": "weekly_metrics", "subject": "east.li", "period": "2026-W24"}]
    report = run(app, import_targets, ruleset, targets_book([["李东", "new_customers", 8]]), dry_run=True)
    assert report["rows"] == [{"sheet": "目标", "row": 2, "rep": "east.li", "metric": "new_customers", "value": 8}]
    assert count(app, Fact) == count(app, Target) == count(app, AuditEntry) == 0


def _cli(app, monkeypatch, tmp_path):
    from trimtab.server.cli.main import main
    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"].replace("+psycopg", ""))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules").symlink_to(ROOT / "rules")
    (tmp_path / "form_schemas").symlink_to(ROOT / "form_schemas")
    return main


def test_the_cli_shows_progress_and_a_dry_run_writes_nothing(app, org, monkeypatch, capsys, tmp_path):
    main = _cli(app, monkeypatch, tmp_path)
    rows = [weekly_row(day=str(dt.date(2006, 1, 2) + dt.timedelta(weeks=n))) for n in range(1001)]
    (tmp_path / "history.xlsx").write_bytes(weekly_book(rows))
    assert main(["import", "history.xlsx", "--dry-run", "--lang", "en"]) == 0
    out, err = capsys.readouterr()
    assert [line for line in err.splitlines() if line.startswith("checked")] == \
        ["checked 500/1001 rows", "checked 1000/1001 rows", "checked 1001/1001 rows"]
    assert "would import 周度销售指标!2: weekly_metrics east.li 2006-W01" in out
    assert "… and 981 more row(s)" in out and "nothing was written" in out and count(app, Fact) == 0
    assert main(["import", "history.xlsx", "--lang", "zh"]) == 0
    assert "已检查 1001/1001 行" in capsys.readouterr().err and count(app, Fact) == 1001


def test_on_a_terminal_the_progress_is_a_bar():
    from trimtab.server.cli.importing import progress_printer

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    screen = Terminal()
    progress = progress_printer(screen, "en")
    progress(500, 1000)
    progress(1000, 1000)
    assert screen.getvalue() == "\r[" + "#" * 15 + "." * 15 + "] 500/1000" + "\r[" + "#" * 30 + "] 1000/1000\n"
def test_a_percent_column_problem_is_told_in_the_importers_language(app, org):
    from trimtab.server.plugin.excel import problem_text
    ruleset, tz = load_for(app.config), app.config["TZ"]
    row = weekly_row()
    row[WEEKLY_HEADER.index("管道覆盖率")] = 100          # meant 100%, written as a plain number
    with pytest.raises(ImportRefused) as refused:
        run(app, import_history, ruleset, weekly_book([row]), tz)
    [problem] = refused.value.problems
    assert problem_text(problem, "zh").endswith('百分比字段填小数：1 或 "100%"')
    assert problem_text(problem, "en").endswith('Percent fields are fractions: 1 or "100%"')


