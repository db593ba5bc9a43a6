"""A webhook on PostgreSQL in two statements: one reads, one writes.

Most submissions — weekly metrics, visits, KR progress — store a fact, its decisions and the
delivery, and nothing else.  On PostgreSQL they run in autocommit as
1. one read: the next fact id, whether the rep is in the organisation chart, the subject's
   facts stored since the history cache last saw it (server/domain/history.py) and the period's
   current decisions (server/domain/period_decisions.py);
2. one write: fact, the decisions' set (superseding the period's head) and delivery in a
   single `WITH … INSERT` statement, atomic as any statement is — no BEGIN and COMMIT.
The transactional path takes more round trips through SQLAlchemy (BEGIN, history, fact, the
period's lock and decisions, decisions, delivery, COMMIT); this one costs the worker and
PostgreSQL much less CPU per webhook (docs/performance.md, measured before and after).

The read comes first, whichever writer stores the plan (server/domain/plan.py): a plan that would
queue notifications (an alert raised, escalated or cleared) or open an approval, and one whose
period was decided between the read and the write, go to the transactional writer (tx_writer.py)
with the fact id and history already read; forms whose history is "requests" (history.py) are
read and written in a transaction.  Both writers store the same rows and answer the same body
(tests/test_pg_intake.py, on SQLite too; the server tests run on SQLite and PostgreSQL).
"""
from __future__ import annotations

import collections
import os
import weakref
from contextlib import contextmanager
from typing import NamedTuple

import psycopg
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from trimtab.server.domain import history, period_decisions
from trimtab.server.domain.filing import Filing, check_org_relation
from trimtab.server.domain.history_check import valid_history
from trimtab.server.storage import pg_prepared
from trimtab.server.storage.models import utcnow
from trimtab.server.storage.pg_prepared import Statement, boolean, integer, json_value, text
from trimtab.server.domain.plan import Plan, answer_text

# The next fact id comes first so the response — which names it, and is stored with the
# delivery — can be written in the same statement as the fact.  The history comes as the
# history cache asks (history.Cache.history): the subject's counter row (fact_counts: live
# facts, the highest id, retractions; kept by a trigger on facts, migration 0015, and by
# retractions) and its facts above the highest id the cache has seen from the period it names
# on (Cache.looking: all of them, newest period first, for a subject it has not seen), at most
# a page.  The index ix_facts_history (form, subject, period, id) finds them from that period
# on: a few entries, where walking the subject's every period grew with its history
# (docs/performance.md, 2026-12-03).
_HISTORY = """
CROSS JOIN (SELECT k.n AS total, k.top AS top, k.retracted AS retracted
            FROM (SELECT 1) AS one LEFT JOIN fact_counts AS k
                 ON k.form = %(form)s AND k.subject = %(subject)s AND %(page)s > 0) AS c
LEFT JOIN LATERAL (
    SELECT id, period, payload FROM facts
    WHERE form = %(form)s AND subject = %(subject)s AND period >= %(since)s
      AND id > %(seen_max)s AND retracted_at IS NULL
    ORDER BY period DESC, id DESC LIMIT %(page)s) AS h ON true
ORDER BY h.period DESC, h.id DESC
"""
# The period's head set, by its unique index (a generic plan made while the table was empty
# walked the form's sets by (form, id)), and whether another set keeps a decision current.
READ = """
SELECT n.next_id, n.known, n.region, n.current, n.kept, c.total, c.top, c.retracted, h.id,
       h.period, h.payload
FROM (SELECT nextval('facts_id_seq'::regclass) AS next_id,
             (%(rep)s::text IS NULL OR p.id IS NOT NULL) AS known, p.region AS region,
             (SELECT json_agg(json_build_array(s.id + e.n - 1, e.d->>'rule', (e.d->>'fired')::boolean,
                                               e.d->'result'->>'level'))
              FROM decision_sets AS s,
                   json_array_elements(s.decisions) WITH ORDINALITY AS e(d, n)
              WHERE s.form = %(form)s AND s.subject = %(subject)s AND s.period = %(period)s
                AND s.superseded_at IS NULL) AS current,
             EXISTS (SELECT FROM decision_sets WHERE form = %(form)s AND subject = %(subject)s
                       AND period = %(period)s AND kept) AS kept
      FROM (SELECT 1) AS one LEFT JOIN people AS p ON p.id = %(rep)s::text) AS n
""" + _HISTORY
# The same history alone: a subject whose facts changed below what the cache had seen.
READ_HISTORY = """
SELECT c.total, c.top, c.retracted, h.id, h.period, h.payload FROM (SELECT 1) AS n
""" + _HISTORY
# A history older than the cache keeps (a late resubmission of an old period), a page at a
# time (history.latest_periods).
PAGE = """
SELECT id, period, payload FROM facts
WHERE form = %(form)s AND subject = %(subject)s AND period < %(period)s
  AND retracted_at IS NULL
ORDER BY period DESC, id DESC LIMIT %(page)s
"""

