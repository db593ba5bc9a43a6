"""One current decision per rule, form, subject and period.

A resubmission of a period (same form, subject and period key: filing.period_key) is decided
again; its decisions replace the period's current ones, which stay as history with
`superseded_at` set.  A plan's decisions are stored as one row, a set (models.DecisionSet),
each decision's id the set's id plus its place; a partial unique index holds each period to
one head set, whoever writes.  A rule the new set does not decide stays current: its element
in the superseded set is `kept` (`take`).

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

from sqlalchemy import bindparam, func, insert, select, text, true, union_all, update
from sqlalchemy.orm import Session

from trimtab.server.storage.models import Decision, DecisionSet

LEVELS = {"yellow": 1, "orange": 2, "red": 3}      # escalation order; other names rank 0
CURRENT_INDEX = "uq_decision_sets_head"
# A set's decisions take ids set.id … set.id + BLOCK - 1: sets are BLOCK apart (PostgreSQL's
# `decision_blocks` increments by it), so a form has at most BLOCK rules (dsl/limits.py).
BLOCK = 256
# (class, key): the first number keeps these locks apart from any other advisory lock.
LOCK_SQL = "pg_advisory_xact_lock(1210, hashtext({key}))"

_D = Decision.__table__.c
_S = DecisionSet.__table__.c
# Each statement names the period's keys, so any index the planner picks (its statistics may be
# those of a small table) finds that period's rows only, never every current decision; and it
# reads the head and the sets with kept decisions apart, each arm by its partial index (a
# generic plan made on an empty table otherwise walked the form's sets).
# (Parameter names unlike the columns': an UPDATE reserves those for its SET clause.)
_KEYS = ((_D.form == bindparam("in_form")) & (_D.subject == bindparam("of_subject"))
         & (_D.period == bindparam("in_period")))
_CURRENT = select(_D.id, _D.rule, _D.fired, _D.result["level"].as_string())
READ_CURRENT = union_all(_CURRENT.where(_KEYS, _D.set_superseded_at.is_(None)),
                         _CURRENT.where(_KEYS, _D.set_kept == true(), _D.superseded_at.is_(None)))
_SET_KEYS = ((_S.form == bindparam("in_form")) & (_S.subject == bindparam("of_subject"))
             & (_S.period == bindparam("in_period")))
# The period's sets that hold a current decision: its head, and any with a kept one.
_SET = select(_S.id, _S.superseded_at, _S.decisions)
_HOLDING = union_all(_SET.where(_SET_KEYS, _S.superseded_at.is_(None)),
                     _SET.where(_SET_KEYS, _S.kept == true()))
_REWRITE = (update(DecisionSet.__table__).where(_S.id == bindparam("set_id"))
            .values(superseded_at=bindparam("superseded"), decisions=bindparam("elements"),
                    kept=bindparam("still_kept")))
_NEXT_BLOCK = {"postgresql": text("SELECT nextval('decision_blocks')")}
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


def take(session: Session, form: str, subject: str, period: str, rules, now: dt.datetime,
         new_head: bool = False) -> dict[str, Current]:
    """In the caller's transaction: wait for the period's other writers (PostgreSQL), read its
    current decisions and supersede those of `rules` (about to be decided again).  Returns
    what was current, by rule — every rule's, for `change`.  `new_head`: the caller stores the
    period's new set next (`store`), so the head steps aside whatever its rules."""
    conn = session.connection()
    lock(session, form, subject, period)
    keys = {"in_form": form, "of_subject": subject, "in_period": period}
    current = from_rows(conn.execute(READ_CURRENT, keys).all())
    rules = set(rules) & set(current)
    if rules or (new_head and current):
        for set_id, superseded, elements in conn.execute(_HOLDING, keys).all():
            _supersede_in(conn, set_id, superseded, elements, rules, now)
    return current


