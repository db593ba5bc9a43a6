"""A webhook reads and supersedes its period's decisions without walking the subject's (or
everyone's) other decisions, whatever plan PostgreSQL picks.

Measured (tests/bench/bench_server.py, 2026-11-29): on statistics gathered while the tables
were small, the generic plan of pg_intake.READ found the period's current decisions through the
subject-only index and filtered every decision the subject ever had (0.10 → 0.30 ms per read
at 100 weeks), and superseding by id alone walked every current decision of every subject
(23 ms per webhook at 14,000).  These statements now name the period's keys and the subject's
index leads to its periods (migration 0020); here each one's generic plan — on the statistics
of an empty table, of a small one and of a full one, with the partial unique index and without
it, as a planner passing it by would — must touch no more decision rows than the period has.
Since migration 0022 a submission's decisions are one row of `decision_sets`: the statements
must touch no more sets than the period has."""
from __future__ import annotations

import datetime as dt
import json
import re

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.dialects import postgresql

from serverkit import migrated_database
from trimtab.server.domain import period_decisions, pg_intake

SUBJECT, FORM, PERIOD = "rep-long", "weekly_metrics", "2026-W20"
RULES = [f"rule {i}" for i in range(7)]
WEEKS = 200                         # the subject's history: 7 decisions a week, 1 in 3 superseded
OTHERS = 20                         # subjects beside it, with as many current decisions each
PERIOD_SETS = 2                     # the period's own: its head set and a superseded one
SET = json.dumps([{"rule": r, "kind": "alert", "fired": False, "result": {"level": "yellow"},
                   "error_code": None} for r in RULES])


STATISTICS = ["of an empty table", "of a small table", "analyzed"]


@pytest.fixture(params=STATISTICS)
def conn(request, tmp_path):
    """The decisions, with the planner's statistics as `request.param` says."""
    url, drop = migrated_database("postgresql", tmp_path)
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        seed(c, request.param)
        c.planned_empty = False
        yield c
    drop()


@pytest.fixture
def planned_empty(tmp_path):
    """The decisions, each statement planned before any was stored — as a kept connection of
    a new deployment plans it on its first webhook, and keeps the plan."""
    url, drop = migrated_database("postgresql", tmp_path)
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        seed(c, "of an empty table")
        c.planned_empty, c.hidden = True, None
        yield c
    drop()


def seed(c, statistics: str) -> None:
    for weeks in (range(1, 2), range(2, WEEKS + 1)):   # the first: one week of everyone
        c.execute("""
            INSERT INTO decision_sets (id, fact_id, form, subject, period, ruleset_version,
                                       created_at, superseded_at, decisions, fired_alerts, kept)
            SELECT nextval('decision_blocks'), NULL, %(form)s, s.subject, 'W' || lpad(w::text, 4, '0'),
                   'v1', now(), CASE WHEN old THEN now() END, %(set)s::json, false, false
            FROM (SELECT %(subject)s AS subject UNION ALL
                  SELECT 'other-' || n FROM generate_series(1, %(others)s) AS n) AS s,
                 unnest(%(weeks)s::int[]) AS w,
                 (VALUES (false), (true)) AS v(old)
            WHERE NOT old OR w %% 3 = 0
            """, {"form": FORM, "subject": SUBJECT, "others": OTHERS, "weeks": list(weeks),
                  "set": SET})
        if statistics == "of a small table" and weeks.start == 1:
            c.execute("ANALYZE decision_sets")      # as autovacuum may, early on
    c.execute("""
        INSERT INTO decision_sets (id, fact_id, form, subject, period, ruleset_version, created_at,
                                   superseded_at, decisions, fired_alerts, kept)
        SELECT nextval('decision_blocks'), NULL, %(form)s, %(subject)s, %(period)s, 'v1', now(),
               CASE WHEN old THEN now() END, %(set)s::json, false, false
        FROM (VALUES (true), (false)) AS v(old)
        """, {"form": FORM, "subject": SUBJECT, "period": PERIOD, "set": SET})
    if statistics == "analyzed":
        c.execute("ANALYZE decision_sets")


