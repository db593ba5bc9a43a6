"""decision_sets.decisions compressed with LZ4 on PostgreSQL

A webhook's decisions are one JSON array of about 3.7 KB (seven decisions of the shipped
weekly rules), over PostgreSQL's 2 KB threshold, so every insert compresses it.  With the
default method (pglz) that was about 31 µs of the backend's CPU a row; LZ4 takes about 15
(3,000 rows inserted each way, 2026-12-03) and keeps 1.40 KB where pglz kept 1.19.  Side by
side under the bench's webhooks (tests/bench/cpu_webhook.py --variant, 12 pairs of 500),
PostgreSQL's CPU a webhook fell by 7%.  Rows stored before keep their method: PostgreSQL reads
both.  Only PostgreSQL 14 and later built with LZ4 offer it; elsewhere (and on SQLite) this
migration changes nothing.

Revision ID: 0024
Revises: 0023
"""
from alembic import op
from sqlalchemy import text

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def _offers_lz4() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    methods = bind.execute(text("SELECT enumvals FROM pg_settings "
                                "WHERE name = 'default_toast_compression'")).scalar()
    return methods is not None and "lz4" in methods


def upgrade():
    if _offers_lz4():
        op.execute("ALTER TABLE decision_sets ALTER COLUMN decisions SET COMPRESSION lz4")


def downgrade():
    if _offers_lz4():
        op.execute("ALTER TABLE decision_sets ALTER COLUMN decisions SET COMPRESSION default")
