"""What kind of platform widget each form field is, read from its JSON Schema.

The form schemas describe values, not widgets; a platform needs to know that `rep` is a
member picker, `region` a department, `week_start` a date, `evidence` an upload."""
from __future__ import annotations

import hashlib

MEMBER_FIELDS = {"rep", "reviewer", "actor", "owner", "requested_by"}   # person ids in the chart
DEPARTMENT_FIELDS = {"region", "team"}
ATTACHMENT_FIELDS = {"evidence"}


def field_kind(name: str, spec: dict) -> str:
    """text | number | date | select | member | department | attachment | subform | boolean"""
    kind = spec.get("type")
    if kind == "array":
        items = spec.get("items") or {}
        if items.get("type") == "object":
            return "subform"
        return "attachment" if name in ATTACHMENT_FIELDS else "multi_text"
    if kind in ("number", "integer"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if spec.get("format") == "date":
        return "date"
    if "enum" in spec:
        return "select"
    if name in MEMBER_FIELDS:
        return "member"
    if name in DEPARTMENT_FIELDS:
        return "department"
    return "text"


def widget_id(form: str, path: str) -> str:
    """A stable stand-in widget id (`_widget_` + 13 digits, the shape 简道云 uses) for a field,
    until the platform's own ids are written into the mapping file after import."""
    digits = int(hashlib.sha256(f"{form}/{path}".encode()).hexdigest(), 16) % 10**13
    return f"_widget_{digits:013d}"


def label(name: str, spec: dict, lang: str) -> str:
    if lang == "zh":
        return spec.get("x-label-zh") or name
    return spec.get("description") or name