def decision_rows_touched(c, query: str, params: dict) -> int:
    """Rows of `decision_sets` that the generic plan of `query` (psycopg's %(name)s style) returned
    or filtered out, executed in a transaction that is rolled back — without the index
    `c.hidden` names, if any (dropped in that transaction), as if the planner passed it by."""
    names: list[str] = []

    def placeholder(m):
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"
    prepared = re.sub(r"%\((\w+)\)s", placeholder, query).replace("%%", "%")
    c.execute("SET plan_cache_mode = force_generic_plan")
    args = sql.SQL(", ").join(sql.Literal(params[n]) for n in names)
    with c.transaction(force_rollback=True):
        if c.hidden:
            c.execute(f"DROP INDEX {c.hidden}")
        c.execute(f"PREPARE under_test AS {prepared}")
        if c.planned_empty:             # the generic plan made on an empty table, then the rows
            c.execute("CREATE TEMP TABLE saved AS SELECT * FROM decision_sets")
            c.execute("TRUNCATE decision_sets CASCADE")
            c.execute(sql.SQL("EXPLAIN EXECUTE under_test ({})").format(args))
            c.execute("INSERT INTO decision_sets SELECT * FROM saved")
        plan = c.execute(sql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE under_test ({})")
                         .format(args)).fetchone()[0]
        c.execute("DEALLOCATE under_test")
    if isinstance(plan, str):
        plan = json.loads(plan)
    touched, stack = 0, [plan[0]["Plan"]]
    while stack:
        node = stack.pop()
        stack.extend(node.get("Plans", []))
        if node.get("Relation Name") == "decision_sets" and "Scan" in node["Node Type"]:
            touched += (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
                        + node.get("Rows Removed by Index Recheck", 0)) * node.get("Actual Loops", 1)
    return touched


def current_ids(c) -> list[int]:
    return [r[0] for r in c.execute(
        "SELECT id FROM decisions WHERE subject = %s AND period = %s AND superseded_at IS NULL",
        (SUBJECT, PERIOD))]


def webhook_read(c) -> int:
    return decision_rows_touched(c, pg_intake.READ, {
        "rep": None, "form": FORM, "subject": SUBJECT, "period": PERIOD, "seen_max": 0, "since": "",
        "page": 0})


def webhook_write(c) -> int:
    params = {"fact_id": 10 ** 9, "form": FORM, "subject": SUBJECT, "period": PERIOD,
              "occurred_on": dt.date(2026, 5, 11), "payload": "{}", "client": "c",
              "now": dt.datetime(2026, 5, 11, 9), "version": "v2", "source_record": None,
              "owner_rep": SUBJECT, "owner_region": None, "delivery_id": "d", "digest": "0" * 64,
              "response": "{}", "proof": None,
              **pg_intake._decision_params(FORM, SUBJECT, PERIOD,
                                           [{"rule": r, "kind": "alert", "fired": False,
                                             "result": {}, "error_code": None} for r in RULES],
                                           {r: period_decisions.Current(i, True, "yellow")
                                            for r, i in zip(RULES, current_ids(c))})}
    return decision_rows_touched(c, pg_intake.WRITE, params)


def transaction_reads(c) -> int:
    """period_decisions.take's two reads (its rewrite goes by a set's key), as SQLAlchemy
    renders them for psycopg."""
    keys = {"in_form": FORM, "of_subject": SUBJECT, "in_period": PERIOD}
    dialect = postgresql.psycopg.dialect()
    read = period_decisions.READ_CURRENT.compile(dialect=dialect)
    holding = period_decisions._HOLDING.compile(dialect=dialect)
    return (decision_rows_touched(c, str(read), {**read.params, **keys})
            + decision_rows_touched(c, str(holding), {**holding.params, **keys}))


@pytest.mark.parametrize("hidden", [None, period_decisions.CURRENT_INDEX])
@pytest.mark.parametrize("statements", [webhook_read, webhook_write, transaction_reads])
def test_a_period_s_statements_touch_its_decisions_only(conn, statements, hidden):
    conn.hidden = hidden
    total = conn.execute("SELECT count(*) FROM decision_sets").fetchone()[0]
    assert total > 100 * PERIOD_SETS        # what a plan walking them would meet
    touched = statements(conn)
    limit = PERIOD_SETS * (2 if statements is transaction_reads else 1)
    assert 0 < touched <= limit, f"{touched} decision sets for a period of {PERIOD_SETS}"


@pytest.mark.parametrize("statements", [webhook_read, webhook_write, transaction_reads])
def test_a_plan_made_before_any_decision_still_reads_the_period_only(planned_empty, statements):
    """Measured (bench_server.py, 2026-12-03): READ's generic plan, made on the empty table
    of a new database, walked the form's sets by (form, id) — PostgreSQL's CPU a webhook grew
    from 1.6 to 9.1 ms over 12,000 webhooks.  Each statement now names the partial index of
    the sets it reads (the head, or those with kept decisions)."""
    touched = statements(planned_empty)
    limit = PERIOD_SETS * (2 if statements is transaction_reads else 1)
    assert 0 < touched <= limit, f"{touched} decision sets for a period of {PERIOD_SETS}"
