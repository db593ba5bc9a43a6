"""silence alerts: a decision may have no fact (a form that did not arrive); silences remembers
each alerted stretch once per rule and person

Revision ID: 0012
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("decisions") as batch:
        batch.alter_column("fact_id", existing_type=sa.Integer(), nullable=True)
    op.create_table(
        "silences",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("form", sa.String(length=64), nullable=False),
        sa.Column("since", sa.String(length=32), nullable=False),
        sa.Column("decision_id", sa.Integer(), sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("rule", "subject", "since", name="uq_silences_stretch"),
    )


def downgrade():
    op.drop_table("silences")
    op.execute("DELETE FROM decisions WHERE fact_id IS NULL")
    with op.batch_alter_table("decisions") as batch:
        batch.alter_column("fact_id", existing_type=sa.Integer(), nullable=False)
