"""decisions: the subject's index becomes (subject, form, period)

A webhook reads its period's current decisions (server/domain/pg_intake.py READ,
server/domain/tx_writer.py).  With the subject-only index beside the partial unique one, the
planner — on statistics gathered while the table was small — chose the subject's index and
filtered every decision the subject ever had: the read grew with the subject's history
(0.10 → 0.30 ms at 100 weeks in tests/bench/bench_server.py).  Either index now finds the
period's rows only, whatever the statistics say; queries by subject alone use its first column.

Revision ID: 0020
Revises: 0019
"""
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_decisions_subject_period", "decisions", ["subject", "form", "period"])
    op.drop_index("ix_decisions_subject", table_name="decisions")


def downgrade():
    op.create_index("ix_decisions_subject", "decisions", ["subject"])
    op.drop_index("ix_decisions_subject_period", table_name="decisions")
