"""Helpers of the Excel import tests (tests/test_excel_import.py, tests/test_excel_as_typed.py):
the shipped templates as a person fills them in, and what the database holds after."""
from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import openpyxl
from sqlalchemy import func, select

from conftest import ROOT
from trimtab.server.storage.models import Fact, Target

TEMPLATES = ROOT / "server" / "templates"


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
