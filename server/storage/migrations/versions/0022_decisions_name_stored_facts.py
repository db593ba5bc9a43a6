"""decisions: on PostgreSQL, one check a statement that each decision names a stored fact; facts
are never deleted

The foreign key decisions.fact_id → facts checked every decision row on its own: a webhook
writes seven, and each check ran a query and locked the fact's row — about 90 µs of the 600
µs PostgreSQL spends on the webhook's write (docs/performance.md, 2026-12-02).  A key's other
half, refusing to delete a fact that decisions name, is kept by a stronger rule the server
already follows: facts are retracted, never deleted (server/domain/retraction.py), and now
the database refuses a fact's DELETE, TRUNCATE or change of id.  With no fact ever going,
the inserting side needs no lock: one query over the statement's new decisions
(a transition table) finds any that names no stored fact, and refuses the statement as the key
did (SQLSTATE 23503, foreign_key_violation).  A decision whose fact id is changed is checked
the same way, row by row (nothing changes it today).  SQLite keeps its foreign key.

Revision ID: 0022
Revises: 0021
"""
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

FOREIGN_KEY = "decisions_fact_id_fkey"      # PostgreSQL's name for the key of 0001

FUNCTIONS = """
CREATE FUNCTION decisions_name_stored_facts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    named bigint;
BEGIN
    -- Each fact the new decisions name, looked up by its key: a webhook's seven name one.
    -- (Not one anti-join: planned without statistics on the new rows, it hashed every fact.)
    FOR named IN SELECT DISTINCT d.fact_id FROM new_decisions AS d WHERE d.fact_id IS NOT NULL LOOP
        PERFORM FROM facts WHERE id = named;
        IF NOT FOUND THEN
            RAISE foreign_key_violation USING
                MESSAGE = format('a decision names fact %s, which is not stored', named),
                TABLE = 'decisions', COLUMN = 'fact_id';
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
CREATE FUNCTION decision_names_a_stored_fact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.fact_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM facts WHERE id = NEW.fact_id) THEN
        RAISE foreign_key_violation USING
            MESSAGE = format('a decision names fact %s, which is not stored', NEW.fact_id),
            TABLE = 'decisions', COLUMN = 'fact_id';
    END IF;
    RETURN NEW;
END $$;
CREATE FUNCTION facts_are_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE restrict_violation USING
        MESSAGE = 'facts are retracted (retracted_at), never deleted or renumbered: decisions name them',
        TABLE = 'facts';
END $$;
"""
TRIGGERS = {
    "decisions": {
        "decisions_name_stored_facts": "AFTER INSERT ON decisions REFERENCING NEW TABLE AS new_decisions "
                                       "FOR EACH STATEMENT EXECUTE FUNCTION decisions_name_stored_facts()",
        "decision_fact_changed": "BEFORE UPDATE OF fact_id ON decisions FOR EACH ROW "
                                 "WHEN (OLD.fact_id IS DISTINCT FROM NEW.fact_id) "
                                 "EXECUTE FUNCTION decision_names_a_stored_fact()"},
    "facts": {
        "facts_not_deleted": "BEFORE DELETE ON facts FOR EACH STATEMENT EXECUTE FUNCTION facts_are_never_deleted()",
        "facts_not_renumbered": "BEFORE UPDATE OF id ON facts FOR EACH STATEMENT "
                                "EXECUTE FUNCTION facts_are_never_deleted()",
        "facts_not_truncated": "BEFORE TRUNCATE ON facts FOR EACH STATEMENT "
                               "EXECUTE FUNCTION facts_are_never_deleted()"},
}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTIONS)
    for triggers in TRIGGERS.values():
        for name, definition in triggers.items():
            op.execute(f"CREATE TRIGGER {name} {definition}")
    op.drop_constraint(FOREIGN_KEY, "decisions", type_="foreignkey")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_foreign_key(FOREIGN_KEY, "decisions", "facts", ["fact_id"], ["id"])
    for table, triggers in TRIGGERS.items():
        for name in triggers:
            op.execute(f"DROP TRIGGER {name} ON {table}")
    op.execute("DROP FUNCTION decisions_name_stored_facts(); DROP FUNCTION decision_names_a_stored_fact(); "
               "DROP FUNCTION facts_are_never_deleted()")
