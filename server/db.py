"""The database: an engine per app, sessions per request, migrations with Alembic."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record):        # integrity and concurrent readers
            cur = conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()
        return engine
    # No pre-ping (a round trip per checkout): a connection dropped by a database restart fails
    # on first use, the pool then discards the rest; webhooks retry once (intake.py), other
    # routes answer 503 once and the client's retry succeeds.
    return create_engine(url, pool_size=10, max_overflow=10)


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
