"""One current decision per rule, form, subject and period.

A resubmission of a period (same form, subject and period key: filing.period_key) is decided
again; its decisions replace the period's current ones, which stay in the table as history
with `superseded_at` set.  A partial unique index (models.Decision) holds every key to one
current decision, whoever writes.

An alert notifies only when its period's outcome changes (`change`): raised (not fired →
fired), escalated (fired at a higher level than before), or cleared (fired → not fired, and
only if the rule says `notify … when cleared`).  The same outcome again notifies no one.

Writers of one period queue on a PostgreSQL advisory lock (`LOCK_SQL`, taken by the
transactional path before it reads the current decisions and by the two-statement path inside
its write), so what a writer read is what it replaces; SQLite has one writer at a time.
"""
from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm import Session

from trimtab.server.storage.models import Decision

LEVELS = {"yellow": 1, "orange": 2, "red": 3}      # escalation order; other names rank 0
CURRENT_INDEX = "uq_decisions_current"
# (class, key): the first number keeps these locks apart from any other advisory lock.
LOCK_SQL = "pg_advisory_xact_lock(1210, hashtext({key}))"

_D = Decision.__table__.c
# Each statement names the period's keys, so any index the planner picks (its statistics may be
# those of a small table) finds that period's rows only, never every current decision.
# (Parameter names unlike the columns': an UPDATE reserves those for its SET clause.)
_PERIOD = ((_D.form == bindparam("in_form")) & (_D.subject == bindparam("of_subject"))
           & (_D.period == bindparam("in_period")) & _D.superseded_at.is_(None))
READ_CURRENT = select(_D.id, _D.rule, _D.fired, _D.result["level"].as_string()).where(_PERIOD)
SUPERSEDE = (update(Decision.__table__)
             .where(_PERIOD, _D.id.in_(bindparam("ids", expanding=True)))
             .values(superseded_at=bindparam("now")))
LOCK = text("SELECT " + LOCK_SQL.format(key=":key"))


class Current(NamedTuple):
    """A period's current decision of one rule, as far as notifying goes."""
    id: int
    fired: bool
    level: str | None


def lock_key(form: str, subject: str, period: str) -> str:
    return f"{form}\x1f{subject}\x1f{period}"


def lock(session: Session, form: str, subject: str, period: str) -> None:
    """Wait for the period's other writers, until the caller's transaction ends (PostgreSQL;
    SQLite has one writer at a time already).  Taken again, it is held already."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(LOCK, {"key": lock_key(form, subject, period)})


def from_rows(rows) -> dict[str, Current]:
    """Rows (id, rule, fired, level) → rule → Current."""
    return {rule: Current(i, bool(fired), level) for i, rule, fired, level in rows}


def take(session: Session, form: str, subject: str, period: str, rules, now: dt.datetime
         ) -> dict[str, Current]:
    """In the caller's transaction: wait for the period's other writers (PostgreSQL), read its
    current decisions and supersede those of `rules` (about to be decided again).  Returns
    what was current, by rule — every rule's, for `change`."""
    conn = session.connection()
    lock(session, form, subject, period)
    keys = {"in_form": form, "of_subject": subject, "in_period": period}
    current = from_rows(conn.execute(READ_CURRENT, keys).all())
    ids = superseded_ids(current, rules)
    if ids:
        conn.execute(SUPERSEDE, {**keys, "ids": ids, "now": now})
    return current


def superseded_ids(current: dict[str, Current], rules) -> list[int]:
    """The current decisions that the rules decided now replace."""
    return sorted(current[r].id for r in set(rules) if r in current)


def change(prev: Current | None, decision) -> str | None:
    """What the decision changes about its period's alert: "raised", "escalated", "cleared"
    (when the rule asks to hear it) or None — nothing to tell anyone."""
    if decision.kind != "alert" or decision.error is not None:
        return None
    rule = decision.compiled.rule
    if decision.value:
        if prev is None or not prev.fired:
            return "raised"
        return "escalated" if LEVELS.get(rule.level, 0) > LEVELS.get(prev.level, 0) else None
    if prev is not None and prev.fired and rule.notify_cleared:
        return "cleared"
    return None


def changes(decisions, current: dict[str, Current]) -> list[tuple[object, str]]:
    """(decision, change) for each decision that notifies."""
    found = []
    for d in decisions:
        what = change(current.get(d.rule), d)
        if what is not None:
            found.append((d, what))
    return found
