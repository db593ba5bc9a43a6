"""What both Excel imports share: reading the workbook, locating a problem (sheet, row, column
letter and the header's text), a bounded list of problems, the header, progress.

A problem is a dict: sheet, row (0: the sheet as a whole), column (a letter, "-" for the sheet
or the file), header (the header cell's text, or the label a missing column should have) and
message (a msg(...), rendered in the reader's language by `problem_text`).
"""
from __future__ import annotations

import io
from typing import Callable, Optional

from trimtab.dsl.diagnostics import suggest
from trimtab.server.domain.orgchart import _column_letter
from trimtab.server.messages import msg, render
from trimtab.server.plugin.excel_templates import is_mark_header

MAX_PROBLEMS = 200                  # listed; past them a refusal says how many more there were
PROGRESS_EVERY = 500                # rows between two progress reports

Progress = Optional[Callable[[int, int], None]]


class ImportRefused(Exception):
    def __init__(self, problems: list[dict], more: int = 0):
        super().__init__(msg("{count} bad row(s); nothing imported", count=len(problems) + more))
        self.problems, self.more = problems, more


def problem_text(p: dict, lang: str = "en") -> str:
    """`周度销售指标!D4 (有效拜访数): message`; the sheet alone, or nothing, when the problem is
    the sheet's or the file's."""
    message = render(p["message"], lang)
    if p["sheet"] == "-":
        return message
    if not p["row"]:
        return f"{p['sheet']}: {message}"
    header = f" ({p['header']})" if p.get("header") else ""
    return f"{p['sheet']}!{p['column']}{p['row']}{header}: {message}"


class Problems:
    """Every problem found, the first MAX_PROBLEMS of them kept."""

    def __init__(self):
        self.kept: list[dict] = []
        self.more = 0

    def add(self, problem: dict) -> None:
        if len(self.kept) < MAX_PROBLEMS:
            self.kept.append(problem)
        else:
            self.more += 1

    def __bool__(self) -> bool:
        return bool(self.kept)

    def refuse(self):
        raise ImportRefused(self.kept, self.more)


def sheet_problem(sheet: str, message) -> dict:
    return {"sheet": sheet, "row": 0, "column": "-", "header": None, "message": message}


class Sheet:
    """One sheet's header: which column holds which field, and where a problem is."""

    def __init__(self, name: str, header: list, aliases: dict, problems: Problems):
        self.name, self.header = name, header
        self.columns: dict[str, int] = {}
        self.mark: int | None = None            # the templates' example-row mark column
        for i, cell in enumerate(header):
            field = aliases.get(str(cell).strip().lower()) if cell is not None else None
            if is_mark_header(cell):
                self.mark = i
            elif field is not None:
                self.columns[field] = i
            elif cell not in (None, ""):
                near = suggest(str(cell).strip(), [str(a) for a in aliases])
                problems.add(self.at(1, i, msg("unknown column `{cell}`: did you mean `{near}`?", cell=cell,
                                               near=near) if near else msg("unknown column `{cell}`", cell=cell)))

    def at(self, row: int, index: int, message) -> dict:
        header = self.header[index] if index < len(self.header) else None
        return {"sheet": self.name, "row": row, "column": _column_letter(index),
                "header": str(header).strip() if header not in (None, "") else None, "message": message}

    def field_at(self, row: int, field: str, message) -> dict:
        return self.at(row, self.columns[field], message)

    def missing(self, fields: list[str], labels: dict, problems: Problems) -> None:
        """Required columns not in the header: named where they would go (after the last)."""
        for after, field in enumerate(fields, start=len(self.header)):
            problem = self.at(1, after, msg("missing column `{label}` (`{field}`): add it to the header",
                                            label=labels.get(field, field), field=field))
            problem["header"] = labels.get(field, field)
            problems.add(problem)

    def cell(self, row: list, field: str):
        i = self.columns[field]
        return row[i] if i < len(row) else None

    def example_row(self, number: int, row: list) -> dict | None:
        """A problem when the row carries the templates' example mark."""
        if self.mark is None or self.mark >= len(row) or row[self.mark] in (None, ""):
            return None
        return self.at(number, self.mark, msg(
            "row {row} is an example row of the template: delete it and write your own rows below "
            "the header (or clear this cell if you wrote your figures over it)", row=number))


def read_book(data: bytes) -> list[tuple[str, list[list]]]:
    import openpyxl
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:                       # openpyxl raises many kinds for a broken file
        raise ImportRefused([sheet_problem("-", msg("the file is not an Excel workbook (.xlsx)"))]) from None
    return [(sheet.title, [list(r) for r in sheet.iter_rows(values_only=True)])
            for sheet in book.worksheets]


def data_rows(rows: list[list]):
    """(row number, cells) of each row below the header with anything in it."""
    for number, row in enumerate(rows[1:], start=2):
        if any(c not in (None, "") and not (isinstance(c, str) and not c.strip()) for c in row):
            yield number, row


class Counter:
    """Rows checked, told to `progress` every PROGRESS_EVERY rows and at the end."""

    def __init__(self, total: int, progress: Progress):
        self.total, self.done, self.progress = total, 0, progress

    def step(self) -> None:
        self.done += 1
        if self.progress is not None and (self.done % PROGRESS_EVERY == 0 or self.done == self.total):
            self.progress(self.done, self.total)