# The decisions are one set (period_decisions), its id the next block.  The head READ found is
# superseded first, by its id and the period's keys; the insert waits on that count, and fails
# on the unique index of heads if another writer got there first: the webhook then goes the
# transactional way.  The advisory lock queues this write behind a transaction that has read the
# period (period_decisions.take), before anything is written — a retry of this delivery in such
# a transaction would otherwise wait on this row while this statement waits on its lock.
WRITE = """
WITH locked AS MATERIALIZED (
    SELECT """ + period_decisions.LOCK_SQL.format(key="%(period_lock)s") + """ AS done
), superseded AS (
    UPDATE decision_sets SET superseded_at = %(now)s
    WHERE form = %(form)s AND subject = %(subject)s AND period = %(period)s
      AND superseded_at IS NULL AND id = %(head)s AND (SELECT count(*) FROM locked) = 1
    RETURNING id
), fact AS (
    INSERT INTO facts (id, form, subject, period, occurred_on, payload, client, received_at,
                       rep, region, source_record)
    VALUES (%(fact_id)s, %(form)s, %(subject)s, %(period)s, %(occurred_on)s, %(payload)s,
            %(client)s, %(now)s, %(owner_rep)s, %(owner_region)s, %(source_record)s)
), decided AS (
    INSERT INTO decision_sets (id, fact_id, form, subject, period, ruleset_version, created_at,
                               decisions, fired_alerts, kept)
    SELECT nextval('decision_blocks'), %(fact_id)s::integer, %(form)s, %(subject)s, %(period)s,
           %(version)s, %(now)s::timestamp, %(decisions)s::json, %(fired_alerts)s::boolean, false
    WHERE (SELECT count(*) FROM superseded) >= 0 AND %(decided)s::boolean
)
INSERT INTO deliveries (client, delivery_id, body_sha256, status, response, created_at, proof)
SELECT %(client)s, %(delivery_id)s, %(digest)s, 200, %(response)s, %(now)s::timestamp, %(proof)s
WHERE (SELECT count(*) FROM locked) = 1
"""


NEXT_PAGE = """
SELECT id, period, payload FROM facts
WHERE form = %(form)s AND subject = %(subject)s AND period < %(period)s
  AND (period < %(last_period)s OR (period = %(last_period)s AND id < %(last_id)s))
  AND retracted_at IS NULL
ORDER BY period DESC, id DESC LIMIT %(page)s
"""


# Each read's columns, decoded (pg_prepared: the statements go through libpq, not a cursor).
_COUNTS_AND_ROWS = (integer, integer, integer, integer, text, text)   # total, top, retracted; id, period, payload
_READ = Statement(READ, (integer, boolean, text, json_value, boolean) + _COUNTS_AND_ROWS)
_READ_HISTORY = Statement(READ_HISTORY, _COUNTS_AND_ROWS)
_PAGE, _NEXT_PAGE = Statement(PAGE, (integer, text, text)), Statement(NEXT_PAGE, (integer, text, text))
_WRITE = Statement(WRITE)


