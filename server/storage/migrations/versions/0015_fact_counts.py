"""fact_counts: how many facts each (form, subject) has and its highest fact id, kept by a
trigger on facts; ix_facts_history gains the fact id

The webhook's history read (server/domain/pg_intake.py) checks that no fact was committed
late below the ids the history cache has seen by comparing counts.  Counting the subject's
facts visited every one of them (a table row each): the read grew with the history.  The
count is now kept by the database as facts are inserted, and the facts above an id are found
in the index alone.  Existing facts are counted here.

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

PG_FUNCTION = """
CREATE FUNCTION count_fact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fact_counts (form, subject, n, top) VALUES (NEW.form, NEW.subject, 1, NEW.id)
    ON CONFLICT (form, subject) DO UPDATE
        SET n = fact_counts.n + 1, top = greatest(fact_counts.top, EXCLUDED.top);
    RETURN NULL;
END $$
"""
PG_TRIGGER = "CREATE TRIGGER facts_counted AFTER INSERT ON facts FOR EACH ROW EXECUTE FUNCTION count_fact()"
SQLITE_TRIGGER = """
CREATE TRIGGER facts_counted AFTER INSERT ON facts BEGIN
    INSERT OR IGNORE INTO fact_counts (form, subject, n, top) VALUES (NEW.form, NEW.subject, 0, 0);
    UPDATE fact_counts SET n = n + 1, top = max(top, NEW.id)
    WHERE form = NEW.form AND subject = NEW.subject;
END
"""


def upgrade():
    # A counter row is updated on every insert: room on its page keeps the update in place
    # (no index entry) while vacuum has not run.
    op.create_table(
        "fact_counts",
        sa.Column("form", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("top", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("form", "subject"),
        postgresql_with={"fillfactor": 50})
    op.execute("INSERT INTO fact_counts (form, subject, n, top) "
               "SELECT form, subject, count(*), max(id) FROM facts GROUP BY form, subject")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)
    op.drop_index("ix_facts_history", table_name="facts")
    op.create_index("ix_facts_history", "facts", ["form", "subject", "period", "id"])


def downgrade():
    op.drop_index("ix_facts_history", table_name="facts")
    op.create_index("ix_facts_history", "facts", ["form", "subject", "period"])
    op.execute("DROP TRIGGER facts_counted" + (" ON facts" if op.get_bind().dialect.name
                                               == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION count_fact()")
    op.drop_table("fact_counts")
