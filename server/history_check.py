"""History read from the database is validated as facts are (issue 13, part 5).

A stored payload that no longer fits its form (written before a schema tightened, imported,
or edited by hand) is left out of the history the rules see: its period becomes a gap, and
one log line says which entry and which JSON path.  Stored facts never change, so each
parsed entry (service's cache hands out the same dict) is checked once per process.
"""
from __future__ import annotations

import logging

from .errors import DomainError
from .validation import validate

log = logging.getLogger("trimtab.history")

_CHECKED: dict[int, tuple[dict, bool]] = {}     # id(entry) -> (entry, valid): holds the entry,
_CHECKED_MAX = 50_000                           # so an id is never reused while it is here


def valid_history(schema, entries: list) -> list:
    """The entries of `entries` that pass `schema` (a dsl FormSchema), in order."""
    out = []
    for entry in entries:
        found = _CHECKED.get(id(entry))
        if found is None or found[0] is not entry:
            found = (entry, _valid(schema, entry))
            if len(_CHECKED) >= _CHECKED_MAX:
                _CHECKED.clear()
            _CHECKED[id(entry)] = found
        if found[1]:
            out.append(entry)
    return out


def _valid(schema, entry) -> bool:
    try:
        validate(schema, entry)
        return True
    except DomainError as err:
        day = entry.get(schema.date_field) if isinstance(entry, dict) and schema.date_field else None
        log.warning("history of %s: a stored entry%s does not fit the form and is left out "
                    "(%s: %s)", schema.name, f" of {str(day)[:40]}" if day else "", err.path,
                    str(err.message)[:200])
        return False
