"""Every stored decision names a stored fact (or none: a silence), and facts are never deleted.

On SQLite a foreign key keeps the first; on PostgreSQL migration 0022's checks do (one query a
statement over its new decisions, not a key checked row by row), and the database refuses a
fact's DELETE, TRUNCATE or change of id — the rule retraction already follows.  Whatever keeps
them, what is stored after a refused statement is what was stored before it."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from trimtab.server.storage.db import make_engine

NOW = dt.datetime(2026, 5, 11, 9)


def seeded(url: str):
    """An engine on `url` (as the server makes it: SQLite with its foreign keys on) whose
    database holds facts 1 and 2, disposed after the test."""
    engine = make_engine(url)
    with engine.begin() as conn:
        for fact_id in (1, 2):
            conn.execute(text(
                "INSERT INTO facts (id, form, subject, period, occurred_on, payload, client, received_at) "
                "VALUES (:id, 'weekly_metrics', 'rep-1', :period, '2026-05-11', '{}', 'c', :now)"),
                {"id": fact_id, "period": f"2026-W{18 + fact_id}", "now": NOW})
    yield engine
    engine.dispose()


@pytest.fixture
def engine(database):
    yield from seeded(database)


def decision(fact_id, rule="rule"):
    return {"fact_id": fact_id, "rule": rule, "now": NOW}


INSERT = text("INSERT INTO decisions (fact_id, form, subject, period, rule, kind, fired, result, "
              "ruleset_version, created_at) VALUES (:fact_id, 'weekly_metrics', 'rep-1', '2026-W19', "
              ":rule, 'alert', false, '{}', 'v1', :now)")


def stored(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(text("SELECT fact_id, rule FROM decisions ORDER BY id")).all()


def test_decisions_of_stored_facts_and_silences_are_stored(engine):
    with engine.begin() as conn:
        conn.execute(INSERT, [decision(1, "a"), decision(2, "b"), decision(None, "silence")])
    assert stored(engine) == [(1, "a"), (2, "b"), (None, "silence")]


@pytest.mark.parametrize("rows", [
    [decision(10 ** 9)],
    [decision(1, "a"), decision(10 ** 9, "b"), decision(2, "c")],     # one bad row among good ones
], ids=["alone", "among-others"])
def test_a_decision_naming_no_stored_fact_is_refused_with_its_statement(engine, rows):
    with pytest.raises(IntegrityError) as refused:
        with engine.begin() as conn:
            conn.execute(INSERT, rows)
    if engine.dialect.name == "postgresql":
        assert refused.value.orig.sqlstate == "23503"             # foreign_key_violation, as the key said
        assert "fact 1000000000" in str(refused.value.orig)
    assert stored(engine) == []


def test_in_one_statement_of_many_rows_too(engine):
    """As the webhook writes them: several decisions in one INSERT … SELECT."""
    many = text("INSERT INTO decisions (fact_id, form, subject, period, rule, kind, fired, result, "
                "ruleset_version, created_at) SELECT f, 'weekly_metrics', 'rep-1', '2026-W19', 'r' || f, "
                "'alert', false, '{}', 'v1', :now FROM (SELECT 1 AS f UNION ALL SELECT 2 UNION ALL SELECT 3) AS t")
    with pytest.raises(IntegrityError):
        with engine.begin() as conn:
            conn.execute(many, {"now": NOW})
    assert stored(engine) == []


def test_a_decision_s_fact_changed_to_one_not_stored_is_refused(engine):
    with engine.begin() as conn:
        conn.execute(INSERT, [decision(1)])
        conn.execute(text("UPDATE decisions SET fact_id = 2"))              # a stored one: fine
    with pytest.raises(IntegrityError):
        with engine.begin() as conn:
            conn.execute(text("UPDATE decisions SET fact_id = 3"))
    assert stored(engine) == [(2, "rule")]


def test_a_fact_that_decisions_name_cannot_be_deleted(engine):
    with engine.begin() as conn:
        conn.execute(INSERT, [decision(1)])
    with pytest.raises(IntegrityError):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM facts WHERE id = 1"))
    assert stored(engine) == [(1, "rule")]


@pytest.fixture
def pg_engine(tmp_path):
    """As `engine`, on PostgreSQL: what SQLite does not have, tested once."""
    from serverkit import migrated_database
    url, cleanup = migrated_database("postgresql", tmp_path)
    yield from seeded(url)
    cleanup()


@pytest.mark.parametrize("statement", ["DELETE FROM facts WHERE id = 2", "TRUNCATE facts CASCADE",
                                       "UPDATE facts SET id = 7 WHERE id = 2"])
def test_on_postgresql_no_fact_is_deleted_or_renumbered(pg_engine, statement):
    with pytest.raises(IntegrityError) as refused:
        with pg_engine.begin() as conn:
            conn.execute(text(statement))
    assert refused.value.orig.sqlstate == "23001"                 # restrict_violation
    assert "retracted" in str(refused.value.orig)
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM facts ORDER BY id")).scalars().all() == [1, 2]


def test_the_check_looks_facts_up_by_their_key_however_many_there_are(pg_engine):
    """A webhook's seven decisions name one fact: the check finds it by its key, never walking
    the facts — also on a connection that planned the check while the facts were few (planned
    as one anti-join then, the plan it kept hashed every fact: PostgreSQL's CPU a webhook went
    0.9 → 4.4 ms over 12,000 webhooks)."""
    many = text("INSERT INTO decisions (fact_id, form, subject, period, rule, kind, fired, result, "
                "ruleset_version, created_at) SELECT :fact, 'weekly_metrics', 'rep-0', :period, 'r' || n, "
                "'alert', false, '{}', 'v1', :now FROM generate_series(1, 7) AS n")
    with pg_engine.connect() as conn:                    # one connection: one plan cache
        for k in range(10):                              # planned, and kept, while facts are few
            conn.execute(many, {"fact": 1 + k % 2, "period": f"early {k}", "now": NOW})
            conn.commit()
        conn.execute(text(
            "INSERT INTO facts (id, form, subject, period, occurred_on, payload, client, received_at) "
            "SELECT n, 'weekly_metrics', 'rep-' || n % 100, 'W' || n, '2026-05-11', '{}', 'c', :now "
            "FROM generate_series(3, 30000) AS n"), {"now": NOW})
        conn.commit()
        conn.execute(text("ANALYZE facts"))
        conn.commit()
        conn.execute(many, {"fact": 29999, "period": "late", "now": NOW})
        scans = conn.execute(text("SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables "
                                  "WHERE relname = 'facts'")).one()
        conn.commit()
    assert scans.seq_scan == 0 and scans.idx_scan >= 1, scans
