"""The organisation chart from CSV or Excel: one person a row; all rows or none.

Columns (English or Chinese headers): id/工号, name/姓名, role/角色, region/区域,
manager/直属上级, hrbp/HRBP, email/邮箱, mobile/手机 (optional); lang/语言 (`zh` or `en`: the
language of the person's notifications; empty: the deployment's); grants/权限 (`admin`, `it`,
comma-separated) and covers/覆盖区域 (more regions an HRBP covers); the person's platform ids:
dingtalk_userid/钉钉userid, feishu_open_id/飞书open_id, feishu_union_id/飞书union_id,
jiandaoyun_username/简道云账号.  Template: server/templates/org_chart.csv and .xlsx.
"""
from __future__ import annotations

import csv
import io

from trimtab.server.core.errors import DomainError
from trimtab.server.messages import Msg, msg

COLUMNS = {"id": ("id", "工号"), "name": ("name", "姓名"), "role": ("role", "角色"),
           "region": ("region", "区域"), "manager": ("manager", "直属上级"), "hrbp": ("hrbp", "hrbp"),
           "email": ("email", "邮箱"), "mobile": ("mobile", "手机"), "lang": ("lang", "语言"),
           "grants": ("grants", "权限"),
           "covers": ("covers", "覆盖区域"), "dingtalk_userid": ("dingtalk_userid", "钉钉userid"),
           "feishu_open_id": ("feishu_open_id", "飞书open_id"),
           "feishu_union_id": ("feishu_union_id", "飞书union_id"),
           "jiandaoyun_username": ("jiandaoyun_username", "简道云账号")}
# Platform ids a callback or a sign-in may name; e-mail and mobile identify a person too.
IDENTITY_KINDS = ("dingtalk_userid", "feishu_open_id", "feishu_union_id", "jiandaoyun_username",
                  "email", "mobile")