class Declined(Exception):
    """The period was decided between the read and the write: nothing was stored; the plan
    goes to the transactional writer, which waits for the period's lock."""


class Read(NamedTuple):
    fact_id: int                # the fact's id, taken from its sequence
    history: list               # history.PERIODS, oldest first ([] when not asked for)
    current: dict               # the head's decisions (current): period_decisions.Current by rule
    seen: tuple | None = None   # (schema, counts) the history cache was extended with
    kept: bool = False          # the period holds a current decision outside its head set


class Direct:
    """A kept psycopg connection (Held), in autocommit, for READ and WRITE — sent through
    libpq (pg_prepared): SQLAlchemy's execution layer, and then psycopg's cursor, cost as much
    as the statements."""

    def __init__(self, conn, cache: history.Cache):
        self.conn, self.cache = conn, cache

    def read(self, form: str, facts: dict, filing: Filing, schema) -> Read:
        """The fact's id, the organisation chart's check of its rep (DomainError), the
        subject's history before the period (`schema`: the form's, None when no rule reads
        history) and the period's current decisions."""
        rep, subject = facts.get("rep"), filing.subject
        seen, since = (0, "") if schema is None else self.cache.looking(form, subject, schema)
        rows = pg_prepared.execute(self.conn, _READ, {
            "rep": None if rep is None else str(rep), "form": form, "subject": subject,
            "period": filing.period, "seen_max": seen, "since": since,
            "page": 0 if schema is None else history.HISTORY_PAGE_ROWS})
        fact_id, known, region, current, kept = rows[0][:5]
        if rep is not None:
            check_org_relation((region,) if known else None, rep, filing.owner["region"])
        current = period_decisions.from_rows(current or [])
        if schema is None:
            return Read(fact_id, [], current, None, kept)
        earlier, counts = self._history(form, filing, schema, seen, rows, 5)
        return Read(fact_id, earlier, current, (schema, counts), kept)

    def _history(self, form: str, filing: Filing, schema, seen: int, rows, at: int
                 ) -> tuple[list, tuple]:
        """The history from a read's rows above fact id `seen` (the counter row at `at`, then
        id, period, payload), and the counts the cache was extended with."""
        subject, period = filing.subject, filing.period
        newer = [r[at + 3:] for r in rows if r[at + 3] is not None]
        counts = history.counts(seen, rows[0][at:at + 3], len(newer))
        found = self.cache.history(form, subject, period, schema, counts, newer)
        if found is None and not self.cache.seen(form, subject, schema):
            # The subject's facts changed below what the cache had seen: read it afresh.
            rows = pg_prepared.execute(self.conn, _READ_HISTORY, {
                "form": form, "subject": subject, "seen_max": 0, "since": "",
                "page": history.HISTORY_PAGE_ROWS})
            newer = [r[3:] for r in rows if r[3] is not None]
            counts = history.counts(0, rows[0][:3], len(newer))
            found = self.cache.history(form, subject, period, schema, counts, newer)
        if found is None:                   # older than the cache keeps: page by page
            found = valid_history(schema, history.latest_periods(
                form, subject, period, lambda params: pg_prepared.execute(
                    self.conn, _NEXT_PAGE if "last_id" in params else _PAGE, params)))
        return found, counts

    def write(self, plan: Plan, read: Read) -> tuple[dict, str]:
        """Store the plan's fact, decisions and delivery in one statement → (the answer, its
        JSON text).  Declined when the period was decided since the read; a retried delivery
        fails on its unique key (IntegrityError) and stores nothing."""
        now, f, sub = utcnow(), plan.filing, plan.sub
        values = plan.decision_values()
        if read.kept or not set(read.current) <= {v["rule"] for v in values}:
            raise Declined()            # decisions that stay current: the transactional writer
        body = plan.body(read.fact_id)
        text = answer_text(body)
        try:
            pg_prepared.execute(self.conn, _WRITE, {
                "fact_id": read.fact_id, "form": sub.form, "subject": f.subject,
                "period": f.period, "occurred_on": f.day, "payload": sub.payload,
                "client": sub.client, "now": now, "version": plan.version,
                "source_record": sub.source,
                **{f"owner_{k}": v for k, v in f.owner.items()},
                "delivery_id": sub.delivery_id, "digest": plan.digest, "response": text,
                "proof": sub.proof,
                **_decision_params(sub.form, f.subject, f.period, values, read.current)})
        except psycopg.errors.UniqueViolation as err:
            if err.diag.constraint_name != period_decisions.CURRENT_INDEX:
                raise
            raise Declined() from None
        if read.seen is not None and sub.checked:
            # The facts were decoded from the payload's very bytes by the form's decoder, as
            # the next read would decode them: the history cache keeps them now.
            self.cache.wrote(sub.form, f.subject, *read.seen, read.fact_id, f.period, sub.facts)
        return body, text


