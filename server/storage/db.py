"""The database: an engine per app, sessions per request, migrations with Alembic."""
from __future__ import annotations

import os
import weakref
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
# The oldest PostgreSQL served: the webhook's kept connections set plan_cache_mode (12), and
# an older server refuses that on every webhook (server/domain/pg_intake.py).
MIN_POSTGRESQL = 120000
_ENGINES: "weakref.WeakSet[Engine]" = weakref.WeakSet()      # this process's, for fork
_AT_FORK: list = []                                           # the hook, registered once


def _forget_connections_after_fork() -> None:
    """In a forked child (an RQ job process, a gunicorn worker forked after load): drop the
    parent's pooled connections without closing them — they are the parent's sockets, still in
    use there — so the child opens its own.  (SQLAlchemy's advice for multiprocessing.)"""
    for engine in list(_ENGINES):
        engine.dispose(close=False)


def _track(engine: Engine) -> Engine:
    if not _AT_FORK:
        os.register_at_fork(after_in_child=_forget_connections_after_fork)
        _AT_FORK.append(_forget_connections_after_fork)
    _ENGINES.add(engine)
    return engine


def make_engine(url: str, **options) -> Engine:
    """An engine for `url`; `options` go to create_engine (a worker asks for pre-ping and its
    own connection settings)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        _track(engine)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record):        # integrity and concurrent readers
            cur = conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()
        return engine
    # No pre-ping (a round trip per checkout): a connection dropped by a database restart fails
    # on first use, the pool then discards the rest; webhooks retry once (intake.py), other
    # routes answer 503 once and the client's retry succeeds.  (The worker asks for pre-ping.)
    engine = _track(create_engine(url, **{"pool_size": 10, "max_overflow": 10, **options}))
    if engine.dialect.driver == "psycopg":      # the version comes with psycopg's connection
        event.listen(engine, "connect", _refuse_old_postgresql)
    return engine


class UnsupportedDatabase(RuntimeError):
    """The database server is older than trimtab serves (`found`, `needed`: versions as
    PostgreSQL writes them)."""

    def __init__(self, found: str, needed: str):
        super().__init__(f"trimtab needs PostgreSQL {needed} or later; this server is {found}")
        self.found, self.needed = found, needed


def version_text(number: int) -> str:
    """PostgreSQL's server_version_num as it writes the version: 110022 is 11.22 (major.minor
    since 10), 90624 is 9.6.24 (major.major.minor before)."""
    if number >= 100000:
        return f"{number // 10000}.{number % 10000}"
    return f"{number // 10000}.{number // 100 % 100}.{number % 100}"


def _refuse_old_postgresql(dbapi_connection, _record) -> None:
    """Every new connection: an old server is said so at start (`trimtab migrate`, `serve`,
    a gunicorn worker's first connection), not found out webhook by webhook; a server swapped
    for an older one later is refused per request (503, server/core/errors.py).  The version
    came with the connection: no round trip."""
    found = dbapi_connection.info.server_version
    if found < MIN_POSTGRESQL:
        raise UnsupportedDatabase(version_text(found), str(MIN_POSTGRESQL // 10000))


def alembic_config(url: str):
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, audit_key: str | None = None) -> None:
    """Bring the schema to the newest migration.  The audit key chains audit entries written
    before the chain existed (migration 0007)."""
    from alembic import command
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    cfg.attributes["audit_key"] = audit_key
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def session_factory(engine: Engine):
    return sessionmaker(engine, expire_on_commit=False)
