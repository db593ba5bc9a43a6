"""deliveries remember the signature that proved them: one signature, one delivery id

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("proof", sa.String(length=80), nullable=True))
        batch.create_unique_constraint("uq_deliveries_client_proof", ["client", "proof"])


def downgrade():
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("uq_deliveries_client_proof", type_="unique")
        batch.drop_column("proof")
