"""Persistence of the HRBP workbench: drafts (a person's working copy of some rule files),
their files, and replay jobs over recorded facts.  SQLAlchemy 2.0 style; times are UTC.
Kept apart from models.py (same Base, same migrations) so neither module holds two ideas."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trimtab.server.storage.models import Base, utcnow


class Draft(Base):
    """An HRBP's working copy of one or more published rule files.  `status`: open (being
    edited) → submitted (a commit on `review_branch`, in IT's queue) → accepted (merged and
    served) or returned (sent back with a comment; editable and submittable again)."""
    __tablename__ = "drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(128), index=True)
    title: Mapped[str] = mapped_column(String(200))
    base_version: Mapped[str] = mapped_column(String(128))    # the served version it was opened from
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[Optional[dt.datetime]]
    review_branch: Mapped[Optional[str]] = mapped_column(String(200))
    review_commit: Mapped[Optional[str]] = mapped_column(String(64))
    summary: Mapped[Optional[dict]] = mapped_column(JSON)       # diff, replay, tests when submitted
    reviewer_id: Mapped[Optional[str]] = mapped_column(String(128))
    review_comment: Mapped[Optional[str]] = mapped_column(Text)
    reviewed_at: Mapped[Optional[dt.datetime]]
    merged_version: Mapped[Optional[str]] = mapped_column(String(128))


class DraftFile(Base):
    """One file of a draft: its text as the HRBP left it, and the ETag (SHA-256 of the text)
    a PUT must name so two editors cannot overwrite each other unseen."""
    __tablename__ = "draft_files"
    __table_args__ = (UniqueConstraint("draft_id", "path"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True)
    path: Mapped[str] = mapped_column(String(300))              # as the rule set names it
    text: Mapped[str] = mapped_column(Text)
    etag: Mapped[str] = mapped_column(String(64))
    base_sha256: Mapped[str] = mapped_column(String(64))        # the published text when opened
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReplayJob(Base):
    """A replay of a draft over recorded facts: queued → running → done | failed, with its
    progress (`done` of `total` records) and the report when done."""
    __tablename__ = "replay_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True)
    owner_id: Mapped[str] = mapped_column(String(128))
    params: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    result: Mapped[Optional[dict]] = mapped_column(JSON)
    error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[Optional[dt.datetime]]
