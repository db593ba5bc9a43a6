"""The audit log as a keyed hash chain, with its head anchored outside the database.

Each entry stores `prev_hash` (the hash of the entry before it; GENESIS for the first) and
`hash` = HMAC-SHA256(audit key, canonical JSON of every column but `hash`).  The key is not in
the database (config AUDIT_KEY), so someone who can only write to the database cannot compute
the hash of an edited or forged entry.  `append` is the one way entries are written: it locks
the one-row `audit_head` in the caller's transaction, so concurrent writers form one line.

After a transaction that appended commits, the new head (id, hash, count) is written as a
signed line to the anchor file (AUDIT_ANCHOR_PATH, append-only JSON lines), logged at INFO on
"trimtab.audit" and, when AUDIT_ANCHOR_URL is set, POSTed there.  `audit_verify` walks the
chain and compares it with the anchors.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, sessionmaker

from trimtab.server.storage.models import AuditEntry, AuditHead, utcnow

GENESIS = "0" * 64
LOG = logging.getLogger("trimtab.audit")
SETTINGS_KEY, PENDING_KEY = "trimtab.audit", "trimtab.audit.head"
DAY_S = 24 * 3600


@dataclass(frozen=True)
class AuditSettings:
    key: bytes
    anchor_path: Optional[Path] = None
    anchor_url: Optional[str] = None
    timeout_s: float = 5.0

    @classmethod
    def from_config(cls, config) -> AuditSettings:
        key = config["AUDIT_KEY"]
        path = config.get("AUDIT_ANCHOR_PATH")
        return cls(key=key.encode("utf-8") if isinstance(key, str) else key,
                   anchor_path=Path(path) if path else None,
                   anchor_url=config.get("AUDIT_ANCHOR_URL") or None)


@dataclass(frozen=True)
class Head:
    """The chain's end: the last entry's id and hash, and how many entries there are."""
    id: int
    hash: str
    count: int


# ---------------------------------------------------------------------- hashing
def canonical(doc: dict) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def content(entry) -> dict:
    """Everything an entry says, as hashed: every column but `hash` itself."""
    return {"id": entry.id, "at": entry.at.isoformat(), "action": entry.action,
            "subject": entry.subject, "actor": entry.actor, "details": entry.details,
            "ruleset_version": entry.ruleset_version, "prev_hash": entry.prev_hash}


def sign(key: bytes, doc: dict) -> str:
    return hmac.new(key, canonical(doc), hashlib.sha256).hexdigest()


def entry_hash(key: bytes, entry) -> str:
    return sign(key, content(entry))


# ---------------------------------------------------------------------- writing
def bind(sessions: sessionmaker, settings: AuditSettings) -> sessionmaker:
    """Sessions from `sessions` can append (they carry the key) and anchor after commit."""
    sessions.configure(info={SETTINGS_KEY: settings})
    event.listen(sessions, "after_commit", _after_commit)
    event.listen(sessions, "after_rollback", _after_rollback)
    return sessions


def append(session: Session, *, action: str, subject: str, actor: str, details: dict,
           ruleset_version: str) -> AuditEntry:
    """Add one entry at the end of the chain, in the caller's transaction."""
    settings = session.info.get(SETTINGS_KEY)
    if settings is None:
        raise RuntimeError("this session cannot write the audit log: it has no audit key "
                           "(make its sessionmaker with trimtab.server.domain.audit.bind)")
    head = _lock_head(session)
    entry = AuditEntry(id=head.id + 1, at=utcnow(), action=action, subject=subject, actor=actor,
                       details=json.loads(json.dumps(details, ensure_ascii=False)),  # as stored
                       ruleset_version=ruleset_version, prev_hash=head.hash)
    entry.hash = entry_hash(settings.key, entry)
    session.add(entry)
    new = Head(entry.id, entry.hash, head.count + 1)
    session.execute(update(AuditHead).where(AuditHead.id == 1)
                    .values(last_id=new.id, last_hash=new.hash, count=new.count)
                    .execution_options(synchronize_session=False))
    session.info[PENDING_KEY] = new
    return entry


def _lock_head(session: Session) -> Head:
    """The head, locked until the transaction ends.  An UPDATE takes the row lock on PostgreSQL
    (waiting for a concurrent writer, then reading its committed row) and the write lock on
    SQLite, so no two transactions extend the chain from the same head."""
    row = session.execute(update(AuditHead).where(AuditHead.id == 1)
                          .values(count=AuditHead.count)
                          .returning(AuditHead.last_id, AuditHead.last_hash, AuditHead.count)
                          .execution_options(synchronize_session=False)).one_or_none()
    if row is None:
        raise RuntimeError("the audit head row is missing (run `trimtab migrate`; "
                           "if it was, `trimtab audit verify`)")
    return Head(*row)


def current_head(session: Session) -> Optional[Head]:
    row = session.execute(select(AuditHead.last_id, AuditHead.last_hash, AuditHead.count)
                          .where(AuditHead.id == 1)).one_or_none()
    return Head(*row) if row else None


def _after_commit(session: Session) -> None:
    head = session.info.pop(PENDING_KEY, None)
    if head is not None:
        write_anchor(session.info[SETTINGS_KEY], head)


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


# ---------------------------------------------------------------------- anchors
def anchor_line(key: bytes, head: Head, at: dt.datetime | None = None) -> dict:
    body = {"at": (at or utcnow()).isoformat(timespec="seconds") + "Z", "id": head.id,
            "hash": head.hash, "count": head.count}
    return {**body, "sig": sign(key, body)}


def write_anchor(settings: AuditSettings, head: Head) -> dict:
    """Append the signed head to the anchor file, the log and the anchor URL.  Never raises:
    the transaction is already committed, and a missing anchor only weakens a later check."""
    line = anchor_line(settings.key, head)
    text = json.dumps(line, separators=(",", ":"))
    LOG.info("audit anchor %s", text)
    if settings.anchor_path is not None:
        try:
            settings.anchor_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(settings.anchor_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (text + "\n").encode("utf-8"))    # one write: whole lines only
            finally:
                os.close(fd)
        except OSError as err:
            LOG.error("cannot write audit anchor to %s: %s", settings.anchor_path, err)
    if settings.anchor_url:
        _post(settings, line)
    return line


def _post(settings: AuditSettings, line: dict) -> None:
    import requests
    try:
        r = requests.post(settings.anchor_url, json=line, timeout=settings.timeout_s)
        if not r.ok:
            LOG.error("audit anchor POST answered %s", r.status_code)
    except requests.RequestException as err:
        LOG.error("audit anchor POST failed: %s", err.__class__.__name__)


def anchor_now(sessions: sessionmaker) -> Optional[dict]:
    """Write an anchor of the current head (the daily anchor, `trimtab audit anchor`)."""
    with sessions() as session:
        head = current_head(session)
        settings = session.info[SETTINGS_KEY]
    return write_anchor(settings, head) if head else None


def start_daily_anchor(sessions: sessionmaker, every_s: float = DAY_S) -> threading.Event:
    """Anchor now and then every day, on a daemon thread; set the returned event to stop."""
    stop = threading.Event()

    def run():
        while True:
            try:
                anchor_now(sessions)
            except Exception as err:         # a database that is down: try again tomorrow
                LOG.error("daily audit anchor failed: %s", err.__class__.__name__)
            if stop.wait(every_s):
                return
    threading.Thread(target=run, name="trimtab-audit-anchor", daemon=True).start()
    return stop
