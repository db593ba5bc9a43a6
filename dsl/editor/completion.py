"""Completion: what may be typed at a place in a rule file, from the language's own tables —
keywords in both languages (keywords.py), the fields of the form the rule listens to with
their labels and units (form_schemas/), roles (built in and declared), enum values, forms.

It reads the text around the cursor only (a file being typed rarely parses), so it guesses
the context from the line: after `notify` roles, after `field =` that field's values, after
`on` the forms, after `lead.` a list item's fields; else keywords, functions and fields.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from ..checker import BUILTIN_ROLES
from ..keywords import FUNCTIONS, KEYWORDS, LEVELS
from ..schemas import FieldType, FormSchema

WORD = re.compile(r"[^\W\d]\w*$")
_ROLE_TAKERS = {w for t in ("NOTIFY", "STEP", "COUNTERSIGN", "TO", "AMONG") for w in KEYWORDS[t]}
_ROLE_LIST = re.compile(r"(?:^|\s)(%s)\s+(?:\w+\s*[,，、]\s*)*$"
                        % "|".join(sorted(map(re.escape, _ROLE_TAKERS), key=len, reverse=True)))
_FORM_PLACE = re.compile(r"(?:^|\s)(?:%s)\s+$" % "|".join(map(re.escape, KEYWORDS["ON"])))
_LEVEL_PLACE = re.compile(r"(?:^|\s)(?:%s)\s+$" % "|".join(map(re.escape, KEYWORDS["LEVEL"])))
_VALUE_PLACE = re.compile(r"([^\W\d][\w.]*)\s*(?:==|!=|=|≠|＝)\s*$")
_ITEM_PLACE = re.compile(r"([^\W\d]\w*)\.$")
_ON_FORM = re.compile(r"^\s*(?:%s)\s+([^\W\d]\w*)" % "|".join(map(re.escape, KEYWORDS["ON"])), re.M)


class Suggestion(NamedTuple):
    label: str
    kind: str               # keyword | field | function | role | value | form
    detail: str = ""
    documentation: str = ""


def complete(text: str, line: int, column: int, schemas: dict[str, FormSchema],
             roles: dict[str, str | None], lang: str) -> list[Suggestion]:
    """Suggestions at 0-based (line, column in characters) of `text`."""
    lines = text.split("\n")
    line = min(line, len(lines) - 1)        # past the end (an editor's stale position): the last line
    current = lines[line]
    before = current[:column]
    typed = WORD.search(before)
    head = before[: typed.start()] if typed else before
    form = schemas.get(_form_at(lines, line) or "")
    if _FORM_PLACE.search(head):
        return [Suggestion(n, "form", _form_title(s, lang)) for n, s in sorted(schemas.items())]
    if _LEVEL_PLACE.search(head):
        return [Suggestion(w, "value") for w in LEVELS]
    if _ROLE_LIST.search(head):
        return [Suggestion(r, "role", label or "") for r, label in roles.items()]
    item = _ITEM_PLACE.search(head)
    if item and form is not None:
        listed = form.list_field(item.group(1))
        return [field_suggestion(f, spec, lang) for f, spec in _item_specs(form, listed)] if listed else []
    value = _VALUE_PLACE.search(head)
    if value and form is not None:
        target = _field(form, value.group(1))
        if target is not None and target.enum:
            return [Suggestion(str(v), "value", target.name) for v in target.enum]
    return keywords(lang) + functions() + (fields(form, lang) if form is not None else [])


def keywords(lang: str) -> list[Suggestion]:
    """Every spelling of every keyword; the other language's canonical word as the detail."""
    out = []
    for spellings in KEYWORDS.values():
        other = spellings[1] if lang == "en" else spellings[0]
        for spelling in spellings:
            out.append(Suggestion(spelling, "keyword", other if spelling != other else spellings[0]))
    return out


def functions() -> list[Suggestion]:
    return [Suggestion(s, "function", " / ".join(spellings[:2])) for spellings in FUNCTIONS.values()
            for s in spellings]


def fields(form: FormSchema, lang: str) -> list[Suggestion]:
    props = form.raw.get("properties", {})
    return [field_suggestion(f, props.get(f.name, {}), lang) for f in form.fields.values()]


def field_suggestion(f: FieldType, spec: dict, lang: str) -> Suggestion:
    """`effective_visits` — detail `有效拜访数` (or its English description), and the unit."""
    label = spec.get("x-label-zh") if lang == "zh" else spec.get("description")
    label = label or spec.get("description") or spec.get("x-label-zh") or ""
    unit = spec.get("x-unit")
    detail = f"{label} ({unit_word(unit, lang)})" if unit else label
    doc = " · ".join(x for x in (spec.get("x-label-zh"), spec.get("description"), f.kind) if x)
    if f.enum:
        doc += " · " + " | ".join(map(str, f.enum))
    return Suggestion(f.name, "field", detail, doc)


def unit_word(unit: str, lang: str) -> str:
    from ..units import FIELD_UNITS, UNIT_WORDS
    canonical = FIELD_UNITS.get(unit, unit)
    if canonical == "percent":
        return "%"
    words = UNIT_WORDS[lang].get(canonical)
    return words[1] if words else unit


def roles_in(decls, extra: dict[str, str | None] | None = None) -> dict[str, str | None]:
    """Built-in roles, then those declared (`role sales_director "销售总监"`) with labels."""
    from ..ast import RoleDecl
    out: dict[str, str | None] = {r: None for r in BUILTIN_ROLES}
    for d in decls:
        if isinstance(d, RoleDecl):
            out[d.name] = d.label
    out.update(extra or {})
    return out


def _form_at(lines: list[str], line: int) -> str | None:
    """The form named by `on FORM` in the declaration around `line` (it starts at the last
    unindented line at or above it and ends before the next)."""
    start = line
    while start > 0 and (not lines[start].strip() or lines[start][:1].isspace()):
        start -= 1
    end = line + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][:1].isspace()):
        end += 1
    found = _ON_FORM.search("\n".join(lines[start + 1: end]))
    return found.group(1) if found else None


def _form_title(form: FormSchema, lang: str) -> str:
    raw = form.raw
    return (raw.get("x-title-zh") if lang == "zh" else raw.get("title")) or raw.get("title") or ""


def _field(form: FormSchema, name: str) -> FieldType | None:
    item, _, inner = name.partition(".")
    if not inner:
        return form.fields.get(name)
    listed = form.list_field(item)
    return listed.items.get(inner) if listed is not None else None


def _item_specs(form: FormSchema, listed: FieldType):
    props = form.raw.get("properties", {}).get(listed.name, {}).get("items", {}).get("properties", {})
    return [(f, props.get(f.name, {})) for f in listed.items.values()]
