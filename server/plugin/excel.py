"""Excel import for teams without an integration (seed 000): targets and history.

targets.xlsx — one sheet, a row per rep and metric: 销售代表/rep, 指标/metric, 目标值/value.
  An imported target is where a rep starts; a target that already differs is refused on its
  row (a change goes through the approval chain, not a spreadsheet).
history.xlsx — a sheet per periodic form (named by the form or its Chinese title), a header
  of field names or Chinese labels, a row per submission.  Rows are stored as facts, exactly as
  a webhook stores them, so history rules read them; no decisions or notifications are made
  for the past.

Every bad row is reported as (sheet, row, column, message); nothing is imported when any row
is bad, unless `partial` imports the good rows and lists the skipped ones.
"""
from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

from sqlalchemy import select

from trimtab.dsl.decision import plain
from trimtab.dsl.diagnostics import RuleError
from trimtab.dsl.percents import percent_text

from trimtab.server.domain import audit
from trimtab.server.web import limits
from trimtab.server.web.errors import DomainError
from trimtab.server.messages import LanguageMessage, msg, render
from trimtab.server.domain.schema_problems import problem_message
from trimtab.server.storage.models import Fact, Person, Target, utcnow
from trimtab.server.domain.orgchart import _column_letter
from trimtab.server.domain.filing import owner_of

TARGET_COLUMNS = {"rep": ("rep", "销售代表"), "metric": ("metric", "指标"), "value": ("value", "目标值")}
IMPORT_CLIENT = "excel-import"


class ImportRefused(Exception):
    def __init__(self, problems: list[dict]):
        super().__init__(msg("{count} bad row(s); nothing imported", count=len(problems)))
        self.problems = problems


def problem_text(p: dict, lang: str = "en") -> str:
    return f"{p['sheet']}!{p['column']}{p['row']}: {render(p['message'], lang)}"


def read_book(data: bytes) -> list[tuple[str, list[list]]]:
    import openpyxl
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:                       # openpyxl raises many kinds for a broken file
        raise ImportRefused([{"sheet": "-", "row": 0, "column": "-",
                              "message": msg("the file is not an Excel workbook (.xlsx)")}]) from None
    return [(sheet.title, [list(r) for r in sheet.iter_rows(values_only=True)])
            for sheet in book.worksheets]


def _header(sheet: str, row: list, aliases: dict) -> tuple[dict, list]:
    """Column index per field, from a header of field names or Chinese labels."""
    columns, problems = {}, []
    for i, cell in enumerate(row):
        name = aliases.get(str(cell).strip().lower()) if cell is not None else None
        if cell not in (None, "") and name is None:
            problems.append({"sheet": sheet, "row": 1, "column": _column_letter(i),
                             "message": msg("unknown column `{cell}`", cell=cell)})
        elif name is not None:
            columns[name] = i
    return columns, problems


def _rows(rows: list[list]):
    for number, row in enumerate(rows[1:], start=2):
        if any(c not in (None, "") for c in row):
            yield number, row


def _finish(problems: list[dict], partial: bool, good: int) -> dict:
    if problems and not partial:
        raise ImportRefused(problems)
    return {"imported": good, "skipped": problems}


# ---------------------------------------------------------------------- targets
def import_targets(session, data: bytes, partial: bool = False, actor: str = "excel-import",
                   version: str = "-") -> dict:
    sheets = read_book(data)
    sheet, rows = sheets[0]
    aliases = {a.lower(): f for f, names in TARGET_COLUMNS.items() for a in names}
    if not rows:
        raise ImportRefused([{"sheet": sheet, "row": 1, "column": "A", "message": msg("the sheet is empty")}])
    columns, problems = _header(sheet, rows[0], aliases)
    missing = [f for f in TARGET_COLUMNS if f not in columns]
    if missing:
        raise ImportRefused(problems + [{"sheet": sheet, "row": 1, "column": "-",
                                         "message": msg("missing column(s): {missing}",
                                                        missing=", ".join(missing))}])
    people = set(session.scalars(select(Person.id)))
    existing = {(t.subject, t.metric): t for t in session.scalars(select(Target))}
    seen, good = {}, []
    for number, row in _rows(rows):
        cell = lambda f: row[columns[f]] if columns[f] < len(row) else None
        where = lambda f, message: {"sheet": sheet, "row": number,
                                    "column": _column_letter(columns[f]), "message": message}
        rep, metric, value = cell("rep"), cell("metric"), cell("value")
        row_problems = []
        rep = str(rep).strip() if rep not in (None, "") else ""
        if not rep:
            row_problems.append(where("rep", msg("`rep` is empty")))
        elif rep not in people:
            row_problems.append(where("rep", msg("`{rep}` is not in the organisation chart", rep=rep)))
        metric = str(metric).strip() if metric not in (None, "") else ""
        if not metric:
            row_problems.append(where("metric", msg("`metric` is empty")))
        elif len(metric) > 64:
            row_problems.append(where("metric", msg("`metric` is longer than 64 characters")))
        number_value = _decimal(value)
        if number_value is None or number_value < 0:
            row_problems.append(where("value", msg("`{value}` is not a target (a number ≥ 0)", value=value)))
        elif limits.number_problem(number_value) or limits.decimal_places(number_value) > 4:
            row_problems.append(where("value", msg("`{value}` is not a target: below 10^15, at most 4 decimal "
                                                   "places", value=value)))
        key = (rep, metric)
        if not row_problems and key in seen:
            row_problems.append(where("rep", msg("{rep} · {metric} is already on row {row}", rep=rep, metric=metric,
                                                   row=seen[key])))
        elif not row_problems and key in existing and Decimal(existing[key].value) != number_value:
            row_problems.append(where("value", msg("{rep} already has a {metric} target of {held}; a change goes "
                                                   "through the approval chain", rep=rep, metric=metric,
                                                   held=plain(Decimal(existing[key].value)))))
        seen.setdefault(key, number)
        if row_problems:
            problems += row_problems
        else:
            good.append((rep, metric, number_value))
    report = _finish(problems, partial, len(good))
    for rep, metric, value in good:
        if (rep, metric) not in existing:
            session.add(Target(subject=rep, metric=metric, value=value, source="import",
                               set_by=actor, ruleset_version=version))
            audit.append(session, action="target_imported", subject=rep, actor=actor,
                         ruleset_version=version, details={"metric": metric, "before": None,
                                                           "after": plain(value), "source": "excel"})
    return report


