"""audit log as a keyed hash chain: prev_hash and hash on each entry; the one-row audit_head

Existing entries are chained in id order with the audit key the server passes in
(config.attributes["audit_key"]); a database with entries and no key is refused.

Revision ID: 0007
Revises: 0006
"""
from types import SimpleNamespace

import sqlalchemy as sa
from alembic import context, op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ENTRIES = sa.table("audit_log", sa.column("id", sa.Integer), sa.column("at", sa.DateTime),
                   sa.column("action", sa.String), sa.column("subject", sa.String),
                   sa.column("actor", sa.String), sa.column("details", sa.JSON),
                   sa.column("ruleset_version", sa.String), sa.column("prev_hash", sa.String),
                   sa.column("hash", sa.String))


def upgrade():
    key = _key_if_needed()                   # before any change: SQLite's DDL is not rolled back
    for name in ("prev_hash", "hash"):
        op.add_column("audit_log", sa.Column(name, sa.String(length=64), nullable=False,
                                             server_default=""))
    head = op.create_table("audit_head",
                           sa.Column("id", sa.Integer(), nullable=False),
                           sa.Column("last_id", sa.Integer(), nullable=False),
                           sa.Column("last_hash", sa.String(length=64), nullable=False),
                           sa.Column("count", sa.Integer(), nullable=False),
                           sa.PrimaryKeyConstraint("id"))
    last_id, last_hash, count = _chain_existing(key)
    op.bulk_insert(head, [{"id": 1, "last_id": last_id, "last_hash": last_hash, "count": count}])
    if op.get_bind().dialect.name == "postgresql":      # SQLite keeps the default (no ALTER)
        for name in ("prev_hash", "hash"):
            op.alter_column("audit_log", name, server_default=None)


def _key_if_needed():
    """The audit key when there are entries to chain (refused without one), else None."""
    entries = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_log")).scalar()
    key = context.config.attributes.get("audit_key")
    if entries and not key:
        raise RuntimeError(f"audit_log has {entries} entries to chain: migrating needs the audit "
                           f"key (TRIMTAB_AUDIT_KEY or var/audit_key)")
    return key.encode("utf-8") if isinstance(key, str) else key


def _chain_existing(key):
    from trimtab.server.domain.audit import GENESIS, entry_hash
    bind = op.get_bind()
    rows = bind.execute(sa.select(ENTRIES).order_by(ENTRIES.c.id)).all()
    if not rows:
        return 0, GENESIS, 0
    _append_only(bind, False)
    prev = GENESIS
    for row in rows:
        values = dict(row._mapping, prev_hash=prev)
        digest = entry_hash(key, SimpleNamespace(**values))
        bind.execute(ENTRIES.update().where(ENTRIES.c.id == row.id)
                     .values(prev_hash=prev, hash=digest))
        prev = digest
    _append_only(bind, True)
    return rows[-1].id, prev, len(rows)


def _append_only(bind, on: bool):
    """The triggers of 0002 off while the migration fills the new columns, then on again."""
    if bind.dialect.name == "postgresql":
        op.execute(f"ALTER TABLE audit_log {'ENABLE' if on else 'DISABLE'} TRIGGER audit_log_append_only")
    elif bind.dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            if on:
                op.execute(f"""CREATE TRIGGER audit_log_no_{action.lower()} BEFORE {action} ON audit_log
                               BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""")
            else:
                op.execute(f"DROP TRIGGER audit_log_no_{action.lower()}")


def downgrade():
    op.drop_table("audit_head")
    for name in ("hash", "prev_hash"):
        op.drop_column("audit_log", name)