GRANTS = ("admin", "it")
HEADER_TO_FIELD = {alias.lower(): field for field, aliases in COLUMNS.items() for alias in aliases}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def rows_from_csv(data: bytes) -> tuple[str, list[list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError("bad_file", msg("the CSV file is not UTF-8"), "$") from None
    reader = csv.reader(io.StringIO(text, newline=""))     # CR, LF or CRLF line ends
    try:
        return "csv", list(reader)
    except csv.Error as err:       # e.g. a field over csv's field size limit
        raise DomainError("bad_file", msg("the CSV file cannot be read: {err}", err=err),
                          f"csv!{reader.line_num}") from None


def rows_from_xlsx(data: bytes) -> tuple[str, list[list[str]]]:
    import openpyxl
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:                       # openpyxl raises many kinds for a broken file
        raise DomainError("bad_file", msg("the file is not an Excel workbook (.xlsx)"), "$") from None
    sheet = book.worksheets[0]
    rows = [["" if v is None else str(v).strip() for v in row] for row in sheet.iter_rows(values_only=True)]
    return sheet.title, rows


def people_from_rows(sheet: str, rows: list[list[str]]) -> list[dict]:
    """Validated people, or DomainError(422) listing every bad row (sheet, row, column)."""
    if not rows:
        raise DomainError("bad_file", msg("the file is empty"), "$")
    header = [HEADER_TO_FIELD.get(h.strip().lower()) for h in rows[0]]
    missing = [f for f in ("id", "role") if f not in header]
    if missing:
        raise DomainError("bad_file", msg("missing column(s): {missing}", missing=', '.join(missing)),
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
                                 "message": msg("`{field}` is empty", field=field)})
        if person.get("id") in seen:
            problems.append({"sheet": sheet, "row": number, "column": _column_letter(header.index("id")),
                             "message": msg("id `{id}` already on row {row}", id=person["id"],
                                            row=seen[person["id"]])})
        bad = problem_of({k: v for k, v in person.items() if v}) \
            if person.get("id") and person.get("role") else None
        if bad:
            problems.append({"sheet": sheet, "row": number,
                             "column": _column_letter(header.index(bad[0])), "message": bad[1]})
        seen.setdefault(person.get("id"), number)
        people.append({k: (v or None) for k, v in person.items()})
    ids = {p["id"] for p in people}
    for number, p in enumerate(people, start=2):
        for field in ("manager", "hrbp"):
            if p.get(field) and p[field] not in ids:
                problems.append({"sheet": sheet, "row": number,
                                 "column": _column_letter(header.index(field)),
                                 "message": msg("{field} `{id}` is not in the file", field=field, id=p[field])})
    if problems:
        first = problems[0]
        raise DomainError("bad_rows", msg("{count} bad row(s); nothing imported — {sheet} row {row} "
                                          "column {column}: {message}", count=len(problems), **first),
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
    header = ["工号", "姓名", "角色", "区域", "直属上级", "HRBP", "邮箱", "手机", "语言", "权限", "覆盖区域",
              "钉钉userid", "飞书open_id", "飞书union_id", "简道云账号"]
    example = [["east.mgr", "王经理", "regional_manager", "east", "sales.dir", "", "east.mgr@example.com",
                "13800000001", "", "", "", "manager0001", "ou_3f1e2d0c9b8a7f6e5d4c3b2a1f0e9d8c", "", "wangjl"],
               ["hr.east", "陈HRBP", "hrbp", "east", "", "", "hr.east@example.com", "13800000002",
                "en", "", "south", "hrbp0002", "ou_8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f", "", "chenhr"],
               ["east.li", "李东", "rep", "east", "east.mgr", "hr.east", "", "13800000003", "", "", "",
                "rep0003", "ou_1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d", "", "lidong"],
               ["sales.dir", "销售总监", "sales_director", "", "", "", "", "", "", "", "", "", "", "", ""],
               # Someone for each further role the shipped rules name (`trimtab check --org`).
               ["east.sup", "赵主管", "regional_supervisor", "east", "east.mgr", "", "", "", "", "", "",
                "", "", "", ""],
               ["east.lead", "周组长", "sales_lead", "east", "east.mgr", "", "", "", "", "", "", "", "",
                "", ""],
               ["east.prod", "吴产品", "product_rep", "east", "east.mgr", "", "", "", "", "", "", "", "",
                "", ""],
               ["fin.an", "郑分析", "finance_analyst", "", "sales.dir", "", "", "", "", "", "", "", "",
                "", ""],
               ["hq.ops", "总部运营", "headquarters", "", "sales.dir", "", "", "", "", "", "", "", "",
                "", ""]]
    d = Path(directory)
    with (d / "org_chart.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header] + example)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "组织架构"
    for row in [header] + example:
        sheet.append(row)
    book.save(d / "org_chart.xlsx")


def problem_of(p: dict) -> tuple[str, Msg] | None:
    """(field, message) of the first thing wrong with one person's fields, or None."""
    for key in ("id", "role"):
        if not isinstance(p.get(key), str) or not p[key].strip():
            return key, msg("`{key}` is required (a text)", key=key)
    for key in COLUMNS:
        if p.get(key) is not None and not isinstance(p[key], str):
            return key, msg("`{key}` is a text", key=key)
    if p.get("email") and "@" not in p["email"]:
        return "email", msg("`email` is not an e-mail address")
    if p.get("lang") and language(p["lang"]) is None:
        return "lang", msg("`lang` is zh or en, not `{lang}`", lang=p["lang"])
    unknown = [g for g in (p.get("grants") or "").replace("，", ",").split(",")
               if g.strip() and g.strip() not in GRANTS]
    if unknown:
        return "grants", msg("unknown grant `{grant}` (admin, it)", grant=unknown[0].strip())
    return None


LANGS = {"zh": "zh", "中文": "zh", "en": "en", "english": "en", "英文": "en"}


def language(value: str) -> str | None:
    """zh or en from what a chart may say (zh-CN, en_US, 中文, English …); None if neither."""
    text = value.strip().lower().replace("_", "-")
    return LANGS.get(text) or LANGS.get(text.split("-")[0])


def store_people(session, people: list[dict]) -> None:
    """Add or update people (fields as in COLUMNS); a field left out keeps nothing — the row
    is what was given, platform ids included.  A platform id another person holds is a 422."""
    from sqlalchemy import delete, select

    from trimtab.server.storage.models import Person, PersonIdentity
    ids = [str(p["id"]) for p in people]
    session.execute(delete(PersonIdentity).where(PersonIdentity.person_id.in_(ids)))
    session.flush()
    claimed: dict = {}
    for p in people:
        row = session.get(Person, str(p["id"])) or Person(id=str(p["id"]))
        row.name = str(p.get("name") or p["id"])
        row.role = str(p["role"])
        for field, column in (("region", "region"), ("manager", "manager_id"), ("hrbp", "hrbp_id"),
                              ("email", "email"), ("mobile", "mobile"), ("grants", "grants"),
                              ("covers", "covers")):
            setattr(row, column, (p.get(field) or "").replace("，", ",").strip() or None)
        row.lang = language(p["lang"]) if p.get("lang") else None
        session.add(row)
        for kind in IDENTITY_KINDS:
            value = (p.get(kind) or "").strip()
            if not value:
                continue
            key = (kind, value.lower() if kind == "email" else value)
            owner = claimed.get(key) or session.scalars(select(PersonIdentity.person_id).where(
                PersonIdentity.kind == key[0], PersonIdentity.value == key[1])).first()
            if owner not in (None, row.id):
                raise DomainError("identity_taken", msg("{kind} `{value}` is already `{owner}`'s",
                                                        kind=kind, value=value, owner=owner),
                                  f"$.people[{ids.index(row.id)}].{kind}")
            claimed[key] = row.id
            session.add(PersonIdentity(person_id=row.id, kind=key[0], value=key[1]))
