"""when each schedule last ran

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("schedule_runs",
                    sa.Column("name", sa.String(length=200), nullable=False),
                    sa.Column("last_run_at", sa.DateTime(), nullable=False),
                    sa.Column("runs", sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint("name"))


def downgrade():
    op.drop_table("schedule_runs")
