"""Excel import for teams without an integration (seed 000): targets and history.

targets.xlsx — server/plugin/excel_targets.py.
history.xlsx — a sheet per periodic form (named by the form or its Chinese title), a header
  of field names or Chinese labels, a row per submission.  Rows are stored as facts, exactly as
  a webhook stores them, so history rules read them; no decisions or notifications are made
  for the past.  Cells are read as people type them (server/plugin/excel_cells.py); people by
  id or by a name one person of the chart has.

Every problem is reported with its sheet, row, column letter and header (excel_book.py); the
templates' example rows are refused (excel_templates.py); nothing is imported when any row is
bad, unless `partial` imports the good rows and lists the skipped ones; `dry_run` checks
everything and stores nothing.
"""
from __future__ import annotations

import json

from trimtab.dsl.decision import plain
from trimtab.dsl.diagnostics import RuleError, suggest

from trimtab.server.core.errors import DomainError
from trimtab.server.messages import LanguageMessage, msg
from trimtab.server.domain.schema_problems import problem_message
from trimtab.server.storage.models import Fact, utcnow
from trimtab.server.domain.filing import owner_of
from trimtab.server.domain.orgchart import _column_letter
from trimtab.server.plugin.excel_book import (  # noqa: F401  (the importers' names, in one place)
    Counter, ImportRefused, Problems, Progress, Sheet, data_rows, problem_text, read_book, sheet_problem)
from trimtab.server.plugin.excel_cells import People, read_cell
from trimtab.server.plugin.excel_targets import TARGET_COLUMNS, import_targets, target_metrics  # noqa: F401
from trimtab.server.plugin.excel_templates import field_kind_is_flat, write_templates  # noqa: F401
from trimtab.server.plugin.fields import MEMBER_FIELDS
from trimtab.server.core import limits

IMPORT_CLIENT = "excel-import"


# ---------------------------------------------------------------------- history
def import_history(session, ruleset, data: bytes, tz, partial: bool = False, progress: Progress = None,
                   dry_run: bool = False) -> dict:
    """Facts from a sheet per periodic form; validated like webhooks (JSON Schema, known people)."""
    by_name = {}
    for form, schema in ruleset.schemas.items():
        by_name[form.lower()] = form
        if schema.raw.get("x-title-zh"):
            by_name[schema.raw["x-title-zh"].lower()] = form
    people, problems, good, seen = People(session), Problems(), [], {}
    book = read_book(data)
    forms = {sheet: by_name.get(sheet.strip().lower()) for sheet, _rows in book}
    counter = Counter(sum(len(list(data_rows(rows))) for sheet, rows in book if forms[sheet] and rows), progress)
    for sheet_name, rows in book:
        form = forms[sheet_name]
        if form is None:
            near = suggest(sheet_name.strip(), [s.raw.get("x-title-zh") or f for f, s in ruleset.schemas.items()])
            problems.add(sheet_problem(sheet_name, msg("no form named `{sheet}` (name sheets by form): did you mean "
                                                       "`{near}`?", sheet=sheet_name, near=near) if near else
                                       msg("no form named `{sheet}` (name sheets by form)", sheet=sheet_name)))
            continue
        if rows:
            _history_sheet(session, ruleset.schemas[form], form, sheet_name, rows, tz, people, problems, good,
                           seen, counter)
    if problems and not partial:
        problems.refuse()
    if not dry_run:
        now = utcnow()
        for _sheet, _number, form, subject, period, day, facts in good:
            session.add(Fact(form=form, subject=subject, period=period, occurred_on=day,
                             payload=json.dumps(plain(facts), ensure_ascii=False), client=IMPORT_CLIENT,
                             received_at=now, **owner_of(facts)))
    return {"imported": len(good), "skipped": problems.kept, "more": problems.more,
            "rows": [{"sheet": sheet, "row": number, "form": form, "subject": subject, "period": period}
                     for sheet, number, form, subject, period, _day, _facts in good]}


