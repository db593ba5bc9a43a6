"""people.lang: the language a person's own notifications are written in (zh, en)

Revision ID: 0014
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("lang", sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table("people") as batch:
        batch.drop_column("lang")