def _supersede_in(conn, set_id: int, superseded, elements: list, rules: set, now: dt.datetime) -> None:
    """Supersede the decisions of `rules` in one set: the head as a whole, its other current
    decisions kept; in a superseded set, its kept decisions of `rules` each with its time."""
    elements = [dict(e) for e in elements]
    if superseded is None:                      # the head
        superseded = now
        for e in elements:
            if e["rule"] not in rules:
                e["kept"] = True
    elif any(e.get("kept") and e["rule"] in rules for e in elements):
        for e in elements:
            if e.get("kept") and e["rule"] in rules:
                del e["kept"]
                e["superseded_at"] = stamp(now)
    else:
        return
    conn.execute(_REWRITE, {"set_id": set_id, "superseded": superseded, "elements": elements,
                            "still_kept": any(e.get("kept") for e in elements)})


def find(session: Session, decision_id: int):
    """The stored decision `decision_id` (models.Decision) or None: its set first — the one
    with the highest id not above it, by the key — then its place there."""
    in_set = select(_S.id).where(_S.id <= decision_id).order_by(_S.id.desc()).limit(1).scalar_subquery()
    return session.scalars(select(Decision).where(Decision.set_id == in_set,
                                                  Decision.id == decision_id)).first()


def from_id(after: int):
    """A condition that starts a walk in id order after `after` at its set (by the key): with
    ORDER BY set_id, id, a page reads the sets from there on only."""
    start = select(func.coalesce(func.max(_S.id), 0)).where(_S.id <= after).scalar_subquery()
    return (Decision.set_id >= start) & (Decision.id > after)


def in_id_order(engine) -> tuple:
    """ORDER BY for decisions in id order that a page can stop early in.  PostgreSQL sorts each
    set's few rows as it walks the sets by key; SQLite would sort every row past the cursor
    first, so there the sets' order alone, each set's rows coming in its array's order."""
    return (Decision.set_id,) if engine.dialect.name == "sqlite" else (Decision.set_id, Decision.id)


def current_arms(query):
    """`query` over decisions (the view), current ones only, as two arms of a UNION ALL that
    each go by a partial index: the periods' heads, and the sets with kept decisions."""
    return union_all(query.where(_D.set_superseded_at.is_(None)),
                     query.where(_D.set_kept == true(), _D.superseded_at.is_(None)))


def fired_alerts(values: list[dict]) -> bool:
    """Whether a set holds a fired alert (its column: the reports' partial index)."""
    return any(v["kind"] == "alert" and v["fired"] for v in values)


def stamp(when: dt.datetime) -> str:
    """A time inside a set's JSON, as the view gives it back (SQLite's text form)."""
    return when.strftime("%Y-%m-%d %H:%M:%S.%f")


def store(session: Session, fact_id: int | None, form: str, subject: str, period: str,
          version: str, now: dt.datetime, values: list[dict]) -> int:
    """Insert a plan's decisions (plan.Plan.decision_values) as the period's head set → the
    set's id, which is its first decision's (the rest follow in order).  The period's head was
    superseded first (`take`)."""
    conn = session.connection()
    row = {"fact_id": fact_id, "form": form, "subject": subject, "period": period,
           "ruleset_version": version, "created_at": now, "superseded_at": None,
           "decisions": values, "kept": False,
           "fired_alerts": fired_alerts(values)}
    block = _NEXT_BLOCK.get(conn.dialect.name)
    if block is not None:
        set_id = conn.execute(block).scalar_one()
        conn.execute(insert(DecisionSet.__table__), {"id": set_id, **row})
        return set_id
    # SQLite, one writer at a time: the next block past the highest set, in the insert itself
    columns = list(row)
    made = conn.execute(insert(DecisionSet.__table__).from_select(
        ["id", *columns],
        select(func.coalesce(func.max(_S.id), 0) + BLOCK,
               *[bindparam("v_" + c, type_=_S[c].type) for c in columns])),
        {"v_" + c: v for c, v in row.items()})
    return made.lastrowid


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
