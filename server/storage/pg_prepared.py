"""Statements sent straight through libpq on a psycopg connection, prepared once per connection.

The webhook's two statements (server/domain/pg_intake.py) ran through a psycopg cursor, whose
adaptation layer — choosing a dumper per parameter, its own prepared-statement bookkeeping,
a loader per column, the generator that drives the protocol — cost more client CPU than
libpq itself: 114 µs for the read and 139 µs for the write against 39 and 51 µs sent as here
(replayed webhooks at 40 weeks of history, thread CPU; docs/performance.md).  Here a
`Statement` is prepared under a name of its own on the connection's first use of it, its
parameters go as text (PostgreSQL parses them by the types the statement gives them: casts in
the SQL where the context does not say), and its rows come back decoded column by column.

For a connection in autocommit only (the kept connections of pg_intake.Held): a failed
statement then leaves no transaction behind.  Errors are psycopg's own, from the result
(`psycopg.errors.UniqueViolation` with its `diag`, …); a connection that broke reads as
`broken`, as after a cursor's statement, with an OperationalError that carries libpq's
"server closed the connection unexpectedly" — a cursor raised the server's AdminShutdown for
a terminated backend, which libpq's exec does not read (idle or mid-statement alike); to the
caller both are a dropped connection.  Parameters and columns are text in the connection's
client_encoding.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import weakref
from decimal import Decimal

import psycopg
from psycopg import pq
from psycopg.errors import error_from_result

_PLACEHOLDER = re.compile(r"%%|%\((\w+)\)s")      # psycopg's: a name, or a literal %
_NOT_PREPARED, _ALREADY_PREPARED = b"26000", b"42P05"


# Column decoders: each takes the column's text, in the connection's encoding already decoded.
integer = int
json_value = json.loads


def text(value: str) -> str:
    return value


def boolean(value: str) -> bool:
    return value == "t"


class Statement:
    """SQL with psycopg's `%(name)s` placeholders (and `%%` for a %), sent as `$n`; `columns`
    decode each result column from its text (NULL is None)."""

    __slots__ = ("sql", "name", "params", "columns")

    def __init__(self, sql: str, columns: tuple = ()):
        params: list[str] = []

        def number(m: re.Match) -> str:
            if m.group(1) is None:
                return "%"
            if m.group(1) not in params:
                params.append(m.group(1))
            return f"${params.index(m.group(1)) + 1}"
        self.sql = _PLACEHOLDER.sub(number, sql).encode()
        # Named by its text: another version of the statement is another prepared statement.
        self.name = b"trimtab_" + hashlib.sha1(self.sql).hexdigest()[:16].encode()
        self.params, self.columns = tuple(params), columns


# The statements each connection has prepared, as far as this process knows (a connection
# back in the pool keeps them for the next time it is kept).
_prepared: "weakref.WeakKeyDictionary[psycopg.Connection, set]" = weakref.WeakKeyDictionary()


def execute(conn: psycopg.Connection, statement: Statement, params: dict) -> list[tuple]:
    """Run `statement` with `params` (by name) on `conn` → its rows, decoded."""
    encoding = conn.info.encoding           # the connection's client_encoding, as a cursor's
    pgconn, values = conn.pgconn, [_as_text(params[name], encoding) for name in statement.params]
    done = _prepared.get(conn)
    if done is None:
        done = _prepared[conn] = set()
    if statement.name not in done:
        _prepare(conn, statement)
        done.add(statement.name)
    result = pgconn.exec_prepared(statement.name, values)
    if result.status == pq.ExecStatus.FATAL_ERROR and \
            result.error_field(pq.DiagnosticField.SQLSTATE) == _NOT_PREPARED:
        _prepare(conn, statement)           # deallocated behind our back (DISCARD ALL)
        result = pgconn.exec_prepared(statement.name, values)
    return _rows(conn, statement, result, encoding)


def _prepare(conn: psycopg.Connection, statement: Statement) -> None:
    result = conn.pgconn.prepare(statement.name, statement.sql)
    if result.status != pq.ExecStatus.COMMAND_OK and \
            result.error_field(pq.DiagnosticField.SQLSTATE) != _ALREADY_PREPARED:
        raise _error(conn, result)


def _rows(conn: psycopg.Connection, statement: Statement, result, encoding: str) -> list[tuple]:
    status = result.status
    if status == pq.ExecStatus.COMMAND_OK:
        return []
    if status != pq.ExecStatus.TUPLES_OK:
        raise _error(conn, result)
    columns, get, utf8 = statement.columns, result.get_value, encoding == "utf-8"
    if result.nfields != len(columns):
        raise psycopg.ProgrammingError(f"{result.nfields} columns, {len(columns)} decoders")
    return [tuple(None if (value := get(row, col)) is None else
                  decode(value.decode() if utf8 else value.decode(encoding))
                  for col, decode in enumerate(columns))
            for row in range(result.ntuples)]


def _error(conn: psycopg.Connection, result) -> psycopg.Error:
    """The server's error as psycopg raises it from a cursor: by its SQLSTATE, with the
    result's diagnostics; OperationalError when the connection is gone."""
    if conn.pgconn.status == pq.ConnStatus.BAD:
        return psycopg.OperationalError(result.get_error_message(conn.info.encoding) or
                                        "the connection to the server was lost")
    return error_from_result(result, encoding=conn.info.encoding)


def _as_text(value, encoding: str) -> bytes | None:
    """A parameter in PostgreSQL's text input form, in the connection's encoding."""
    if value is None:
        return None
    kind = type(value)
    if kind is str:
        # (no argument: str.encode's own path to UTF-8, without parsing a codec's name)
        data = value.encode() if encoding == "utf-8" else value.encode(encoding)
        # libpq reads a text parameter up to its first NUL.  Searched in the bytes, as an int
        # (memchr, 0.02 µs: the str's own search walked 2 µs of a webhook's decisions, a bytes
        # needle 0.15 µs a parameter); PostgreSQL's client encodings all keep ASCII, so a 0
        # byte is a NUL character and nothing else.
        if 0 in data:
            raise psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
        return data
    if kind is bool:
        return b"t" if value else b"f"
    if kind is int or kind is Decimal:
        return str(value).encode()
    if kind is dt.datetime:
        if value.tzinfo is not None:        # the columns are UTC without a zone
            raise TypeError("a datetime with a time zone")
        return value.isoformat().encode()
    if kind is dt.date:
        return value.isoformat().encode()
    if kind is list and all(type(v) is int for v in value):     # bigint[]
        return ("{" + ",".join(map(str, value)) + "}").encode()
    raise TypeError(f"no text form for a {kind.__name__} parameter")
