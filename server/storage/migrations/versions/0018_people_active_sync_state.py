"""people.active and people.left_at (an org sync deactivates, never deletes); sync_state
(a connector's watermark, e.g. the CRM's last SystemModstamp)

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("left_at", sa.DateTime(), nullable=True))
    op.create_table(
        "sync_state",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("watermark", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False))


def downgrade():
    op.drop_table("sync_state")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("left_at")
        batch.drop_column("active")