class Held:
    """The two-statement path's connections: checked out of the engine's pool once and kept,
    in autocommit, for the webhooks that follow — checking a connection
    out and in and switching autocommit on and off around the two statements cost about
    107,000 instructions a webhook (tests/bench/instr_server.py, 2.67 → 2.57 M).  They stay
    the pool's (counted as checked out, made by its dialect); at most KEEP wait between
    webhooks, any more go back to the pool as any connection does.

    When the pool invalidates a connection (a database restart drops them all) or the engine
    is disposed, the kept ones are closed as they come up, without waiting on the server (one
    that died could hang a reply): a retry after a drop never takes one.  A forked child
    forgets the parent's, never touching them (they are the parent's sockets).

    A kept connection plans its statements once, generically (`plan_cache_mode`, set when it
    is taken from the pool — a dropped one fails there as READ would, and the caller retries —
    and reset if it goes back): with statistics PostgreSQL had planned READ afresh on every
    webhook, the planning costing more than the statement (docs/server.md)."""

    KEEP = 8
    PLANNING = "SET plan_cache_mode = force_generic_plan"

    def __init__(self, engine):
        self.engine, self.generation, self._pid = engine, 0, os.getpid()
        self._free: collections.deque = collections.deque()     # (pooled, psycopg's, generation)
        event.listen(engine, "invalidate", self._stale)         # the pool's, across dispose
        event.listen(engine, "engine_disposed", self._disposed)
        _KEEPERS.add(self)

    def _stale(self, *_args) -> None:
        self.generation += 1

    def _disposed(self, _engine) -> None:
        """The engine's dispose (the app's end, or a dropped database): the kept ones closed,
        as dispose closes the pool's — by whoever disposes: none is in use while kept."""
        self.generation += 1
        if os.getpid() != self._pid:        # storage/db.py's dispose in a forked child
            self._forget()
            return
        while True:
            try:
                pooled = self._free.pop()[0]
            except IndexError:
                return
            pooled.invalidate()

    def connections(self) -> list:
        """The psycopg connections kept now (for tests)."""
        return [held[0].driver_connection for held in self._free]

    def take(self) -> tuple:
        while True:
            try:
                held = self._free.pop()
            except IndexError:
                break
            if held[2] == self.generation:
                return held
            held[0].invalidate()
        generation = self.generation       # before: a drop meanwhile lets this one go too
        pooled = self.engine.raw_connection()
        try:
            conn = pooled.driver_connection
            conn.autocommit = True
            conn.execute(self.PLANNING)     # the first word on it: a dropped one fails here
            return pooled, conn, generation
        except psycopg.Error as err:        # as READ's would: dropped → the caller's retry
            error = _as_sqlalchemy(self.engine, pooled, err)
            if not error.connection_invalidated:
                _let_go(pooled)
            raise error from err
        except BaseException:
            _let_go(pooled)
            raise

    def give_back(self, held: tuple) -> None:
        conn = held[0].driver_connection
        if held[2] != self.generation:      # a drop was seen since it was taken: suspect
            held[0].invalidate()
        elif len(self._free) < self.KEEP and not conn.broken \
                and conn.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            self._free.append(held)
        else:
            _let_go(held[0])

    def _forget(self) -> None:
        """In a forked child: the parent's connections, kept from being closed or reset."""
        _FORKED_AWAY.extend(self._free)
        self._free = collections.deque()
        self.generation, self._pid = self.generation + 1, os.getpid()


