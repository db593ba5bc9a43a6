"""The organisation chart from CSV or Excel: one person a row; all rows or none.

Columns (English or Chinese headers): id/工号, name/姓名, role/角色, region/区域,
manager/直属上级, hrbp/HRBP, email/邮箱 (optional).  Template: server/templates/org_chart.csv and .xlsx.
"""
from __future__ import annotations

import csv
import io

from .errors import DomainError

COLUMNS = {"id": ("id", "工号"), "name": ("name", "姓名"), "role": ("role", "角色"),
           "region": ("region", "区域"), "manager": ("manager", "直属上级"), "hrbp": ("hrbp", "hrbp"),
           "email": ("email", "邮箱")}
HEADER_TO_FIELD = {alias.lower(): field for field, aliases in COLUMNS.items() for alias in aliases}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def rows_from_csv(data: bytes) -> tuple[str, list[list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError(422, "bad_file", "the CSV file is not UTF-8", "$") from None
    return "csv", [row for row in csv.reader(io.StringIO(text))]


def rows_from_xlsx(data: bytes) -> tuple[str, list[list[str]]]:
    import openpyxl
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:                       # openpyxl raises many kinds for a broken file
        raise DomainError(422, "bad_file", "the file is not an Excel workbook (.xlsx)", "$") from None
    sheet = book.worksheets[0]
    rows = [["" if v is None else str(v).strip() for v in row] for row in sheet.iter_rows(values_only=True)]
    return sheet.title, rows


def people_from_rows(sheet: str, rows: list[list[str]]) -> list[dict]:
    """Validated people, or DomainError(422) listing every bad row (sheet, row, column)."""
    if not rows:
        raise DomainError(422, "bad_file", "the file is empty", "$")
    header = [HEADER_TO_FIELD.get(h.strip().lower()) for h in rows[0]]
    missing = [f for f in ("id", "role") if f not in header]
    if missing:
        raise DomainError(422, "bad_file", f"missing column(s): {', '.join(missing)}",
                          f"{sheet}!1")
    people, problems, seen = [], [], {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        person = {f: (row[i].strip() if i < len(row) else "") for i, f in enumerate(header) if f}
        for field in ("id", "role"):
            if not person.get(field):
                col = _column_letter(header.index(field))
                problems.append({"sheet": sheet, "row": number, "column": col,
                                 "message": f"`{field}` is empty"})
        if person.get("id") in seen:
            problems.append({"sheet": sheet, "row": number, "column": _column_letter(header.index("id")),
                             "message": f"id `{person['id']}` already on row {seen[person['id']]}"})
        seen.setdefault(person.get("id"), number)
        people.append({k: (v or None) for k, v in person.items()})
    ids = {p["id"] for p in people}
    for number, p in enumerate(people, start=2):
        for field in ("manager", "hrbp"):
            if p.get(field) and p[field] not in ids:
                problems.append({"sheet": sheet, "row": number,
                                 "column": _column_letter(header.index(field)),
                                 "message": f"{field} `{p[field]}` is not in the file"})
    if problems:
        first = problems[0]
        raise DomainError(422, "bad_rows", f"{len(problems)} bad row(s); nothing imported — "
                          f"{first['sheet']} row {first['row']} column {first['column']}: {first['message']}",
                          f"{first['sheet']}!{first['column']}{first['row']}", problems=problems)
    return people


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def write_templates(directory) -> None:
    """(Re)write the CSV and Excel templates with a worked example."""
    import openpyxl
    from pathlib import Path
    header = ["工号", "姓名", "角色", "区域", "直属上级", "HRBP", "邮箱"]
    example = [["east.mgr", "王经理", "regional_manager", "east", "", "", "east.mgr@example.com"],
               ["hr.east", "陈HRBP", "hrbp", "east", "", "", "hr.east@example.com"],
               ["east.li", "李东", "rep", "east", "east.mgr", "hr.east", ""],
               ["sales.dir", "销售总监", "sales_director", "", "", "", ""]]
    d = Path(directory)
    with (d / "org_chart.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header] + example)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "组织架构"
    for row in [header] + example:
        sheet.append(row)
    book.save(d / "org_chart.xlsx")


def store_people(session, people: list[dict]) -> None:
    """Add or update people (fields as in the API: id, name, role, region, manager, hrbp,
    email); a field left out keeps nothing — the row is what was given."""
    from .models import Person
    for p in people:
        row = session.get(Person, str(p["id"])) or Person(id=str(p["id"]))
        row.name = str(p.get("name") or p["id"])
        row.role = str(p["role"])
        row.region = p.get("region") or None
        row.manager_id = p.get("manager") or None
        row.hrbp_id = p.get("hrbp") or None
        row.email = p.get("email") or None
        session.add(row)
