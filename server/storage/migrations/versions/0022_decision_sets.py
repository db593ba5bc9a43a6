"""decisions: one row a fact (`decision_sets`), read as rows through the view `decisions`

A webhook stored a row a rule — seven rows, seven foreign-key checks and some 35 index entries
for the shipped weekly form — and that was most of PostgreSQL's work a webhook
(docs/runs/2026-12-02-decision-sets.md).  Now a plan's decisions are one row: a JSON array in
the plan's order, each decision's id the set's id plus its place.  New sets take their ids in
blocks of 256 (`decision_blocks` on PostgreSQL; the highest set's id plus 256 on SQLite), so a
form may have at most 256 rules (dsl/limits.py).

The rows already stored become sets with the same ids: a fact's rows, in runs of consecutive
ids (concurrent writers could interleave a sequence's values), and each fact-less row (a
silence alert) alone — so a notice's link to /v1/decisions/<id>/why opens the same decision.
Per period one set is the head (current); a current decision in any other set is `kept`, and a
superseded one whose time differs from its set's keeps its own.

Revision ID: 0022
Revises: 0021
"""
import json
from itertools import groupby

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

BLOCK = 256
# SQLite's foreign keys have no name; batch mode names them so, to drop one.
_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}

_OLD = sa.table("decisions", *(sa.column(c) for c in (
    "id", "fact_id", "form", "subject", "rule", "kind", "fired", "result", "error_code",
    "ruleset_version", "created_at", "period", "superseded_at")))
_SETS = sa.table("decision_sets", *(sa.column(c) for c in (
    "id", "fact_id", "form", "subject", "period", "ruleset_version", "created_at",
    "superseded_at", "decisions", "fired_alerts", "kept")))

# The view: a set's elements as rows with the old table's columns, and the set's own (a reader
# by id finds the set first, the reports' fired alerts go by the set's index: set_…).  A kept element is current in a
# superseded set; an element with its own time was superseded after its set.
VIEW = {
    "postgresql": """
CREATE VIEW decisions AS
SELECT s.id + e.n - 1 AS id, s.fact_id, s.form, s.subject, e.d->>'rule' AS rule,
       e.d->>'kind' AS kind, (e.d->>'fired')::boolean AS fired, e.d->'result' AS result,
       e.d->>'error_code' AS error_code, s.ruleset_version, s.created_at, s.period,
       CASE WHEN e.d->>'superseded_at' IS NOT NULL THEN (e.d->>'superseded_at')::timestamp
            WHEN e.d->>'kept' IS NOT NULL THEN NULL
            ELSE s.superseded_at END AS superseded_at,
       s.id AS set_id, s.superseded_at AS set_superseded_at, s.fired_alerts AS set_fired_alerts,
       s.kept AS set_kept
FROM decision_sets AS s CROSS JOIN LATERAL json_array_elements(s.decisions) WITH ORDINALITY AS e(d, n)
""",
    "sqlite": """
CREATE VIEW decisions AS
SELECT s.id + e.key AS id, s.fact_id, s.form, s.subject, json_extract(e.value, '$.rule') AS rule,
       json_extract(e.value, '$.kind') AS kind, json_extract(e.value, '$.fired') AS fired,
       json_extract(e.value, '$.result') AS result,
       json_extract(e.value, '$.error_code') AS error_code, s.ruleset_version, s.created_at, s.period,
       CASE WHEN json_extract(e.value, '$.superseded_at') IS NOT NULL
                 THEN json_extract(e.value, '$.superseded_at')
            WHEN json_extract(e.value, '$.kept') IS NOT NULL THEN NULL
            ELSE s.superseded_at END AS superseded_at,
       s.id AS set_id, s.superseded_at AS set_superseded_at, s.fired_alerts AS set_fired_alerts,
       s.kept AS set_kept
FROM decision_sets AS s, json_each(s.decisions) AS e
"""}


