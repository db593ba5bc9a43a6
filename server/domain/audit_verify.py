"""`trimtab audit verify`: walk the audit chain, then hold it against its head and anchors.

The first problem found is reported, named by entry: an edited entry (its content does not
match its hash), a forged one (inserted: the chain passes over it, or it lies past every entry
the head and anchors know), a reordered one (its content hashes right only at another id), a
deleted one (the next entry's prev_hash names a hash no entry has), and a truncated log (an
anchor names an entry past the end).  Anchors are checked after the chain: they catch what a
consistent chain cannot show — entries removed from its end, or the whole table emptied.
"""
from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from trimtab.server.domain.audit import GENESIS, Head, current_head, entry_hash, sign
from trimtab.server.storage.models import AuditEntry


@dataclass
class Report:
    ok: bool
    count: int
    message: str
    anchors: int = 0
    warnings: list = field(default_factory=list)


@dataclass(frozen=True)
class Anchor:
    line: int
    at: str
    id: int
    hash: str
    count: int


class AnchorFileError(Exception):
    """An anchor line that is not JSON, lacks a field or carries a wrong signature."""


def read_anchors(path: Optional[Path], key: bytes) -> list[Anchor]:
    if path is None or not path.exists():
        return []
    anchors = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip():
            continue
        try:
            doc = json.loads(text)
            body = {k: doc[k] for k in ("at", "id", "hash", "count")}
            sig = doc["sig"]
        except (ValueError, KeyError, TypeError):
            raise AnchorFileError(f"{path}:{number}: not an anchor line (the anchor file was edited)")
        if not isinstance(sig, str) or not hmac.compare_digest(sig, sign(key, body)):
            raise AnchorFileError(f"{path}:{number}: the anchor's signature does not match "
                                  f"(the anchor file was edited, or the audit key is not the one "
                                  f"that wrote it)")
        anchors.append(Anchor(number, **body))
    return anchors


def verify(session: Session, key: bytes, anchor_path: Optional[Path]) -> Report:
    """Walk every entry in id order; then the head row; then each anchor."""
    try:
        anchors = read_anchors(anchor_path, key)
    except AnchorFileError as err:
        return Report(False, 0, str(err))
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    head = current_head(session)
    problem = (_walk(rows, key, head, anchors) or _against_anchors(rows, anchors)
               or _against_head(rows, head))
    if problem:
        return Report(False, len(rows), problem, len(anchors))
    warnings = [] if anchors else [f"no anchors in {anchor_path}: entries removed from the end "
                                   f"of the log would not be noticed"]
    last = f" up to entry {rows[-1].id}" if rows else ""
    return Report(True, len(rows), f"OK: {_n(len(rows), 'audit entry', 'audit entries')}, chain "
                                   f"intact{last}; {_n(len(anchors), 'anchor')} match",
                  len(anchors), warnings)


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"


def _walk(rows: list, key: bytes, head: Optional[Head], anchors: list[Anchor]) -> Optional[str]:
    prev = None
    for i, row in enumerate(rows):
        expected = prev.hash if prev is not None else GENESIS
        if not hmac.compare_digest(entry_hash(key, row), row.hash):
            return _bad_content(rows, i, expected, key, head, anchors)
        if row.prev_hash != expected:
            return (f"entry after {prev.id} is missing (deleted): entry {row.id} follows "
                    f"another entry" if prev is not None else
                    f"entries before {row.id} are missing (deleted): entry {row.id} is not "
                    f"the first of the chain")
        prev = row
    return None


def _bad_content(rows, i, expected, key, head, anchors) -> str:
    """Entry rows[i] does not hash to its `hash`: reordered, inserted, or edited?"""
    row = rows[i]
    nxt = rows[i + 1] if i + 1 < len(rows) else None
    home = _home_of(rows, i, key)
    if home is not None:
        return f"audit entry {row.id} holds the content of entry {home.id} (reordered)"
    copy = next((r for r in rows if r is not row and r.hash == row.hash), None)
    if copy is not None:
        return f"audit entry {row.id} is a copy of entry {copy.id} (inserted)"
    # the last entry anyone vouches for: the anchors (out of the database's reach), else the head
    known = max(a.id for a in anchors) if anchors else (head.id if head else 0)
    if (nxt is not None and nxt.prev_hash == expected) or (nxt is None and row.id > known):
        return f"audit entry {row.id} is not part of the chain (inserted)"
    return f"audit entry {row.id}: content does not match its hash (edited)"


def _home_of(rows, i, key):
    """The other entry whose place rows[i]'s content belongs in, if any: its content hashes
    right with that entry's id (and either entry's prev_hash and hash)."""
    row = rows[i]
    for other in rows:
        if other is row:
            continue
        for prev_hash, digest in ((row.prev_hash, row.hash), (other.prev_hash, other.hash)):
            moved = _Moved(row, other.id, prev_hash)
            if hmac.compare_digest(entry_hash(key, moved), digest):
                return other
    return None


class _Moved:
    """An entry's content as if it stood at another id with another prev_hash."""

    def __init__(self, row, id_, prev_hash):
        self.id, self.prev_hash = id_, prev_hash
        self.at, self.action, self.subject, self.actor = row.at, row.action, row.subject, row.actor
        self.details, self.ruleset_version = row.details, row.ruleset_version


def _against_anchors(rows: list, anchors: list[Anchor]) -> Optional[str]:
    """Each anchor's entry must be in the log, with the anchored hash and position."""
    position = {r.id: (n, r) for n, r in enumerate(rows, 1)}
    last = rows[-1].id if rows else 0
    for a in sorted(anchors, key=lambda a: a.id):
        if a.count == 0:
            continue
        if a.id not in position:
            if a.id > last:
                where = (f"the log is empty, its anchors record {max(x.count for x in anchors)} "
                         f"entries" if not rows else f"entries after {last} are missing")
                return f"anchor at entry {a.id} not found: the log was truncated ({where})"
            return f"anchor at entry {a.id} not found: entry {a.id} was deleted"
        n, row = position[a.id]
        if row.hash != a.hash:
            return (f"audit entry {a.id} differs from its anchor of {a.at} (the chain from "
                    f"there was rewritten)")
        if n != a.count:
            return (f"entry {a.id} is entry number {n} of the log, its anchor of {a.at} says "
                    f"{a.count} (entries before it were deleted or inserted)")
    return None


def _against_head(rows: list, head: Optional[Head]) -> Optional[str]:
    if head is None:
        return "the audit head row is missing (audit_head was edited)"
    last_id, last_hash = (rows[-1].id, rows[-1].hash) if rows else (0, GENESIS)
    if head.id > last_id:
        return (f"entry after {last_id} is missing (deleted): the audit head records "
                f"{head.count} entries up to entry {head.id}")
    if (head.id, head.hash, head.count) != (last_id, last_hash, len(rows)):
        return f"the audit head does not match entry {last_id}, the last entry (audit_head was edited)"
    return None
