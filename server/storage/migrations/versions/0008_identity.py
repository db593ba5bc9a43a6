"""identity: platform ids, roles beyond the chart, API tokens, delegations, approval links;
who a fact belongs to; who set a target; who requested a change and who took each step

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("mobile", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("grants", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("covers", sa.String(length=512), nullable=True))
    op.create_table("person_identities",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("person_id", sa.String(length=128), nullable=False),
                    sa.Column("kind", sa.String(length=32), nullable=False),
                    sa.Column("value", sa.String(length=254), nullable=False),
                    sa.PrimaryKeyConstraint("id"), sa.UniqueConstraint("kind", "value"))
    op.create_index("ix_person_identities_person_id", "person_identities", ["person_id"])
    op.create_table("api_tokens",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("person_id", sa.String(length=128), nullable=False),
                    sa.Column("token_sha256", sa.String(length=64), nullable=False),
                    sa.Column("prefix", sa.String(length=16), nullable=False),
                    sa.Column("label", sa.String(length=200), nullable=True),
                    sa.Column("created_at", sa.DateTime(), nullable=False),
                    sa.Column("expires_at", sa.DateTime(), nullable=True),
                    sa.Column("revoked_at", sa.DateTime(), nullable=True),
                    sa.Column("last_used_at", sa.DateTime(), nullable=True),
                    sa.PrimaryKeyConstraint("id"), sa.UniqueConstraint("token_sha256"))
    op.create_index("ix_api_tokens_person_id", "api_tokens", ["person_id"])
    op.create_table("delegations",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("delegator_id", sa.String(length=128), nullable=False),
                    sa.Column("delegate_id", sa.String(length=128), nullable=False),
                    sa.Column("starts_on", sa.Date(), nullable=False),
                    sa.Column("ends_on", sa.Date(), nullable=False),
                    sa.Column("reason", sa.Text(), nullable=False),
                    sa.Column("created_by", sa.String(length=128), nullable=False),
                    sa.Column("created_at", sa.DateTime(), nullable=False),
                    sa.Column("revoked_at", sa.DateTime(), nullable=True),
                    sa.PrimaryKeyConstraint("id"))
    op.create_index("ix_delegations_delegator_id", "delegations", ["delegator_id"])
    op.create_index("ix_delegations_delegate_id", "delegations", ["delegate_id"])
    op.create_table("approval_links",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("approval_id", sa.Integer(), nullable=False),
                    sa.Column("platform", sa.String(length=32), nullable=False),
                    sa.Column("external_id", sa.String(length=200), nullable=False),
                    sa.Column("created_at", sa.DateTime(), nullable=False),
                    sa.ForeignKeyConstraint(["approval_id"], ["approvals.id"]),
                    sa.PrimaryKeyConstraint("id"), sa.UniqueConstraint("platform", "external_id"))
    op.create_index("ix_approval_links_approval_id", "approval_links", ["approval_id"])
    with op.batch_alter_table("facts") as batch:
        batch.add_column(sa.Column("rep", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("region", sa.String(length=64), nullable=True))
    op.create_index("ix_facts_rep", "facts", ["rep"])
    with op.batch_alter_table("targets") as batch:
        batch.add_column(sa.Column("source", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("set_by", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("ruleset_version", sa.String(length=80), nullable=True))
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("requested_by", sa.String(length=128), nullable=True))
    with op.batch_alter_table("approval_steps") as batch:
        batch.add_column(sa.Column("substitutes_for", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("substitution", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("acted_by", sa.String(length=128), nullable=True))


def downgrade():
    with op.batch_alter_table("approval_steps") as batch:
        for name in ("acted_by", "substitution", "substitutes_for"):
            batch.drop_column(name)
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("requested_by")
    with op.batch_alter_table("targets") as batch:
        for name in ("ruleset_version", "set_by", "source"):
            batch.drop_column(name)
    op.drop_index("ix_facts_rep", table_name="facts")
    with op.batch_alter_table("facts") as batch:
        batch.drop_column("region")
        batch.drop_column("rep")
    for table in ("approval_links", "delegations", "api_tokens", "person_identities"):
        op.drop_table(table)
    with op.batch_alter_table("people") as batch:
        for name in ("covers", "grants", "mobile"):
            batch.drop_column(name)
