"""Trace records: what an evaluation noted on its way, for the explanation and for coverage.

Each record is a NamedTuple (as cheap as a tuple; the generated code builds them with
tuple.__new__) whose first field is the node id it is about (annotations.py): node ids follow
the source, so records sorted by id tell the story in the file's order.  A record's type
says what it is; nothing tells records apart by their length.

These four are the records every kind's clauses make.  A kind that notes something of its own
defines its record in its module (a score's `Points`, a silence alert's `Silent`), with a
`render(compiled, text, where, lang)` method that puts it in words, and names it in its hooks'
`trace_records` so a stored decision can be read back (decision.Decision.revive).
"""
from __future__ import annotations

from typing import Any, NamedTuple


class Compared(NamedTuple):
    """A comparison with both sides' values: `pipeline_coverage < 75%`: 70% < 75% holds."""
    node: int
    left: Any
    right: Any
    held: bool

    @property
    def outcome(self) -> Any:
        return self.held


class Valued(NamedTuple):
    """A clause's value: a formula, a streak's verdict, a condition over history."""
    node: int
    value: Any

    @property
    def outcome(self) -> Any:
        return self.value


class Missing(NamedTuple):
    """A period the clause needs had no submission: the condition does not hold."""
    node: int
    period: str

    @property
    def outcome(self) -> Any:
        return False


class Short(NamedTuple):
    """Not enough history for the clause: the condition does not hold."""
    node: int

    @property
    def outcome(self) -> Any:
        return False


GENERIC = (Compared, Valued, Missing, Short)     # the rest are kinds' own (above)