def _decimal(value):
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except Exception:                       # decimal.InvalidOperation and friends
        return None
    return number if number.is_finite() else None      # "NaN", "Infinity" are not numbers


# ---------------------------------------------------------------------- history
def import_history(session, ruleset, data: bytes, tz, partial: bool = False) -> dict:
    """Facts from a sheet per periodic form; validated like webhooks (JSON Schema, known reps)."""
    from trimtab.server.domain.validation import validators
    from trimtab.server.domain.filing import occurred_on, period_key, subject_of
    by_name = {}
    for form, schema in ruleset.schemas.items():
        by_name[form.lower()] = form
        if schema.raw.get("x-title-zh"):
            by_name[schema.raw["x-title-zh"].lower()] = form
    people = set(session.scalars(select(Person.id)))
    problems, good, seen = [], [], {}
    for sheet, rows in read_book(data):
        form = by_name.get(sheet.strip().lower())
        if form is None:
            problems.append({"sheet": sheet, "row": 1, "column": "-",
                             "message": msg("no form named `{sheet}` (name sheets by form)", sheet=sheet)})
            continue
        schema = ruleset.schemas[form]
        props = schema.raw.get("properties", {})
        aliases = {k.lower(): k for k in props}
        aliases.update({spec["x-label-zh"].lower(): k for k, spec in props.items() if spec.get("x-label-zh")})
        if not rows:
            continue
        columns, header_problems = _header(sheet, rows[0], aliases)
        problems += header_problems
        _fast, full = validators(schema)
        for number, row in _rows(rows):
            facts = {}
            for name, i in columns.items():
                value = _cell(row[i] if i < len(row) else None, props[name])
                if value is not None:
                    facts[name] = value
            column_of = {name: _column_letter(i) for name, i in columns.items()}
            row_problems = _limit_problems(sheet, number, column_of, schema.raw, facts)
            if not row_problems:
                row_problems = _percent_problems(sheet, number, column_of, schema, facts)
            for err in [] if row_problems else \
                    sorted(full.iter_errors(facts), key=lambda e: list(e.absolute_path)):
                field = err.absolute_path[0] if err.absolute_path else None
                row_problems.append({"sheet": sheet, "row": number, "column": column_of.get(field, "-"),
                                     "message": problem_message(err)})
            if not row_problems:
                row_problems = _limit_problems(sheet, number, column_of, schema.raw, facts, decimals=True)
            if not row_problems and "rep" in facts and str(facts["rep"]) not in people:
                row_problems.append({"sheet": sheet, "row": number, "column": column_of["rep"],
                                     "message": msg("`{rep}` is not in the organisation chart", rep=facts["rep"])})
            if not row_problems:
                day = occurred_on(schema, facts, tz)
                key = (form, subject_of(schema, facts), period_key(schema, day))
                if key in seen:
                    row_problems.append({"sheet": sheet, "row": number, "column": "-",
                                         "message": msg("{subject} · {period} is already on row {row}",
                                                         subject=key[1], period=key[2], row=seen[key])})
                seen.setdefault(key, number)
            if row_problems:
                problems += row_problems
            else:
                good.append((form, key[1], key[2], day, facts))
    report = _finish(problems, partial, len(good))
    now = utcnow()
    for form, subject, period, day, facts in good:
        session.add(Fact(form=form, subject=subject, period=period, occurred_on=day,
                         payload=json.dumps(plain(facts), ensure_ascii=False), client=IMPORT_CLIENT,
                         received_at=now, **owner_of(facts)))
    return report


