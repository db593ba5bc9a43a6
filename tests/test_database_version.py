"""A PostgreSQL older than trimtab serves is refused when a connection is made, with the versions
named: at `trimtab migrate`, at `trimtab serve`, at a gunicorn worker's first connection — not found out
by every webhook failing on the kept connections' planning setting (server/domain/pg_intake.py).

This machine's server is new enough, so the tests raise the floor above it: the check, the
error and the commands' way of saying it are the real ones."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from serverkit import PG_ADMIN
from trimtab.server.storage import db


def server_version() -> int:
    import psycopg
    with psycopg.connect(PG_ADMIN) as conn:
        return conn.info.server_version


@pytest.fixture
def floor_above_this_server(monkeypatch) -> int:
    found = server_version()
    monkeypatch.setattr(db, "MIN_POSTGRESQL", (found // 10000 + 1) * 10000)
    return found


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_a_connection_to_an_older_server_is_refused_naming_both_versions(database, floor_above_this_server):
    found = floor_above_this_server
    engine = db.make_engine(database)
    try:
        with pytest.raises(db.UnsupportedDatabase) as refused:
            engine.connect()
        assert str(refused.value) == (f"trimtab needs PostgreSQL {found // 10000 + 1} or later; "
                                      f"this server is {found // 10000}.{found % 10000}")
    finally:
        engine.dispose()


def test_the_message_names_the_versions_as_postgresql_writes_them():
    from types import SimpleNamespace
    eleven = SimpleNamespace(info=SimpleNamespace(server_version=110022))
    with pytest.raises(db.UnsupportedDatabase,
                       match=r"^trimtab needs PostgreSQL 12 or later; this server is 11\.22$"):
        db._refuse_old_postgresql(eleven, None)


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_the_floor_itself_is_served(database, monkeypatch):
    monkeypatch.setattr(db, "MIN_POSTGRESQL", server_version())
    engine = db.make_engine(database)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_kind", ["postgresql"])
@pytest.mark.parametrize("command", ["migrate", "serve"])
def test_the_commands_say_so_and_exit_1(command, database, floor_above_this_server, monkeypatch,
                                        capsys, tmp_path):
    from trimtab.server.cli.main import main
    found = floor_above_this_server
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database)
    assert main([command]) == 1
    err = capsys.readouterr().err
    assert "UnsupportedDatabase: trimtab needs PostgreSQL" in err
    assert f"this server is {found // 10000}.{found % 10000}" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("number, written", [(110022, "11.22"), (120000, "12.0"), (150019, "15.19"),
                                             (90624, "9.6.24"), (90500, "9.5.0")])
def test_versions_are_written_as_postgresql_writes_them(number, written):
    assert db.version_text(number) == written


def stored_facts(database: str) -> int:
    import psycopg
    with psycopg.connect(database.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute("SELECT count(*) FROM facts").fetchone()[0]


@pytest.mark.parametrize("db_kind", ["postgresql"])
@pytest.mark.parametrize("lang, words", [("en", "trimtab needs {needed} or later"),
                                         ("zh", "本服务需要 {needed} 或更高版本")])
def test_a_server_swapped_for_an_older_one_after_start_is_refused_per_request_with_503(
        app, hooks, database, monkeypatch, lang, words):
    """The running server's connections are replaced (a restart, a failover to an old replica):
    every new one is refused, and the requests say so — 503 with its code, not a 500."""
    from serverkit import week
    found = server_version()
    needed = found // 10000 + 1
    before = stored_facts(database)
    monkeypatch.setattr(db, "MIN_POSTGRESQL", needed * 10000)
    app.extensions["trimtab.engine"].dispose()          # every connection from now on is new
    health = app.test_client().get("/healthz", headers={"Accept-Language": lang})
    hook = hooks.post("weekly_metrics", week(0, 1, 0.5), lang=lang)
    for answer in (health, hook):
        assert answer.status_code == 503, answer.get_json()
        error = answer.get_json()["error"]
        assert error["code"] == "database_unsupported"
        assert words.format(needed=needed) in error["message"]
        assert db.version_text(found) in error["message"]
    assert stored_facts(database) == before
