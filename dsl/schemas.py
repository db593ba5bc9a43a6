"""Form schemas: what fields a form has, their types and units, read from form_schemas/*.json.

Only the parts the checker needs are kept (type, unit, enum, list items).  The JSON Schema
itself stays the contract for validating submissions (the server uses jsonschema for that).
"""
from __future__ import annotations

import json
import re
from decimal import Decimal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .diagnostics import Diagnostic, RuleError
from .keywords import KEYWORDS
from .percents import PercentField, percent_fields
from .periods import zone
from .units import FIELD_UNITS

PERIODS = ("day", "week", "biweek", "month", "quarter")


@dataclass
class FieldType:
    name: str
    kind: str                           # integer | number | string | boolean | array | date
    unit: Optional[str] = None          # a key of units.UNITS
    enum: Optional[list] = None
    items: dict = field(default_factory=dict)   # for arrays of objects: name -> FieldType
    item_name: Optional[str] = None     # "lead" for the list `leads`
    key_field: Optional[str] = None     # the item field that names an item
    required: bool = False
    default: object = None              # JSON Schema `default`: what a missing optional field reads as
    # One JSON type, no null: a value valid against the schema has exactly this kind's Python
    # type (int; int or Decimal; str; bool; list), so compiled rules may skip its check.
    exact_type: bool = True
    label: Optional[str] = None         # x-label-zh: a name rules may use for the field (names.py)


@dataclass
class FormSchema:
    name: str
    fields: dict                        # name -> FieldType
    period: Optional[str]
    subjects: list
    date_field: Optional[str]
    raw: dict
    timezone: Optional[str] = None      # x-timezone: where a timestamp's day (and period) is read
    percents: tuple[PercentField, ...] = ()     # percent fields and their plausible ranges
    title: Optional[str] = None         # x-title-zh: a name rules may use for the form (names.py)

    def list_field(self, name: str) -> Optional[FieldType]:
        """A list field by its own name or by its item name (`lead` → `leads`)."""
        f = self.fields.get(name)
        if f is not None and f.kind == "array":
            return f
        for f in self.fields.values():
            if f.kind == "array" and f.item_name == name:
                return f
        return None


def spellings(fields: dict, kind: str | None = None) -> list[str]:
    """What a rule may call these fields (of `kind` only, when given), ids and labels: the
    candidates of "did you mean"."""
    chosen = [(n, f) for n, f in fields.items() if kind is None or f.kind == kind]
    return [n for n, _f in chosen] + [f.label for _n, f in chosen if f.label]


def form_spellings(schemas: dict) -> list[str]:
    """The forms' ids and titles."""
    return list(schemas) + [s.title for s in schemas.values() if s.title]


def _field(name: str, spec: dict, required: bool, where: str) -> FieldType:
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if spec.get("format") == "date" and kind == "string":
        kind = "date"
    if kind not in ("integer", "number", "string", "boolean", "array", "date"):
        raise ValueError(f"{where}.{name}: unsupported type {spec.get('type')!r}")
    unit = spec.get("x-unit")
    if unit is not None:
        if unit not in FIELD_UNITS:
            raise ValueError(f"{where}.{name}: unknown x-unit {unit!r}")
        unit = FIELD_UNITS[unit]
    ft = FieldType(name, kind, unit, spec.get("enum"), required=required,
                   default=_default(name, spec, kind, required, where),
                   exact_type=isinstance(spec.get("type"), str), label=_label(spec, "x-label-zh"))
    if kind == "array":
        items = spec.get("items", {})
        if items.get("type") == "object":
            req = set(items.get("required", []))
            ft.items = {n: _field(n, s, n in req, f"{where}.{name}[]")
                        for n, s in items.get("properties", {}).items()}
            ft.key_field = next((n for n, f in ft.items.items()
                                 if f.kind == "string" and f.required), None)
        ft.item_name = spec.get("x-item")
    return ft


def _label(spec: dict, key: str) -> Optional[str]:
    """A Chinese label or title that rules may write as a name: one word, as NAME reads it,
    and no keyword (`KR 进度` and `总额` cannot be)."""
    label = spec.get(key)
    return label if isinstance(label, str) and _WORD.fullmatch(label) and label not in _KEYWORDS else None


_WORD = re.compile(r"[^\W\d]\w*")     # the grammar's NAME: only such labels can be written as names
_KEYWORDS = {w for spellings in KEYWORDS.values() for w in spellings}   # read as keywords, not names

_DEFAULT_TYPES = {"integer": (int,), "number": (int, Decimal), "string": (str,), "date": (str,),
                  "boolean": (bool,)}


def _default(name: str, spec: dict, kind: str, required: bool, where: str):
    """A field's `default`, checked: of the field's type (and among its enum), on an optional
    field only (a required one is never missing), never a list."""
    if "default" not in spec:
        return None
    value = spec["default"]
    if isinstance(value, float):
        value = Decimal(repr(value))
    ok = type(value) in _DEFAULT_TYPES.get(kind, ()) and (not spec.get("enum") or value in spec["enum"])
    if not ok:
        raise ValueError(f"{where}.{name}: default {value!r} is not a {kind}"
                         + (" of its enum" if spec.get("enum") else ""))
    if required:
        raise ValueError(f"{where}.{name}: a required field has no default (it is never missing)")
    return value


def parse_schema(name: str, text: str) -> FormSchema:
    raw = json.loads(text)
    if not isinstance(raw, dict):
        raise ValueError("a form schema is a JSON object")
    req = set(raw.get("required", []))
    fields = {n: _field(n, s, n in req, name) for n, s in raw.get("properties", {}).items()}
    period = raw.get("x-period")
    if period is not None and period not in PERIODS:
        raise ValueError(f"x-period must be one of {', '.join(PERIODS)}")
    subjects = raw.get("x-subject", [])
    if isinstance(subjects, str):
        subjects = [subjects]
    timezone = raw.get("x-timezone")
    if timezone is not None and (not isinstance(timezone, str) or zone(timezone) is None):
        raise ValueError(f"x-timezone {timezone!r} is not a known time zone")
    return FormSchema(name, fields, period, list(subjects), raw.get("x-date-field"), raw, timezone,
                      percent_fields(raw), _label(raw, "x-title-zh"))


def schemas_from_texts(files: list[tuple[str, str]]) -> dict[str, FormSchema]:
    """Form schemas from (path, text) pairs, e.g. read from a git revision."""
    schemas, problems = {}, []
    for path, text in sorted(files):
        name = Path(path).stem
        try:
            schemas[name] = parse_schema(name, text)
        except (ValueError, AttributeError, TypeError) as err:
            problems.append(Diagnostic("load.bad_schema", {"path": path, "detail": str(err)}, path))
    if problems:
        raise RuleError(problems)
    return schemas


def read_schema_files(directory: Path) -> list[tuple[str, str]]:
    """(path, text) of every form schema in `directory`; one that cannot be read is a
    `load.bad_schema` diagnostic."""
    files = []
    for path in sorted(Path(directory).glob("*.json")):
        try:
            files.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as err:
            raise RuleError([Diagnostic("load.bad_schema", {"path": str(path),
                                                                  "detail": str(err)}, str(path))]) from None
    return files


def load_schemas(directory: Path) -> dict[str, FormSchema]:
    """Every form schema in `directory`; a broken one is a `load.bad_schema` diagnostic."""
    return schemas_from_texts(read_schema_files(directory))