def upgrade():
    bind = op.get_bind()
    op.create_table(
        "decision_sets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=False),
        sa.Column("fact_id", sa.Integer(), sa.ForeignKey("facts.id"), nullable=True),
        sa.Column("form", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("ruleset_version", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("superseded_at", sa.DateTime(), nullable=True),
        sa.Column("decisions", sa.JSON(), nullable=False),
        sa.Column("fired_alerts", sa.Boolean(), nullable=False),
        sa.Column("kept", sa.Boolean(), nullable=False),
    )
    _set_indexes()
    _move_rows(bind)
    with op.batch_alter_table("silences", naming_convention=_NAMES) as batch:
        batch.alter_column("decision_id", existing_type=sa.Integer(), type_=sa.BigInteger())
        batch.drop_constraint(_silence_key(bind, "decisions"), type_="foreignkey")
        batch.create_foreign_key("fk_silences_decision_set", "decision_sets", ["decision_id"], ["id"])
    op.drop_table("decisions")
    if bind.dialect.name == "postgresql":
        top = bind.execute(sa.text("SELECT coalesce(max(id) + 256, 1) FROM decision_sets")).scalar()
        op.execute(f"CREATE SEQUENCE decision_blocks INCREMENT BY {BLOCK} START WITH {top}")
    op.execute(VIEW[bind.dialect.name])


def _set_indexes():
    op.create_index("uq_decision_sets_head", "decision_sets", ["form", "subject", "period"], unique=True,
                    postgresql_where=sa.text("superseded_at IS NULL"),
                    sqlite_where=sa.text("superseded_at IS NULL"))
    op.create_index("ix_decision_sets_kept", "decision_sets", ["form", "subject", "period"],
                    postgresql_where=sa.text("kept"), sqlite_where=sa.text("kept = 1"))
    op.create_index("ix_decision_sets_subject_period", "decision_sets", ["subject", "form", "period"])
    op.create_index("ix_decision_sets_fired_alerts", "decision_sets", ["created_at"],
                    postgresql_where=sa.text("fired_alerts AND superseded_at IS NULL"),
                    sqlite_where=sa.text("fired_alerts = 1 AND superseded_at IS NULL"))
    op.create_index("ix_decision_sets_fact_id", "decision_sets", ["fact_id"])
    # a rule's page by id: a rule decides on its form's every submission (api.decisions)
    op.create_index("ix_decision_sets_form_id", "decision_sets", ["form", "id"])


def _silence_key(bind, referred: str) -> str:
    """The name of silences' foreign key to `referred` (SQLite's is unnamed: batch mode names
    them by column)."""
    for key in sa.inspect(bind).get_foreign_keys("silences"):
        if key["referred_table"] == referred:
            return key["name"] or "fk_silences_decision_id_" + referred     # as _NAMES names it
    raise RuntimeError(f"silences has no foreign key to {referred}")


def _stamp(value) -> str | None:
    """A time as the view gives it back on either dialect (SQLAlchemy's text form on SQLite)."""
    if value is None:
        return None
    return value if isinstance(value, str) else value.isoformat(sep=" ")


def _move_rows(bind):
    rows = bind.execute(sa.select(_OLD).order_by(_OLD.c.id)).mappings().all()
    sets = []
    for _key, run in groupby(rows, key=_run_key()):
        run = list(run)
        for at in range(0, len(run), BLOCK):
            sets.append(run[at:at + BLOCK])
    heads, latest = {}, {}
    for r in rows:              # when each period's newest set was written
        key = (r["form"], r["subject"], r["period"])
        latest[key] = max(latest.get(key, r["created_at"]), r["created_at"])
    for part in sets:           # the newest set whose every decision is current heads its period
        if all(r["superseded_at"] is None for r in part):
            key = (part[0]["form"], part[0]["subject"], part[0]["period"])
            heads[key] = part[0]["id"]
    out = []
    for part in sets:
        first = part[0]
        head = heads.get((first["form"], first["subject"], first["period"])) == first["id"]
        times = [r["superseded_at"] for r in part if r["superseded_at"] is not None]
        # a set that held no superseded decision stopped heading its period when the period's
        # newest set was written
        superseded = None if head else (max(times) if times else
                                        latest[(first["form"], first["subject"], first["period"])])
        elements = []
        for r in part:
            result = r["result"]
            element = {"rule": r["rule"], "kind": r["kind"], "fired": bool(r["fired"]),
                       "result": json.loads(result) if isinstance(result, str) else result,
                       "error_code": r["error_code"]}
            if not head and r["superseded_at"] is None:
                element["kept"] = True
            elif r["superseded_at"] is not None and r["superseded_at"] != superseded:
                element["superseded_at"] = _stamp(r["superseded_at"])
            elements.append(element)
        out.append({"id": first["id"], "fact_id": first["fact_id"], "form": first["form"],
                    "subject": first["subject"], "period": first["period"],
                    "ruleset_version": first["ruleset_version"], "created_at": first["created_at"],
                    "superseded_at": superseded, "decisions": json.dumps(elements, ensure_ascii=False),
                    "fired_alerts": any(e["kind"] == "alert" and e["fired"] for e in elements),
                    "kept": any(e.get("kept") for e in elements)})
    for at in range(0, len(out), 1000):
        bind.execute(_SETS.insert(), out[at:at + 1000])


def _run_key():
    """groupby's key: rows of one fact with consecutive ids (and the same columns a set
    shares); every fact-less row alone."""
    state = {"last": None, "group": 0}

    def key(row):
        shared = (row["fact_id"], row["form"], row["subject"], row["period"],
                  row["ruleset_version"], row["created_at"])
        last = state["last"]
        if row["fact_id"] is None or last is None or last[0] != shared or last[1] + 1 != row["id"]:
            state["group"] += 1
        state["last"] = (shared, row["id"])
        return state["group"]
    return key


def downgrade():
    bind = op.get_bind()
    rows = [dict(r) for r in bind.execute(sa.text(
        "SELECT id, fact_id, form, subject, rule, kind, fired, result, error_code, ruleset_version,"
        " created_at, period, superseded_at FROM decisions ORDER BY id")
        .columns(created_at=sa.DateTime(), superseded_at=sa.DateTime())).mappings()]
    if rows and rows[-1]["id"] > 2 ** 31 - 1:
        raise RuntimeError(f"decision ids reach {rows[-1]['id']}: the old table's INTEGER ids cannot "
                           "hold them, so 0022 cannot be downgraded")
    op.execute("DROP VIEW decisions")
    if bind.dialect.name == "postgresql":
        op.execute("DROP SEQUENCE decision_blocks")
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fact_id", sa.Integer(), nullable=True),
        sa.Column("form", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("fired", sa.Boolean(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("ruleset_version", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("superseded_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["fact_id"], ["facts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_decisions_current", "decisions", ["form", "subject", "period", "rule"], unique=True,
                    postgresql_where=sa.text("superseded_at IS NULL"),
                    sqlite_where=sa.text("superseded_at IS NULL"))
    op.create_index("ix_decisions_fact_id", "decisions", ["fact_id"])
    op.create_index("ix_decisions_subject_period", "decisions", ["subject", "form", "period"])
    op.create_index("ix_decisions_rule_id", "decisions", ["rule", "id"])
    op.create_index("ix_decisions_fired_alerts", "decisions", ["created_at"],
                    postgresql_where=sa.text("kind = 'alert' AND fired IS true AND superseded_at IS NULL"),
                    sqlite_where=sa.text("kind = 'alert' AND fired IS 1 AND superseded_at IS NULL"))
    for row in rows:
        if isinstance(row["result"], str):
            row["result"] = json.loads(row["result"])
        row["fired"] = bool(row["fired"])
    old = sa.Table("decisions", sa.MetaData(), sa.Column("id", sa.Integer), sa.Column("fact_id", sa.Integer),
                   *(sa.Column(c) for c in ("form", "subject", "rule", "kind")), sa.Column("fired", sa.Boolean),
                   sa.Column("result", sa.JSON), sa.Column("error_code"), sa.Column("ruleset_version"),
                   sa.Column("created_at", sa.DateTime), sa.Column("period"),
                   sa.Column("superseded_at", sa.DateTime))
    for at in range(0, len(rows), 1000):
        bind.execute(old.insert(), rows[at:at + 1000])
    if bind.dialect.name == "postgresql":
        op.execute("SELECT setval('decisions_id_seq', coalesce((SELECT max(id) FROM decisions), 1))")
    with op.batch_alter_table("silences", naming_convention=_NAMES) as batch:
        batch.drop_constraint(_silence_key(bind, "decision_sets"), type_="foreignkey")
        batch.alter_column("decision_id", existing_type=sa.BigInteger(), type_=sa.Integer())
        batch.create_foreign_key("silences_decision_id_fkey", "decisions", ["decision_id"], ["id"])
    op.drop_table("decision_sets")
