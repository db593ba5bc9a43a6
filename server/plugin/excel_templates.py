"""The Excel templates `trimtab import --template DIR` writes: targets.xlsx and history.xlsx,
Chinese headers, and worked example rows that are marked as examples so that they never import.

The mark is a last column headed `示例` whose cell, on each example row, says so.  The importer
refuses a row with a mark (naming its sheet and row): a person deletes the example rows and
writes their own below the header, or clears the mark of an example row they wrote over.
"""
from __future__ import annotations

import datetime as dt

from trimtab.server.plugin.fields import MEMBER_FIELDS

MARK_HEADERS = ("示例", "example")          # the mark column's header, in either language
MARK_HEADER = "示例"
MARK_TEXT = "示例行：导入前删除本行 (example row: delete it before importing)"


def is_mark_header(cell) -> bool:
    return isinstance(cell, str) and cell.strip().lower() in MARK_HEADERS


def write_templates(directory, ruleset) -> list:
    """targets.xlsx and history.xlsx with Chinese headers and marked example rows."""
    import openpyxl
    from pathlib import Path
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "目标"
    sheet.append(["销售代表", "指标", "目标值", MARK_HEADER])
    sheet.append(["east.li", "new_customers", 80, MARK_TEXT])
    sheet.append(["east.li", "contract_amount", 14400000, MARK_TEXT])
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
        sheet.append([props[k].get("x-label-zh") or k for k in names] + [MARK_HEADER])
        sheet.append([_example_cell(k, props[k]) for k in names] + [MARK_TEXT])
        for column, k in enumerate(names, start=1):
            if props[k].get("x-unit") == "percent":     # a fraction, shown as 75%
                sheet.cell(row=2, column=column).number_format = "0%"
    book.save(d / "history.xlsx")
    return [d / "targets.xlsx", d / "history.xlsx"]


def field_kind_is_flat(spec: dict) -> bool:
    """A column can hold it: not a list of records."""
    return not (spec.get("type") == "array" and (spec.get("items") or {}).get("type") == "object")


def _example_cell(name: str, spec: dict):
    if name in MEMBER_FIELDS:
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