def _history_sheet(session, schema, form, sheet_name, rows, tz, people, problems, good, seen, counter) -> None:
    from trimtab.server.domain.filing import occurred_on, period_key, subject_of
    props = schema.raw.get("properties", {})
    aliases = {k.lower(): k for k in props}
    aliases.update({spec["x-label-zh"].lower(): k for k, spec in props.items() if spec.get("x-label-zh")})
    sheet = Sheet(sheet_name, rows[0], aliases, problems)
    required = [f for f in schema.raw.get("required", []) if f in props]
    sheet.missing([f for f in required if f not in sheet.columns],
                  {k: spec.get("x-label-zh") or k for k, spec in props.items()}, problems)
    broken = any(f not in sheet.columns for f in required)     # no row of it can be whole
    for number, row in data_rows(rows):
        counter.step()
        facts, row_problems = _history_row(sheet, number, row, schema, required, people)
        for p in row_problems:
            problems.add(p)
        if broken or row_problems:
            continue
        day = occurred_on(schema, facts, tz)
        key = (form, subject_of(schema, facts), period_key(schema, day))
        if key in seen:
            first = next((f for f in schema.subjects if f in sheet.columns), None)
            problems.add(sheet.at(number, sheet.columns[first] if first else 0, msg(
                "{subject} · {period} is already on row {row}", subject=key[1], period=key[2], row=seen[key])))
            continue
        seen[key] = number
        good.append((sheet_name, number, form, key[1], key[2], day, facts))


def _history_row(sheet: Sheet, number: int, row: list, schema, required: list, people: People):
    """(facts, problems) of one row: cells read, people resolved, then the webhook's checks."""
    from trimtab.server.domain.validation import validators
    example = sheet.example_row(number, row)
    if example is not None:
        return {}, [example]
    props = schema.raw.get("properties", {})
    facts, row_problems, unread = {}, [], set()
    for name in sheet.columns:
        value, why = read_cell(sheet.cell(row, name), props[name])
        if why is None and value is not None and name in MEMBER_FIELDS and isinstance(value, str):
            value, why = people.resolve(value)
        if why is not None:
            row_problems.append(sheet.field_at(number, name, why))
            unread.add(name)
        elif value is not None:
            facts[name] = value
    row_problems += [sheet.field_at(number, f, msg("`{field}` is required", field=f))
                     for f in required if f in sheet.columns and f not in facts and f not in unread]
    if row_problems or any(f not in sheet.columns for f in required):
        return facts, row_problems              # the header problem names the missing column once
    column_of = {name: _column_letter(i) for name, i in sheet.columns.items()}
    row_problems = _located(sheet, number, _limit_problems(sheet.name, number, column_of, schema.raw, facts))
    if not row_problems:
        row_problems = _located(sheet, number,
                                _percent_problems(sheet.name, number, column_of, schema, facts))
    _fast, full = validators(schema)
    for err in [] if row_problems else sorted(full.iter_errors(facts), key=lambda e: list(e.absolute_path)):
        field = err.absolute_path[0] if err.absolute_path else None
        if err.validator != "required":         # checked above, on the cell that is empty
            row_problems.append(sheet.field_at(number, field, problem_message(err)) if field in sheet.columns
                                else sheet.at(number, 0, problem_message(err)))
    if not row_problems:
        row_problems = _located(sheet, number,
                                _limit_problems(sheet.name, number, column_of, schema.raw, facts, decimals=True))
    return facts, row_problems


def _located(sheet: Sheet, number: int, found: list[dict]) -> list[dict]:
    """The header's text beside a problem the webhook checks located by column letter."""
    letters = {_column_letter(i): i for i in range(len(sheet.header))}
    return [sheet.at(number, letters[p["column"]], p["message"]) if p["column"] in letters else
            {**p, "header": None} for p in found]


def _limit_problems(sheet, row, column_of, schema, facts, decimals=False) -> list[dict]:
    """A row's values outside trimtab.server.core.limits (checked before the schema: nothing converts a huge
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


