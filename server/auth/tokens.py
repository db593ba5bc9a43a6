"""Personal API tokens: `tt_` + 43 random characters, shown once; the database keeps only the
SHA-256 (a token has 256 bits of entropy, so a fast hash is enough — no password to stretch)."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from trimtab.server.storage.models import ApiToken, Person, utcnow

PREFIX = "tt_"
SHAPE = re.compile(r"tt_[A-Za-z0-9_-]{43}")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def parse_expiry(text: str | None) -> dt.timedelta | None:
    """`90d`, `12h`, `2w` → a duration; None or `never` → no expiry."""
    if text in (None, "", "never"):
        return None
    match = re.fullmatch(r"([1-9][0-9]{0,4})([hdw])", text.strip())
    if not match:
        raise ValueError(f"`{text}` is not a duration such as 90d, 12h or 2w")
    n, unit = int(match.group(1)), match.group(2)
    return dt.timedelta(hours=n) if unit == "h" else dt.timedelta(days=n * (7 if unit == "w" else 1))


def issue(session: Session, person_id: str, expires_in: dt.timedelta | None = None,
          label: str | None = None) -> tuple[str, ApiToken]:
    """(the token, its row) for a person of the chart; LookupError if there is no such person."""
    if session.get(Person, person_id) is None:
        raise LookupError(f"`{person_id}` is not in the organisation chart")
    token = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(person_id=person_id, token_sha256=digest(token), prefix=token[:7], label=label,
                   created_at=now, expires_at=now + expires_in if expires_in else None)
    session.add(row)
    session.flush()
    return token, row


def revoke(session: Session, person_id: str, token_id: int | None = None) -> int:
    """Revoke one token of a person (by id) or all of them → how many were revoked."""
    q = select(ApiToken).where(ApiToken.person_id == person_id, ApiToken.revoked_at.is_(None))
    if token_id is not None:
        q = q.where(ApiToken.id == token_id)
    rows = session.scalars(q).all()
    for row in rows:
        row.revoked_at = utcnow()
    return len(rows)


def person_for(session: Session, token: str) -> Person | None:
    """The person a live token belongs to, or None (unknown, revoked, expired, or the person
    left the chart)."""
    if not SHAPE.fullmatch(token):
        return None
    row = session.scalars(select(ApiToken).where(ApiToken.token_sha256 == digest(token))).first()
    now = utcnow()
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        return None
    person = session.get(Person, row.person_id)
    if person is not None and (row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=5)):
        row.last_used_at = now         # coarse: not a write on every request
    return person
