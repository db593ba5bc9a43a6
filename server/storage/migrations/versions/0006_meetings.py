"""meetings (calibration and other dated events); people's e-mail addresses

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("meetings",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("kind", sa.String(length=64), nullable=False),
                    sa.Column("title", sa.String(length=200), nullable=False),
                    sa.Column("starts_at", sa.DateTime(), nullable=False),
                    sa.Column("region", sa.String(length=64), nullable=True),
                    sa.Column("attendees", sa.JSON(), nullable=False),
                    sa.Column("created_at", sa.DateTime(), nullable=False),
                    sa.Column("briefed_at", sa.DateTime(), nullable=True),
                    sa.PrimaryKeyConstraint("id"))
    op.create_index("ix_meetings_kind", "meetings", ["kind"])
    op.create_index("ix_meetings_starts_at", "meetings", ["starts_at"])
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))


def downgrade():
    with op.batch_alter_table("people") as batch:
        batch.drop_column("email")
    op.drop_index("ix_meetings_starts_at", table_name="meetings")
    op.drop_index("ix_meetings_kind", table_name="meetings")
    op.drop_table("meetings")