def _let_go(pooled) -> None:
    """Back to the pool out of autocommit and with PostgreSQL's own way of planning, as the
    pool hands connections to everyone else; closed for good (invalidated) when it failed."""
    conn = pooled.driver_connection
    try:
        if conn is not None and not conn.closed and not conn.broken and \
                conn.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            conn.execute("RESET plan_cache_mode")
            conn.autocommit = False
            pooled.close()
            return
    except psycopg.Error:
        pass
    pooled.invalidate()


_KEEPERS: "weakref.WeakSet[Held]" = weakref.WeakSet()     # this process's, for fork
_FORKED_AWAY: list = []


def _forget_after_fork() -> None:
    for held in list(_KEEPERS):
        held._forget()


os.register_at_fork(after_in_child=_forget_after_fork)


@contextmanager
def connect(held: Held, cache: history.Cache):
    """A Direct on a kept connection, kept again afterwards.  psycopg's errors are raised as
    SQLAlchemy's, so the caller's handling — replay, retry on a dropped connection, 503 — is
    the same on every path."""
    engine = held.engine
    try:
        taken = held.take()
    except psycopg.Error as err:            # the database is down: raw_connection does not wrap
        raise DBAPIError.instance(None, None, err, psycopg.Error, dialect=engine.dialect) from err
    try:
        yield Direct(taken[1], cache)
    except psycopg.Error as err:
        error = _as_sqlalchemy(engine, taken[0], err)
        if not error.connection_invalidated:    # e.g. a retried delivery's unique key
            held.give_back(taken)
        raise error from err
    except BaseException:
        held.give_back(taken)                   # the caller's error: kept if it is idle
        raise
    held.give_back(taken)


def _decision_params(form: str, subject: str, period: str, values: list[dict],
                     current: dict) -> dict:
    """WRITE's parameters for the decisions: their set (Plan.decision_values, one JSON array),
    and the period's head set (as READ found it) that it supersedes, under the period's lock."""
    # plan.answer_text (msgspec): the same JSON values, without json.dumps' spaces, several times
    # faster; PostgreSQL parses it either way.  READ found the head's decisions only (no kept
    # ones): its id is its first decision's, the lowest.
    return {"decisions": answer_text(values), "decided": bool(values),
            "fired_alerts": period_decisions.fired_alerts(values),
            "period_lock": period_decisions.lock_key(form, subject, period),
            "head": min((c.id for c in current.values()), default=None) if values else None}


def _as_sqlalchemy(engine, pooled, err: psycopg.Error) -> DBAPIError:
    """The error SQLAlchemy would have raised.  A dropped connection is invalidated, with the
    rest of the pool (a database restart drops them all), so the caller's retry connects
    afresh."""
    dropped = engine.dialect.is_disconnect(err, pooled.dbapi_connection, None)
    if dropped:
        pooled.invalidate(err)
        engine.dispose(close=False)         # siblings are reconnected on their next checkout
    return DBAPIError.instance(None, None, err, psycopg.Error, connection_invalidated=dropped,
                               dialect=engine.dialect)