def _limit_problems(sheet, row, column_of, schema, facts, decimals=False) -> list[dict]:
    """A row's values outside trimtab.server.web.limits (checked before the schema: nothing converts a huge
    number), or, with `decimals`, money with more decimal places than its field allows."""
    try:
        if decimals:
            limits.check_decimals(schema, facts)
        else:
            limits.check(facts)
    except DomainError as err:
        field = err.path[2:].split(".")[0].split("[")[0]
        return [{"sheet": sheet, "row": row, "column": column_of.get(field, "-"),
                 "message": msg("{field}: {message}", field=field, message=err.message)}]
    return []


def _percent_problems(sheet, row, column_of, schema, facts) -> list[dict]:
    """A bare number in a percent column outside its range (75 for 75%), with the fix; told in
    the importer's language when the problems are shown (problem_text), not here."""
    from trimtab.server.domain.validation import percent_fractions
    try:
        percent_fractions(schema, facts)
    except RuleError as err:
        where = err.details.get("path")
        field = where[2:].split(".")[0].split("[")[0] if isinstance(where, str) else None
        return [{"sheet": sheet, "row": row, "column": column_of.get(field, "-"),
                 "message": LanguageMessage(err)}]
    return []


def _cell(value, spec: dict):
    """An Excel cell → the schema's type: dates from date cells, numbers from number or text
    cells, text stripped; empty cells are left out (the schema says if they were required)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if spec.get("format") == "date" and isinstance(value, (dt.datetime, dt.date)):
        return (value.date() if isinstance(value, dt.datetime) else value).isoformat()
    if spec.get("type") in ("number", "integer"):
        number = _decimal(value)
        if number is None and isinstance(value, str) and spec.get("x-unit") in ("percent", "ratio"):
            number = percent_text(value)        # a text cell "27%" is 0.27 (dsl/percents.py)
        if number is None:
            return str(value)                  # the schema check words the problem
        if spec.get("type") == "integer" and limits.number_problem(number) is None \
                and number == number.to_integral_value():
            return int(number)                 # within 10^15: never int() of a huge exponent
        return number
    if spec.get("type") == "array":
        return [part.strip() for part in str(value).split(";") if part.strip()]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# ---------------------------------------------------------------------- templates
def write_templates(directory, ruleset) -> list:
    """targets.xlsx and history.xlsx with Chinese headers and a worked example row each."""
    import openpyxl
    from pathlib import Path
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "目标"
    sheet.append(["销售代表", "指标", "目标值"])
    sheet.append(["east.li", "new_customers", 80])
    sheet.append(["east.li", "contract_amount", 14400000])
    book.save(d / "targets.xlsx")
    book = openpyxl.Workbook()
    book.remove(book.active)
    for form in sorted(ruleset.schemas):
        schema = ruleset.schemas[form]
        props = schema.raw["properties"]
        if schema.period is None or not all(field_kind_is_flat(props[k]) for k in schema.raw.get("required", [])):
            continue                            # not periodic, or needs a list of records
        sheet = book.create_sheet(schema.raw.get("x-title-zh") or form)
        names = [k for k, spec in props.items() if field_kind_is_flat(spec)]
        sheet.append([props[k].get("x-label-zh") or k for k in names])
        sheet.append([_example_cell(k, props[k]) for k in names])
        for column, k in enumerate(names, start=1):
            if props[k].get("x-unit") == "percent":     # a fraction, shown as 75%
                sheet.cell(row=2, column=column).number_format = "0%"
    book.save(d / "history.xlsx")
    return [d / "targets.xlsx", d / "history.xlsx"]


def field_kind_is_flat(spec: dict) -> bool:
    """A column can hold it: not a list of records."""
    return not (spec.get("type") == "array" and (spec.get("items") or {}).get("type") == "object")


def _example_cell(name: str, spec: dict):
    if name == "rep":
        return "east.li"
    if name in ("region", "team"):
        return "east"
    if spec.get("format") == "date":
        return dt.date(2026, 7, 6)
    if "pattern" in spec:
        return "2026-Q3" if "Q" in spec["pattern"] else "2026-07"      # a quarter or a month
    if "enum" in spec:
        return spec["enum"][0]
    if spec.get("type") == "integer":
        return max(spec.get("minimum", 0), 3)
    if spec.get("x-unit") == "percent":
        return 0.75                             # percent fields are fractions: 0.75 is 75%
    if spec.get("type") == "number":
        high = spec.get("maximum")
        return 0.5 if high is not None and high <= 1 else max(spec.get("minimum", 0), 100)
    if spec.get("type") == "boolean":
        return False
    return "示例"
