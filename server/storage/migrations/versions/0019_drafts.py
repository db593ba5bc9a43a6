"""drafts, draft_files, replay_jobs: the HRBP workbench's working copies and replays

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("drafts",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("owner_id", sa.String(length=128), nullable=False),
                    sa.Column("title", sa.String(length=200), nullable=False),
                    sa.Column("base_version", sa.String(length=128), nullable=False),
                    sa.Column("status", sa.String(length=16), nullable=False),
                    sa.Column("created_at", sa.DateTime(), nullable=False),
                    sa.Column("updated_at", sa.DateTime(), nullable=False),
                    sa.Column("submitted_at", sa.DateTime(), nullable=True),
                    sa.Column("review_branch", sa.String(length=200), nullable=True),
                    sa.Column("review_commit", sa.String(length=64), nullable=True),
                    sa.Column("summary", sa.JSON(), nullable=True),
                    sa.Column("reviewer_id", sa.String(length=128), nullable=True),
                    sa.Column("review_comment", sa.Text(), nullable=True),
                    sa.Column("reviewed_at", sa.DateTime(), nullable=True),
                    sa.Column("merged_version", sa.String(length=128), nullable=True),
                    sa.PrimaryKeyConstraint("id"))
    op.create_index("ix_drafts_owner_id", "drafts", ["owner_id"])
    op.create_index("ix_drafts_status", "drafts", ["status"])
    op.create_table("draft_files",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("draft_id", sa.Integer(), sa.ForeignKey("drafts.id"), nullable=False),
                    sa.Column("path", sa.String(length=300), nullable=False),
                    sa.Column("text", sa.Text(), nullable=False),
                    sa.Column("etag", sa.String(length=64), nullable=False),
                    sa.Column("base_sha256", sa.String(length=64), nullable=False),
                    sa.Column("updated_at", sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint("id"),
                    sa.UniqueConstraint("draft_id", "path"))
    op.create_index("ix_draft_files_draft_id", "draft_files", ["draft_id"])
    op.create_table("replay_jobs",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("draft_id", sa.Integer(), sa.ForeignKey("drafts.id"), nullable=False),
                    sa.Column("owner_id", sa.String(length=128), nullable=False),
                    sa.Column("params", sa.JSON(), nullable=False),
                    sa.Column("status", sa.String(length=16), nullable=False),
                    sa.Column("done", sa.Integer(), nullable=False),
                    sa.Column("total", sa.Integer(), nullable=False),
                    sa.Column("result", sa.JSON(), nullable=True),
                    sa.Column("error", sa.Text(), nullable=True),
                    sa.Column("created_at", sa.DateTime(), nullable=False),
                    sa.Column("finished_at", sa.DateTime(), nullable=True),
                    sa.PrimaryKeyConstraint("id"))
    op.create_index("ix_replay_jobs_draft_id", "replay_jobs", ["draft_id"])


def downgrade():
    op.drop_table("replay_jobs")
    op.drop_table("draft_files")
    op.drop_table("drafts")
