"""Every migration's downgrade undoes its upgrade, on SQLite and PostgreSQL.

From an empty database: up to the newest revision, then one step down and one step up for each
revision from the newest to the first, then all the way down and all the way up again.  After
each step the schema (tables; columns with their types, nullability and defaults; indexes with
their columns, uniqueness and partial conditions; primary and foreign keys, unique and check
constraints; triggers; columns' compression methods) is compared with the one the first upgrade made at
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
        columns = tuple((c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                        for c in found.get_columns(table))
        indexes = tuple(sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]),
                                tuple(sorted((k, str(v)) for k, v in i.get("dialect_options", {}).items())))
                               for i in found.get_indexes(table)))
        foreign_keys = tuple(sorted((tuple(f["constrained_columns"]), f["referred_table"],
                                     tuple(f["referred_columns"])) for f in found.get_foreign_keys(table)))
        unique = tuple(sorted(tuple(u["column_names"]) for u in found.get_unique_constraints(table)))
        checks = tuple(sorted(str(c["sqltext"]) for c in found.get_check_constraints(table)))
        primary = tuple(found.get_pk_constraint(table)["constrained_columns"])
        tables[table] = (columns, indexes, foreign_keys, unique, checks, primary)
    with engine.connect() as conn:                       # triggers too: a copied table loses its own
        if engine.dialect.name == "sqlite":
            triggers = conn.exec_driver_sql("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
        else:
            triggers = conn.exec_driver_sql("SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
                                            "WHERE NOT tgisinternal")
        for table, name in triggers:
            tables[f"trigger {table}.{name}"] = ()
        if engine.dialect.name == "postgresql":     # a column's compression method (0024)
            for table, column, method in conn.exec_driver_sql(
                    "SELECT a.attrelid::regclass::text, a.attname, a.attcompression FROM pg_attribute a "
                    "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND a.attcompression <> ''"):
                tables[f"compression {table}.{column}"] = (method,)
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
    head = made[revisions[-1]]
    assert "trigger facts.facts_counted" in head
    assert (("fact_id",), "facts", ("id",)) in head["decision_sets"][2]  # foreign keys are seen
    for below, revision in reversed(list(zip(revisions, revisions[1:]))):
        assert run(command.downgrade, below) == made[below], f"{revision}'s downgrade"
        assert run(command.upgrade, revision) == made[revision], f"{revision} after its downgrade"
    assert run(command.downgrade, "base") == {}
    assert run(command.upgrade, "head") == made[revisions[-1]]
    engine.dispose()
