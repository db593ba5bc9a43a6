"""Statements through libpq (server/storage/pg_prepared.py): parameters as PostgreSQL reads
them, columns decoded, prepared once per connection and again when the server forgot them,
and psycopg's own errors — with their diagnostics — when a statement fails."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
import pytest

from serverkit import PG_ADMIN
from trimtab.server.storage import pg_prepared
from trimtab.server.storage.pg_prepared import Statement, boolean, integer, json_value, text

ECHO = Statement("SELECT %(s)s::text, %(b)s::boolean, %(i)s::bigint, %(d)s::numeric, "
                 "%(t)s::timestamp, %(day)s::date, %(ids)s::bigint[], %(none)s::text, %(s)s::text",
                 (text, boolean, integer, text, text, text, text, text, text))


@pytest.fixture
def conn():
    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        yield c


def runs(conn, statement: Statement) -> int:
    """How often the server has run `statement` as a prepared statement on `conn`."""
    found = conn.execute("SELECT generic_plans + custom_plans FROM pg_prepared_statements "
                         "WHERE name = %s", (statement.name.decode(),)).fetchall()
    return found[0][0] if found else 0


def test_parameters_arrive_as_the_types_the_statement_gives_them(conn):
    params = {"s": "新客 'quoted' \\ $1 %(x)s", "b": False, "i": -(2 ** 62), "d": Decimal("0.150"),
              "t": dt.datetime(2026, 11, 30, 8, 5, 1, 250), "day": dt.date(2026, 2, 28),
              "ids": [3, -1, 2 ** 40], "none": None}
    [row] = pg_prepared.execute(conn, ECHO, params)
    assert row == (params["s"], False, -(2 ** 62), "0.150", "2026-11-30 08:05:01.00025",
                   "2026-02-28", "{3,-1,1099511627776}", None, params["s"])
    # a name used twice is one parameter
    assert ECHO.params == ("s", "b", "i", "d", "t", "day", "ids", "none")
    # psycopg's placeholders: %% is a literal %
    like = Statement("SELECT %(s)s::text LIKE '50%%', '%%(s)s', %(s)s::text", (boolean, text, text))
    assert like.sql == b"SELECT $1::text LIKE '50%', '%(s)s', $1::text"
    assert pg_prepared.execute(conn, like, {"s": "50 %"}) == [(True, "%(s)s", "50 %")]


def test_a_value_with_no_text_form_is_refused_before_anything_is_sent(conn):
    for wrong in (dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), 1.5, ["a"], {"a": 1}, b"x"):
        with pytest.raises(TypeError):
            pg_prepared.execute(conn, ECHO, {**dict.fromkeys(ECHO.params), "s": wrong})
    assert runs(conn, ECHO) == 0


def test_columns_are_decoded_and_null_is_none(conn):
    statement = Statement("SELECT 1::bigint, NULL::bigint, true, NULL::boolean, "
                          "'[1, {\"$d\": \"0.5\"}]'::json, NULL::json, 'ü'::text "
                          "FROM generate_series(1, %(n)s::int)",
                          (integer, integer, boolean, boolean, json_value, json_value, text))
    assert pg_prepared.execute(conn, statement, {"n": 2}) == \
        [(1, None, True, None, [1, {"$d": "0.5"}], None, "ü")] * 2
    assert pg_prepared.execute(conn, statement, {"n": 0}) == []
    with pytest.raises(psycopg.ProgrammingError):
        pg_prepared.execute(conn, Statement("SELECT 1, 2", (integer,)), {})


def test_prepared_once_per_connection_and_again_when_the_server_forgot(conn):
    statement = Statement("SELECT %(n)s::int + 1", (integer,))
    for n in range(5):
        assert pg_prepared.execute(conn, statement, {"n": n}) == [(n + 1,)]
    assert runs(conn, statement) == 5
    conn.execute("DEALLOCATE ALL")              # e.g. DISCARD ALL by someone else
    assert pg_prepared.execute(conn, statement, {"n": 1}) == [(2,)]
    assert runs(conn, statement) == 1
    # prepared on the server already, but not known to this process as such: used as it is
    pg_prepared._prepared[conn].clear()
    assert pg_prepared.execute(conn, statement, {"n": 2}) == [(3,)]
    assert runs(conn, statement) == 2
    with psycopg.connect(PG_ADMIN, autocommit=True) as other:      # its own, on its own
        assert pg_prepared.execute(other, statement, {"n": 3}) == [(4,)]
        assert runs(other, statement) == 1 and runs(conn, statement) == 2


def test_a_failing_statement_raises_psycopgs_error_with_its_diagnostics(conn):
    conn.execute("CREATE TEMPORARY TABLE once (k text PRIMARY KEY)")
    insert = Statement("INSERT INTO once (k) VALUES (%(k)s)")
    assert pg_prepared.execute(conn, insert, {"k": "a"}) == []
    with pytest.raises(psycopg.errors.UniqueViolation) as caught:
        pg_prepared.execute(conn, insert, {"k": "a"})
    assert caught.value.diag.constraint_name == "once_pkey"
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE    # nothing left open
    with pytest.raises(psycopg.errors.UndefinedTable):
        pg_prepared.execute(conn, Statement("SELECT * FROM no_such_table", ()), {})
    assert pg_prepared.execute(conn, insert, {"k": "b"}) == []


def test_a_connection_that_dies_mid_statement_reads_as_broken(conn):
    with psycopg.connect(PG_ADMIN, autocommit=True) as killer:
        pid = conn.info.backend_pid
        killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError):
        pg_prepared.execute(conn, Statement("SELECT 1", (integer,)), {})
    assert conn.broken


def test_text_goes_both_ways_in_the_connections_own_encoding():
    """A deployment whose connections speak GBK (client_encoding in DATABASE_URL, PGCLIENTENCODING
    or the role's setting): parameters are sent and columns read in it, as a cursor does."""
    words = "新客 12 家 café"
    with psycopg.connect(PG_ADMIN, autocommit=True, client_encoding="GBK") as conn:
        assert conn.info.encoding == "gbk"
        conn.execute("CREATE TEMPORARY TABLE said (s text, doc json)")
        pg_prepared.execute(conn, Statement("INSERT INTO said VALUES (%(s)s, %(doc)s::json)"),
                            {"s": words, "doc": '{"rule": "新客增长乏力"}'})
        echo = Statement("SELECT s, doc, char_length(s), octet_length(convert_to(s, 'UTF8')) FROM said",
                         (text, json_value, integer, integer))
        # stored as the characters sent: 12 of them, 19 bytes in UTF-8
        assert pg_prepared.execute(conn, echo, {}) == [(words, {"rule": "新客增长乏力"}, 12, 19)]
        assert conn.execute("SELECT s FROM said").fetchone() == (words,)    # as a cursor reads it


def test_a_nul_in_text_is_refused_not_cut_short(conn):
    """libpq reads a text parameter up to its first NUL: "east.li\\0x" would arrive as
    "east.li".  Refused as psycopg's cursor refuses it, before anything is sent."""
    statement = Statement("SELECT %(s)s::text", (text,))
    with pytest.raises(psycopg.DataError):
        pg_prepared.execute(conn, statement, {"s": "east.li\x00evil"})
    assert runs(conn, statement) == 0
