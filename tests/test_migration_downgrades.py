"""Every migration's downgrade undoes its upgrade, on SQLite and PostgreSQL.

From an empty database: up to the newest revision, then one step down and one step up for each
revision from the newest to the first, then all the way down and all the way up again.  After
each step the schema (tables, columns with their types and nullability, indexes with their
columns, uniqueness and partial conditions, triggers) is compared with the one the first upgrade made at
that revision; all the way down leaves no table but alembic's own."""
from __future__ import annotations

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from trimtab.server.config import _sqlalchemy_url
from trimtab.server.storage.db import alembic_config

pytestmark = pytest.mark.slow


def schema(engine) -> dict:
    """What the migrations made, comparable across runs."""
    found = inspect(engine)
    tables = {}
    for table in sorted(found.get_table_names()):
        if table == "alembic_version":
            continue
        columns = tuple((c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(table))
        indexes = tuple(sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]),
                                tuple(sorted((k, str(v)) for k, v in i.get("dialect_options", {}).items())))
                               for i in found.get_indexes(table)))
        tables[table] = (columns, indexes)
    with engine.connect() as conn:                       # triggers too: a copied table loses its own
        if engine.dialect.name == "sqlite":
            triggers = conn.exec_driver_sql("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
        else:
            triggers = conn.exec_driver_sql("SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
                                            "WHERE NOT tgisinternal")
        for table, name in triggers:
            tables[f"trigger {table}.{name}"] = ()
    return tables


def test_each_downgrade_undoes_its_upgrade(db_kind, empty_database):
    url = _sqlalchemy_url(empty_database)
    engine = create_engine(url)
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    cfg.attributes["audit_key"] = "downgrade-test-key"
    revisions = [r.revision for r in ScriptDirectory.from_config(cfg).walk_revisions("base", "heads")]
    revisions.reverse()                                  # oldest first
    assert len(revisions) >= 20

    def run(step, target):
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            step(cfg, target)
        engine.dispose()                                 # the inspector sees the new schema
        return schema(engine)

    made = {}
    for revision in revisions:                           # up, one revision at a time
        made[revision] = run(command.upgrade, revision)
    assert "trigger facts.facts_counted" in made[revisions[-1]]
    for below, revision in reversed(list(zip(revisions, revisions[1:]))):
        assert run(command.downgrade, below) == made[below], f"{revision}'s downgrade"
        assert run(command.upgrade, revision) == made[revision], f"{revision} after its downgrade"
    assert run(command.downgrade, "base") == {}
    assert run(command.upgrade, "head") == made[revisions[-1]]
    engine.dispose()
