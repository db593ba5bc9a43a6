"""History read from the database is validated as facts are (issue 13, part 5).

A stored payload that no longer fits its form (written before a schema tightened, imported,
or edited by hand) is left out of the history the rules see: its period becomes a gap, and
one log line says which entry and which JSON path.  The history cache (server/domain/history.py)
checks each entry once, when it is read from the database, against the schema it holds.
"""
from __future__ import annotations

import logging

from trimtab.server.core.errors import DomainError
from trimtab.server.domain.validation import validate

log = logging.getLogger("trimtab.history")


def valid_history(schema, entries: list) -> list:
    """The entries of `entries` that pass `schema` (a dsl FormSchema), in order."""
    return [entry for entry in entries if valid(schema, entry)]


def valid(schema, entry) -> bool:
    """Does `entry` fit `schema`?  A line in the log when it does not."""
    try:
        validate(schema, entry)
        return True
    except DomainError as err:
        day = entry.get(schema.date_field) if isinstance(entry, dict) and schema.date_field else None
        log.warning("history of %s: a stored entry%s does not fit the form and is left out "
                    "(%s: %s)", schema.name, f" of {str(day)[:40]}" if day else "", err.path,
                    str(err.message)[:200])
        return False
