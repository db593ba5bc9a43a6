"""The webhook's connections on PostgreSQL (server/domain/pg_intake.Held): kept between webhooks
in autocommit, never handed to anyone else in that state, let go when the pool sees a dropped
connection, closed when the engine is disposed, and never touched by a forked child."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from serverkit import week
from trimtab.server.domain import pg_intake

pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")


def backend(conn) -> int:
    return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_a_webhooks_connection_is_kept_for_the_next_and_lent_to_no_one(app, hooks):
    held, pool = app.extensions["trimtab.pg_direct"], app.extensions["trimtab.engine"].pool
    assert hooks.post("weekly_metrics", week(1, 5, 0.9)).status_code == 200
    [kept] = held.connections()
    pid = backend(kept)
    assert kept.autocommit and pool.checkedout() == 1
    for n in (2, 3):
        assert hooks.post("weekly_metrics", week(n, 5, 0.9)).status_code == 200
    assert [backend(c) for c in held.connections()] == [pid]       # the same one, kept
    # Everyone else's connections come from the pool, out of autocommit, never the kept one.
    with app.extensions["trimtab.sessions"]() as session:
        conn = session.connection().connection.driver_connection
        assert not conn.autocommit and backend(conn) != pid
        assert session.execute(text("SELECT 1")).scalar() == 1


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_a_connection_the_pool_finds_dropped_lets_the_kept_ones_go(app, hooks):
    held, engine = app.extensions["trimtab.pg_direct"], app.extensions["trimtab.engine"]
    assert hooks.post("weekly_metrics", week(1, 5, 0.9)).status_code == 200
    [kept] = held.connections()
    pid = backend(kept)
    other = engine.raw_connection()          # as an ORM session meeting a dropped connection
    other.invalidate()
    assert hooks.post("weekly_metrics", week(2, 5, 0.9)).status_code == 200
    [now] = held.connections()
    assert backend(now) != pid
    assert kept.closed          # suspect since the drop: closed, never handed to anyone else


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_dispose_closes_the_kept_connections(app, hooks):
    held = app.extensions["trimtab.pg_direct"]
    assert hooks.post("weekly_metrics", week(1, 5, 0.9)).status_code == 200
    [kept] = held.connections()
    app.extensions["trimtab.engine"].dispose()
    assert kept.closed and held.connections() == []
    assert hooks.post("weekly_metrics", week(2, 5, 0.9)).status_code == 200   # a new one


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_a_connection_left_in_a_transaction_is_not_kept(app, hooks):
    held = app.extensions["trimtab.pg_direct"]
    with pytest.raises(RuntimeError):
        with pg_intake.connect(held, app.extensions["trimtab.history"]) as direct:
            direct.conn.execute("BEGIN")
            raise RuntimeError("the caller's error, mid-transaction")
    assert held.connections() == []
    assert hooks.post("weekly_metrics", week(1, 5, 0.9)).status_code == 200


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_a_forked_child_never_touches_the_parents_kept_connection(app, hooks):
    held = app.extensions["trimtab.pg_direct"]
    assert hooks.post("weekly_metrics", week(1, 5, 0.9)).status_code == 200
    [kept] = held.connections()
    pid = backend(kept)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:                                  # as gunicorn's and RQ's children end
        ok = held.connections() == [] and held._free == type(held._free)()
        app.extensions["trimtab.engine"].dispose()
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.waitpid(child, 0)
    assert backend(kept) == pid and not kept.closed      # still the parent's, working
    assert hooks.post("weekly_metrics", week(2, 5, 0.9)).status_code == 200
    assert [backend(c) for c in held.connections()] == [pid]


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_a_kept_connection_plans_the_webhooks_statements_once_with_statistics_too(app, hooks):
    """A kept connection plans READ and WRITE generically from their first run, before and
    after the tables have statistics.  PostgreSQL's own way: five custom plans first (here
    READ and WRITE 11 generic and 5 custom), and at 100 weeks with statistics a custom plan of
    READ on every webhook (its estimate for `id > seen` favours one), the planning costing more
    than the statement (docs/performance.md, 2026-12-01)."""
    from trimtab.server.storage.pg_prepared import Statement
    held = app.extensions["trimtab.pg_direct"]
    for n in range(1, 5):
        assert hooks.post("weekly_metrics", week(n, 5, 0.9)).status_code == 200
    [kept] = held.connections()
    assert kept.execute("SHOW plan_cache_mode").fetchone()[0] == "force_generic_plan"
    kept.execute("ANALYZE")                             # as autovacuum would
    for n in range(5, 17):
        assert hooks.post("weekly_metrics", week(n, 5, 0.9)).status_code == 200
    plans = {}
    for statement, generic, custom in kept.execute(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"):
        for name, sql in (("READ", pg_intake.READ), ("WRITE", pg_intake.WRITE)):
            if statement == Statement(sql).sql.decode():
                plans[name] = (generic, custom)
    assert plans == {"READ": (16, 0), "WRITE": (16, 0)}


def planning(conn) -> tuple[int, bool]:
    """(backend pid, whether plan_cache_mode is as the server would set it for anyone)."""
    return conn.execute("SELECT pg_backend_pid(), setting = reset_val FROM pg_settings "
                        "WHERE name = 'plan_cache_mode'").fetchone()


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_a_connection_beyond_those_kept_goes_back_to_the_pool_planning_as_everyones(app, hooks):
    held, engine = app.extensions["trimtab.pg_direct"], app.extensions["trimtab.engine"]
    assert hooks.post("weekly_metrics", week(1, 5, 0.9)).status_code == 200
    [kept] = held.connections()
    pid, as_anyones = planning(kept)
    assert not as_anyones                               # generic plans while kept
    held.KEEP = 0                                       # the next one given back goes back
    assert hooks.post("weekly_metrics", week(2, 5, 0.9)).status_code == 200
    assert held.connections() == []
    pooled = [engine.raw_connection() for _ in range(engine.pool.checkedin())]
    try:
        found = dict(planning(c.driver_connection) for c in pooled)
    finally:
        for c in pooled:
            c.close()
    assert found.get(pid) is True                       # the same backend, reset


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_a_dropped_connection_the_pool_hands_over_is_retried_not_refused(app, hooks, database):
    """The pool does not ping what it hands over, so after a database restart its first word
    on a connection — the planning setting — meets the drop: the webhook is retried on a fresh
    connection, as when READ meets it."""
    import psycopg
    from serverkit import PG_ADMIN
    held = app.extensions["trimtab.pg_direct"]
    assert hooks.post("weekly_metrics", week(1, 5, 0.9)).status_code == 200
    app.extensions["trimtab.engine"].dispose()          # nothing kept: the next is the pool's
    with app.extensions["trimtab.sessions"]() as session:   # one in the pool, then dropped
        assert session.execute(text("SELECT 1")).scalar() == 1
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (database.rsplit("/", 1)[1],))
    r = hooks.post("weekly_metrics", week(2, 5, 0.9))
    assert r.status_code == 200, r.get_json()
    assert len(held.connections()) == 1
