"""period decisions: each decision carries its fact's period; one per rule, form, subject and
period is current, the others superseded (kept as history)

Existing rows: the period comes from the decision's fact; of each (form, subject, period, rule)
all but the latest decision are marked superseded, at the time the next one was made.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

KEY = "form, subject, period, rule"


def upgrade():
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("period", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("superseded_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE decisions SET period = "
               "(SELECT facts.period FROM facts WHERE facts.id = decisions.fact_id)")
    # Window functions: PostgreSQL, and SQLite from 3.25.
    op.execute(f"""
        UPDATE decisions SET superseded_at = (
            SELECT later.next_at FROM (
                SELECT id, lead(created_at) OVER (PARTITION BY {KEY} ORDER BY id) AS next_at
                FROM decisions) AS later
            WHERE later.id = decisions.id)
        WHERE id IN (
            SELECT id FROM (
                SELECT id, lead(id) OVER (PARTITION BY {KEY} ORDER BY id) AS next_id
                FROM decisions) AS later
            WHERE later.next_id IS NOT NULL)""")
    with op.batch_alter_table("decisions") as batch:
        batch.alter_column("period", existing_type=sa.String(length=32), nullable=False)
    op.create_index("uq_decisions_current", "decisions", ["form", "subject", "period", "rule"],
                    unique=True, postgresql_where=sa.text("superseded_at IS NULL"),
                    sqlite_where=sa.text("superseded_at IS NULL"))


def downgrade():
    op.drop_index("uq_decisions_current", table_name="decisions")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("superseded_at")
        batch.drop_column("period")
