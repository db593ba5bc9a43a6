"""Roles that rules name and nobody holds: a warning, not an error.

A rule may notify or ask approval of a role that is right in the language and wrong for the
organisation: the shipped 新客增长乏力 notified `regional_supervisor`, whom no one held in the
shipped org template, so its messages were dead-lettered at once.  Given the roles the people
of an organisation chart hold, this says where each unheld role is named.  `trimtab check
--org FILE` and the server's org import use it."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .diagnostics import Diagnostic, RuleError

# Roles found from the facts or the chart's relations, not from anyone's role column.
RELATIONAL = frozenset({"subject", "rep", "direct_manager", "hrbp", "attendees"})
ROLE_COLUMNS = ("角色", "role")


def unheld_roles(ruleset, held) -> list[Diagnostic]:
    """A warning at each place a rule names a role that no one in `held` holds."""
    texts = {f.path: f.text.splitlines() for f in ruleset.checked.files}
    warnings = []
    for role, places in sorted(ruleset.checked.role_uses.items()):
        if role in RELATIONAL or role in held:
            continue
        for loc in places:
            lines = texts.get(loc.file, [])
            src = lines[loc.line - 1] if 0 < loc.line <= len(lines) else ""
            warnings.append(Diagnostic("warn.role_unheld", {"name": role}, loc.file, loc.line,
                                       loc.column, src, max(len(src.rstrip()) - loc.column + 1, 1)))
    return sorted(warnings, key=lambda w: (w.file, w.line, w.column))


def roles_in_org_file(path) -> set[str]:
    """The roles held in an organisation chart file: the CSV template (a `角色` or `role`
    column) or JSON ({"people": [{"role": …}]} or a list of people)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise RuleError.of("load.unreadable", path=str(path), detail=type(err).__name__) from None
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(text)
        except ValueError:
            raise RuleError.of("load.unreadable", path=str(path), detail="JSON") from None
        people = doc.get("people", []) if isinstance(doc, dict) else doc
        return {p["role"] for p in people if isinstance(p, dict) and isinstance(p.get("role"), str)}
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip() for h in rows[0]] if rows else []
    column = next((header.index(c) for c in ROLE_COLUMNS if c in header), None)
    if column is None:
        raise RuleError.of("load.org_no_role_column", path=str(path))
    return {r[column].strip() for r in rows[1:] if len(r) > column and r[column].strip()}
