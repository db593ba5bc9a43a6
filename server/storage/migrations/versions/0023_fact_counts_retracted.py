"""fact_counts.retracted: how many of a (form, subject)'s facts were ever retracted

The webhook's history read (server/domain/history.py) looks for a subject's new facts only
from a recent period on, and checks the rest with the subject's counter row: its live facts
less the rows returned must be the facts the worker's cache had seen.  A fact it did not look
for (stored for an older period) makes that number larger — and a retraction, which lowers the
live count, could make it smaller by as much, so that the two hide each other.  Retractions
are now counted apart, in a column that only grows, and any change to it sends the subject's
cached history back to a full read.  Facts retracted before this migration are counted here.

Revision ID: 0023
Revises: 0022
"""
import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("fact_counts", recreate="never") as batch:
        batch.add_column(sa.Column("retracted", sa.BigInteger(), nullable=False,
                                   server_default=sa.text("0")))
    op.execute("UPDATE fact_counts SET retracted = (SELECT count(*) FROM facts "
               "WHERE facts.form = fact_counts.form AND facts.subject = fact_counts.subject "
               "AND facts.retracted_at IS NOT NULL)")


def downgrade():
    with op.batch_alter_table("fact_counts", recreate="never") as batch:
        batch.drop_column("retracted")
