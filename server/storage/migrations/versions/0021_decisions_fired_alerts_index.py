"""decisions: the rule's index goes; the date index holds the current fired alerts only

Every webhook writes a decision row per rule, and every index on `decisions` is one more
insertion per row (docs/performance.md: each index about 500 B of WAL a webhook).  Two of them
gave nothing back:
- `ix_decisions_rule`: a rule is an eighth of the table; `/v1/decisions?rule=` pages by id and
  walks the primary key, and beside a subject PostgreSQL's bitmap AND over it took longer than
  the subject's index alone (0.55 against 0.34 ms at 40 weeks of 100 reps).
- `ix_decisions_created_at` served one query, the reports' fired alerts in a date range
  (server/domain/reports.py `_fired_alerts`): kind 'alert', fired, current.  A partial index
  with that very condition keeps only those rows — most decisions skip it — and the reports'
  scan reads only them (2.4 → 0.9 ms for a week of 1,317 fired alerts).

Revision ID: 0021
Revises: 0020
"""
import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# As SQLAlchemy writes `Decision.fired.is_(True)` in each dialect: a partial index is used
# when the query's condition implies the index's.
FIRED_ALERTS = {"postgresql_where": sa.text("kind = 'alert' AND fired IS true AND superseded_at IS NULL"),
                "sqlite_where": sa.text("kind = 'alert' AND fired IS 1 AND superseded_at IS NULL")}


def upgrade():
    op.create_index("ix_decisions_fired_alerts", "decisions", ["created_at"], **FIRED_ALERTS)
    op.drop_index("ix_decisions_created_at", table_name="decisions")
    op.drop_index("ix_decisions_rule", table_name="decisions")


def downgrade():
    op.create_index("ix_decisions_rule", "decisions", ["rule"])
    op.create_index("ix_decisions_created_at", "decisions", ["created_at"])
    op.drop_index("ix_decisions_fired_alerts", table_name="decisions")
