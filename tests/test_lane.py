"""The two-statement path's own connections (server/domain/pg_intake.Lane): kept in autocommit
between webhooks, never more than AT_ONCE in use, closed when the engine is disposed or when one
is left in a transaction, and a forked child neither uses nor closes its parent's."""
from __future__ import annotations

import os

import pytest
from sqlalchemy.exc import OperationalError

from serverkit import running_app, week


@pytest.fixture
def lane(tmp_path):
    with running_app("postgresql", tmp_path) as (app, hooks):
        assert hooks.post("weekly_metrics", week(1, 5, 0.9)).status_code == 200
        yield app.extensions["trimtab.pg_direct"], app, hooks


def test_one_connection_serves_webhook_after_webhook_in_autocommit(lane):
    lane, app, hooks = lane
    first = lane.free
    assert len(first) == 1 and first[0].autocommit
    for n in range(2, 6):
        assert hooks.post("weekly_metrics", week(n, 5, 0.9)).status_code == 200
    assert lane.free == first


def test_disposing_the_engine_closes_the_free_connections(lane):
    lane, app, _hooks = lane
    (conn,) = lane.free
    app.extensions["trimtab.engine"].dispose()
    assert conn.closed and lane.free == ()


def test_a_pool_connection_found_dropped_closes_the_free_ones(lane):
    """Backends terminated (or a restart): the pool retires its older connections, and the
    lane's would fail the next webhook's first statement and its retry alike."""
    lane, app, hooks = lane
    (conn,) = lane.free
    with app.extensions["trimtab.engine"].connect() as pooled:
        pooled.invalidate()
    assert conn.closed and lane.free == ()
    assert hooks.post("weekly_metrics", week(2, 5, 0.9)).status_code == 200
    assert len(lane.free) == 1


def test_a_connection_left_in_a_transaction_is_closed_not_kept(lane):
    lane, _app, _hooks = lane
    conn, cursor, generation = lane.take()
    conn.autocommit = False
    cursor.execute("SELECT 1")               # opens a transaction
    lane.give_back(conn, cursor, generation)
    assert conn.closed and lane.free == ()


def test_no_more_than_at_once_are_in_use(lane, monkeypatch):
    lane, app, _hooks = lane
    monkeypatch.setattr(lane, "AT_ONCE", 2)
    monkeypatch.setattr(app.extensions["trimtab.engine"].pool, "_timeout", 0.2)
    taken = [lane.take(), lane.take()]
    with pytest.raises(OperationalError):       # the app answers 503, as for a database down
        lane.take()
    lane.give_back(*taken.pop())
    taken.append(lane.take())                   # room again
    for t in taken:
        lane.give_back(*t)
    assert len(lane.free) == 2


def test_a_forked_child_neither_uses_nor_closes_its_parents_connection(lane):
    lane, _app, _hooks = lane
    (parents,) = lane.free
    pid = os.fork()
    if pid == 0:                                # the child: exits with what it saw
        code = 1
        try:
            conn, cursor, generation = lane.take()
            code = 0 if conn is not parents and cursor.execute("SELECT 1").fetchone() == (1,) else 2
            lane.give_back(conn, cursor, generation)
        finally:
            os._exit(code)
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not parents.closed and parents.execute("SELECT 1").fetchone() == (1,)
