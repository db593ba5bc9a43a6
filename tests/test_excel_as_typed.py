"""Excel import as people type it: header names, dates and percentages written the ways people
write them, names resolved or refused, every problem with its row, column and header, a bounded
list of problems, dry runs that store nothing, and the CLI's progress."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest

from conftest import ROOT
from excelkit import (TEMPLATES, WEEKLY_HEADER, count, run, saved, stored_facts, stored_targets,
                      targets_book, weekly_book, weekly_row)
from serverkit import load_org
from trimtab.server.storage.models import AuditEntry, Fact, Target
from trimtab.server.plugin.excel import ImportRefused, import_history, import_targets, problem_text
from trimtab.server.domain.rulesets import load_for


@pytest.fixture
def app_config():
    return {"LANG": "en"}


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
