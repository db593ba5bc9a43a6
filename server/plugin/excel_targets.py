"""targets.xlsx: one sheet, a row per rep and metric: 销售代表/rep, 指标/metric, 目标值/value.

An imported target is where a rep starts; a target that already differs is refused on its row
(a change goes through the approval chain, not a spreadsheet).  A metric is a number field of
one of the rule set's forms or the name of one of its `target` rules: anything else is refused
with the nearest known name, even with `partial` (a misspelt metric would be a target no rule
ever reads).  The rep may be written by id or by name; the value as people type it (`27%` for
a percent metric, `90万` for money).
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from trimtab.dsl.decision import plain
from trimtab.dsl.diagnostics import suggest
from trimtab.dsl.percents import percent_text
from trimtab.server.domain import audit
from trimtab.server.messages import msg
from trimtab.server.plugin.excel_book import (Counter, ImportRefused, Problems, Progress, Sheet, data_rows,
                                              read_book)
from trimtab.server.plugin.excel_cells import People, read_number, typed
from trimtab.server.storage.models import Target
from trimtab.server.core import limits

TARGET_COLUMNS = {"rep": ("rep", "销售代表"), "metric": ("metric", "指标"), "value": ("value", "目标值")}


def target_metrics(ruleset) -> dict[str, dict]:
    """metric → the field spec its values are read with: the forms' number fields, then the
    rule set's `target` rules (no unit known)."""
    metrics: dict[str, dict] = {}
    for form in sorted(ruleset.schemas):
        for name, spec in (ruleset.schemas[form].raw.get("properties") or {}).items():
            if isinstance(spec, dict) and spec.get("type") in ("number", "integer"):
                metrics.setdefault(name, spec)
    for rule in ruleset.rules:
        if getattr(rule, "kind", None) == "target":
            metrics.setdefault(rule.name, {"type": "number"})
    return metrics


def import_targets(session, ruleset, data: bytes, partial: bool = False, actor: str = "excel-import",
                   progress: Progress = None, dry_run: bool = False) -> dict:
    sheet_name, rows = read_book(data)[0]
    problems = Problems()
    if not rows:
        raise ImportRefused([{"sheet": sheet_name, "row": 1, "column": "A", "header": None,
                              "message": msg("the sheet is empty")}])
    aliases = {a.lower(): f for f, names in TARGET_COLUMNS.items() for a in names}
    sheet = Sheet(sheet_name, rows[0], aliases, problems)
    missing = [f for f in TARGET_COLUMNS if f not in sheet.columns]
    if missing:
        sheet.missing(missing, {f: names[1] for f, names in TARGET_COLUMNS.items()}, problems)
        problems.refuse()
    metrics, people = target_metrics(ruleset), People(session)
    existing = {(t.subject, t.metric): t for t in session.scalars(select(Target))}
    seen: dict = {}
    good = []
    body = list(data_rows(rows))
    counter = Counter(len(body), progress)
    for number, row in body:
        counter.step()
        row_problems, found = _target_row(sheet, number, row, metrics, people)
        if found is not None:
            rep, metric, value = found
            if (rep, metric) in seen:
                row_problems.append(sheet.field_at(number, "rep", msg(
                    "{rep} · {metric} is already on row {row}", rep=rep, metric=metric, row=seen[(rep, metric)])))
            elif (rep, metric) in existing and Decimal(existing[(rep, metric)].value) != value:
                row_problems.append(sheet.field_at(number, "value", msg(
                    "{rep} already has a {metric} target of {held}; a change goes through the approval chain",
                    rep=rep, metric=metric, held=plain(Decimal(existing[(rep, metric)].value)))))
            seen.setdefault((rep, metric), number)
        for p in row_problems:
            problems.add(p)
        if not row_problems and found is not None:
            good.append((number, *found))
    if problems and not partial:
        problems.refuse()
    if not dry_run:
        _store(session, good, existing, actor, ruleset.version)
    return {"imported": len(good), "skipped": problems.kept, "more": problems.more,
            "rows": [{"sheet": sheet_name, "row": n, "rep": r, "metric": m, "value": plain(v)}
                     for n, r, m, v in good]}


def _target_row(sheet: Sheet, number: int, row: list, metrics: dict, people: People):
    """(problems, (rep, metric, value) or None) of one row."""
    at = lambda field, message: sheet.field_at(number, field, message)     # noqa: E731
    example = sheet.example_row(number, row)
    if example is not None:
        return [example], None
    problems = []
    rep, metric, value = sheet.cell(row, "rep"), sheet.cell(row, "metric"), sheet.cell(row, "value")
    rep_id = None
    if rep in (None, "") or not typed(rep):
        problems.append(at("rep", msg("`rep` is empty")))
    else:
        rep_id, why = people.resolve(rep)
        if why is not None:
            problems.append(at("rep", why))
    metric = typed(metric) if metric not in (None, "") else ""
    if not metric:
        problems.append(at("metric", msg("`metric` is empty")))
    elif metric not in metrics:
        near = suggest(metric, metrics)
        problems.append(at("metric", msg("unknown metric `{metric}`: did you mean `{near}`?", metric=metric,
                                         near=near) if near else
                           msg("unknown metric `{metric}`: a target is for a number field of a form or a "
                               "`target` rule of the rule set", metric=metric)))
    number_value, why = read_number(value, metrics.get(metric, {}))
    if isinstance(number_value, str):
        number_value = percent_text(number_value) if why is None else None     # '27%' → 0.27
    if why is not None:
        problems.append(at("value", why))
    elif not isinstance(number_value, Decimal) or number_value < 0:
        problems.append(at("value", msg("`{value}` is not a target (a number ≥ 0)", value=value)))
    elif limits.number_problem(number_value) or limits.decimal_places(number_value) > 4:
        problems.append(at("value", msg("`{value}` is not a target: below 10^15, at most 4 decimal places",
                                        value=value)))
    return problems, (None if problems else (rep_id, metric, number_value))


def _store(session, good: list, existing: dict, actor: str, version: str) -> None:
    for _number, rep, metric, value in good:
        if (rep, metric) not in existing:
            session.add(Target(subject=rep, metric=metric, value=value, source="import",
                               set_by=actor, ruleset_version=version))
            audit.append(session, action="target_imported", subject=rep, actor=actor,
                         ruleset_version=version, details={"metric": metric, "before": None,
                                                           "after": plain(value), "source": "excel"})
