"""active rule set: the version every process serves, in one row

Revision ID: 0011
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("active_ruleset",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("rev", sa.String(length=64), nullable=False),
                    sa.Column("version", sa.String(length=128), nullable=False),
                    sa.Column("configured", sa.String(length=256), nullable=False),
                    sa.Column("generation", sa.Integer(), nullable=False),
                    sa.Column("activated_at", sa.DateTime(), nullable=False),
                    sa.Column("activated_by", sa.String(length=128), nullable=False),
                    sa.PrimaryKeyConstraint("id"))


def downgrade():
    op.drop_table("active_ruleset")
