"""fact sources: a fact remembers the platform record it came from, and a deleted record's
facts are retracted (kept, marked) rather than removed

`source_record` names the record on its platform (`feishu:<table>:<record>`,
`jiandaoyun:<form>:<_id>`); `retracted_at` is set when the platform deletes it.  History reads
live facts only, so ix_facts_history becomes partial (retracted_at IS NULL) and stays
index-only; fact_counts.n counts live facts (the retraction lowers it, which sends every
worker's history cache back to a full read of that subject).

Revision ID: 0017
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None

LIVE = "retracted_at IS NULL"


def upgrade():
    with op.batch_alter_table("facts") as batch:
        batch.add_column(sa.Column("source_record", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("retracted_at", sa.DateTime(), nullable=True))
    op.create_index("ix_facts_source_record", "facts", ["source_record"])
    op.drop_index("ix_facts_history", table_name="facts")
    op.create_index("ix_facts_history", "facts", ["form", "subject", "period", "id"],
                    postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE))


def downgrade():
    op.drop_index("ix_facts_history", table_name="facts")
    op.create_index("ix_facts_history", "facts", ["form", "subject", "period", "id"])
    op.drop_index("ix_facts_source_record", table_name="facts")
    # Not a copy of the table on SQLite (batch mode's default for a dropped column): the copy
    # would lose the facts_counted trigger of 0015.  SQLite drops a column in place since 3.35.
    with op.batch_alter_table("facts", recreate="never") as batch:
        batch.drop_column("retracted_at")
        batch.drop_column("source_record")
