"""Claims on outbox rows: a message is taken (`sending`, by whom, until when) in a short
transaction of its own before it is sent, and its result is written in another after — no
transaction stays open across a network send, and no rollback un-sends what went out.

A claim that runs out (its worker died before writing the result) makes the message due
again under the same message id: the one case where a receiver can see a message twice, so
the id travels with every delivery for it to de-duplicate."""
from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from trimtab.server.storage.models import OutboxMessage as M

log = logging.getLogger("trimtab.outbox")
MAX_ATTEMPTS = 6
BASE_DELAY_S = 30


@dataclass(frozen=True)
class Claim:
    """A claimed message as plain values: what a sender needs, no live row."""
    id: int
    message_id: str
    payload: dict
    token: str          # who holds it: the dispatcher's name and this claim's own mark


def backoff(attempts: int, rng=random) -> timedelta:
    """30 s, 60 s, 120 s … with ±20% jitter so retries of a burst do not arrive together."""
    delay = BASE_DELAY_S * (2 ** (attempts - 1))
    return timedelta(seconds=delay * rng.uniform(0.8, 1.2))


def claimable(now):
    """Due and pending, or claimed by a dispatcher whose claim has run out."""
    return or_(and_(M.status == "pending", M.next_attempt_at <= now),
               and_(M.status == "sending", M.claim_expires_at < now))


def due_channels(sessions, now) -> list[str]:
    with sessions() as s:
        return list(s.scalars(select(M.channel).where(claimable(now)).distinct().order_by(M.channel)))


def claim(sessions, channel: str, holder: str, now, lease: timedelta, n: int = 1) -> list[Claim]:
    """Up to `n` of `channel`'s due messages, oldest first, marked `sending` by `holder` until
    `now + lease`.  Rows another dispatcher is claiming are skipped (SKIP LOCKED on PostgreSQL;
    SQLite has one writer at a time), and the UPDATE checks again that each is claimable; the
    token is new for every call, so two senders of one dispatcher never share a claim."""
    token = f"{holder}/{uuid.uuid4().hex[:8]}"
    with sessions() as s, s.begin():
        ids = s.scalars(select(M.id).where(M.channel == channel, claimable(now)).order_by(M.id)
                        .limit(n).with_for_update(skip_locked=True)).all()
        if not ids:
            return []
        expired = M.status == "sending"         # its last holder never wrote a result
        s.execute(update(M).where(M.id.in_(ids), claimable(now)).values(
            status="sending", claimed_by=token, claim_expires_at=now + lease,
            attempts=M.attempts + case((expired, 1), else_=0),
            last_error=case((expired, literal("claim by ") + M.claimed_by + " ran out"),
                            else_=M.last_error)).execution_options(synchronize_session=False))
        rows = s.execute(select(M.id, M.message_id, M.payload)
                         .where(M.id.in_(ids), M.claimed_by == token, M.status == "sending")
                         .order_by(M.id)).all()
    return [Claim(*row, token) for row in rows]


def record_sent(sessions, ids: list[int], at, digest_id: str | None = None) -> None:
    """Sent: whoever holds the claim now, the message went out (idempotent, safe to retry)."""
    values = dict(status="sent", sent_at=at, attempts=M.attempts + 1, claimed_by=None,
                  claim_expires_at=None)
    if digest_id is not None:
        values["digest_id"] = digest_id
    with sessions() as s, s.begin():
        s.execute(update(M).where(M.id.in_(ids), M.status != "sent").values(**values)
                  .execution_options(synchronize_session=False))


def record_failed(sessions, claimed: Claim, error: str, now, rng=random) -> str | None:
    """A failed attempt: due again after a backoff, or dead after MAX_ATTEMPTS.  Nothing if
    the claim is no longer this one (it ran out and another dispatcher took the message)."""
    with sessions() as s, s.begin():
        row = s.get(M, claimed.id, with_for_update=True)
        if row is None or row.status != "sending" or row.claimed_by != claimed.token:
            return None
        row.attempts += 1
        row.last_error, row.claimed_by, row.claim_expires_at = error, None, None
        if row.attempts >= MAX_ATTEMPTS:
            row.status = "dead"
            log.error("outbox: message %s dead after %d attempts: %s", row.message_id,
                      row.attempts, error)
            return "dead"
        row.status, row.next_attempt_at = "pending", now + backoff(row.attempts, rng)
        return "retry"


def release(sessions, claimed: list[Claim], error: str, next_at) -> None:
    """Give claims back unsent (a digest that failed): due again at `next_at`."""
    with sessions() as s, s.begin():
        s.execute(update(M).where(M.id.in_([c.id for c in claimed]), M.status == "sending",
                                  M.claimed_by.in_({c.token for c in claimed}))
                  .values(status="pending", claimed_by=None, claim_expires_at=None,
                          last_error=error, next_attempt_at=next_at)
                  .execution_options(synchronize_session=False))


def used_in_window(sessions, channel: str, window_start) -> int:
    """What a rate-limited channel spent in its window: messages sent singly, each digest once,
    and messages being sent now."""
    recent = (M.channel == channel, M.sent_at >= window_start)
    with sessions() as s:
        singles = s.scalar(select(func.count()).select_from(M)
                           .where(*recent, M.digest_id.is_(None))) or 0
        digests = s.scalar(select(func.count(func.distinct(M.digest_id)))
                           .where(*recent, M.digest_id.is_not(None))) or 0
        sending = s.scalar(select(func.count()).select_from(M)
                           .where(M.channel == channel, M.status == "sending")) or 0
    return singles + digests + sending


def count_due(sessions, channel: str, now) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(M)
                        .where(M.channel == channel, claimable(now))) or 0


DB_DOWN = (OperationalError, InterfaceError)


def persist(write, within_s: float, what: str):
    """Run `write()` (a short transaction of its own), again on a lost connection until
    `within_s` is spent: a result that is not written gets its message sent again."""
    deadline, pause = time.monotonic() + within_s, 0.25
    while True:
        try:
            return write()
        except DBAPIError as err:
            if not (isinstance(err, DB_DOWN) or err.connection_invalidated) \
                    or time.monotonic() + pause > deadline:
                raise
            log.warning("outbox: writing %s failed (%s); again in %.2f s", what,
                        err.orig.__class__.__name__ if err.orig else err.__class__.__name__, pause)
            time.sleep(pause)
            pause = min(pause * 2, 4.0)
