"""Trace records: what an evaluation noted on its way, for the explanation and for coverage.

Each record is a NamedTuple (as cheap as a tuple; the generated code builds them with
tuple.__new__) whose first field is the node id it is about (annotations.py): node ids follow
the source, so records sorted by id tell the story in the file's order.  A record's type
says what it is; nothing tells records apart by their length.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Optional


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


class Silent(NamedTuple):
    """A silence alert's look at the calendar: the periods missing, the last one submitted."""
    node: int
    missing: tuple
    last: Optional[str]

    @property
    def outcome(self) -> Any:
        return False


class Points(NamedTuple):
    """A score line's points (kept in the score's result, made a record for the story)."""
    node: int
    points: Any

    @property
    def outcome(self) -> Any:
        return self.points


Record = Compared | Valued | Missing | Short | Silent | Points
