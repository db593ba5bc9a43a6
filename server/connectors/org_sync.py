"""`trimtab sync org`: a platform's directory → the organisation chart, incrementally.

read (dingtalk_org / feishu_org) → map (the mapping YAML: regions and roles) → compare with
the stored people → changes (added, changed fields, deactivated) → write them and one audit
entry, or, for a dry run, only say them.  Nobody is deleted: a person whose platform id the
directory no longer lists is marked inactive (people.active, people.left_at).  People the
directory never named (loaded from a CSV without this platform's id) are left alone.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import yaml
from sqlalchemy import select

from trimtab.server.connectors.directory import Directory, Member
from trimtab.server.domain import audit
from trimtab.server.storage.models import Person, PersonIdentity, utcnow

# The identity a platform's member id is stored under (PersonIdentity.kind).
ID_KIND = {"dingtalk": "dingtalk_userid", "feishu": "feishu_open_id"}
UNION_KIND = {"dingtalk": None, "feishu": "feishu_union_id"}
FIELDS = ("name", "role", "region", "manager_id", "hrbp_id", "email", "mobile")


class Mapping(NamedTuple):
    regions: dict           # department name → region
    titles: dict            # job title → role
    departments: dict       # department name → role
    default_role: str

    @classmethod
    def load(cls, path) -> "Mapping":
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        roles = doc.get("roles") or {}
        return cls({str(k): str(v) for k, v in (doc.get("regions") or {}).items()},
                   {str(k): str(v) for k, v in (roles.get("titles") or {}).items()},
                   {str(k): str(v) for k, v in (roles.get("departments") or {}).items()},
                   str(roles.get("default") or "rep"))

    def region(self, path: list[str]) -> str | None:
        """The region of the nearest department (from the member's own upwards) listed."""
        return next((self.regions[n] for n in path if n in self.regions), None)

    def role(self, title: str, path: list[str]) -> str:
        if title in self.titles:
            return self.titles[title]
        return next((self.departments[n] for n in path if n in self.departments), self.default_role)


class Changes(NamedTuple):
    platform: str
    added: list[dict]                   # the new people's fields
    changed: list[tuple[str, dict]]     # (person id, {field: (before, after)})
    deactivated: list[str]
    reactivated: list[str]

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.deactivated or self.reactivated)

    def lines(self) -> list[str]:
        out = [f"+ {p['id']} ({p['name']}, {p['role']}, {p['region'] or '-'}, manager "
               f"{p['manager_id'] or '-'})" for p in self.added]
        for pid, fields in self.changed:
            out.append(f"~ {pid}: " + "; ".join(f"{f} {_show(a)} → {_show(b)}"
                                               for f, (a, b) in sorted(fields.items())))
        out += [f"- {pid} (left {self.platform}: deactivated)" for pid in self.deactivated]
        out += [f"* {pid} (back in {self.platform}: active again)" for pid in self.reactivated]
        return out

    def summary(self) -> dict:
        return {"platform": self.platform, "added": [p["id"] for p in self.added],
                "changed": {pid: sorted(f) for pid, f in self.changed},
                "deactivated": self.deactivated, "reactivated": self.reactivated}


def _show(value) -> str:
    return "-" if value in (None, "") else str(value)


def plan(session, directory: Directory, mapping: Mapping) -> Changes:
    """What the directory changes in the stored chart (nothing is written)."""
    kind, union_kind = ID_KIND[directory.platform], UNION_KIND[directory.platform]
    held = dict(session.execute(select(PersonIdentity.value, PersonIdentity.person_id)
                                .where(PersonIdentity.kind == kind)).all())
    person_of = {pid: held.get(pid, pid) for pid in directory.members}      # platform id → person id
    wanted = {}
    for m in directory.members.values():
        path = directory.path(m)
        boss = directory.manager_of(m)
        wanted[person_of[m.platform_id]] = {
            "id": person_of[m.platform_id], "name": m.name or m.platform_id,
            "role": mapping.role(m.title, path), "region": mapping.region(path),
            "manager_id": person_of.get(boss) if boss else None, "hrbp_id": None,
            "email": m.email, "mobile": m.mobile,
            "identities": _identities(m, kind, union_kind)}
    hrbps = {}                      # region → its HRBP (the first by id), for the region's people
    for p in sorted(wanted.values(), key=lambda p: p["id"]):
        if p["role"] == "hrbp" and p["region"]:
            hrbps.setdefault(p["region"], p["id"])
    for p in wanted.values():
        if p["role"] != "hrbp":
            p["hrbp_id"] = hrbps.get(p["region"])
    stored = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(list(wanted))))}
    known = _stored_identities(session, list(stored), {k for p in wanted.values() for k in p["identities"]})
    added, changed, reactivated = [], [], []
    for pid in sorted(wanted):
        p, row = wanted[pid], stored.get(pid)
        if row is None:
            added.append(p)
            continue
        diff = {f: (getattr(row, f), p[f]) for f in FIELDS if (getattr(row, f) or None) != p[f]}
        for k, v in p["identities"].items():
            if known.get((pid, k)) != v:
                diff[k] = (known.get((pid, k)), v)
        if diff:
            changed.append((pid, diff))
        if row.active is False:
            reactivated.append(pid)
    gone = [pid for value, pid in sorted(held.items(), key=lambda kv: kv[1])
            if value not in directory.members]
    deactivated = [pid for pid in gone if pid not in wanted and
                   (session.get(Person, pid) is not None and session.get(Person, pid).active)]
    return Changes(directory.platform, added, changed, deactivated, reactivated)


def _identities(m: Member, kind: str, union_kind: str | None) -> dict:
    ids = {kind: m.platform_id}
    if union_kind and m.union_id:
        ids[union_kind] = m.union_id
    if m.email:
        ids["email"] = m.email.lower()
    if m.mobile:
        ids["mobile"] = m.mobile
    return ids


def _stored_identities(session, person_ids: list, kinds: set) -> dict:
    rows = session.execute(select(PersonIdentity.person_id, PersonIdentity.kind, PersonIdentity.value)
                           .where(PersonIdentity.person_id.in_(person_ids),
                                  PersonIdentity.kind.in_(kinds))).all()
    return {(pid, kind): value for pid, kind, value in rows}


def apply(session, changes: Changes, actor: str, ruleset_version: str) -> list[str]:
    """Write `changes` and one audit entry in the caller's transaction → warnings (a platform
    id or e-mail another person already holds is left with them, and said)."""
    warnings: list[str] = []
    now = utcnow()
    for p in changes.added:
        session.add(Person(id=p["id"], **{f: p[f] for f in FIELDS}, active=True))
        session.flush()
        _set_identities(session, p["id"], p["identities"], warnings)
    for pid, diff in changes.changed:
        row = session.get(Person, pid)
        for field, (_before, after) in diff.items():
            if field in FIELDS:
                setattr(row, field, after)
        _set_identities(session, pid, {k: v for k, (_b, v) in diff.items() if k not in FIELDS}, warnings)
    for pid in changes.reactivated:
        row = session.get(Person, pid)
        row.active, row.left_at = True, None
    for pid in changes.deactivated:
        row = session.get(Person, pid)
        row.active, row.left_at = False, now
    audit.append(session, action="org_synced", subject=f"org:{changes.platform}", actor=actor,
                 details={**changes.summary(), "warnings": warnings}, ruleset_version=ruleset_version)
    return warnings


def _set_identities(session, person_id: str, identities: dict, warnings: list[str]) -> None:
    for kind, value in identities.items():
        owner = session.scalars(select(PersonIdentity.person_id).where(
            PersonIdentity.kind == kind, PersonIdentity.value == value)).first()
        if owner not in (None, person_id):
            warnings.append(f"{kind} of {person_id} is already {owner}'s: left with {owner}")
            continue
        mine = session.scalars(select(PersonIdentity).where(
            PersonIdentity.person_id == person_id, PersonIdentity.kind == kind)).all()
        for old in mine:
            session.delete(old)
        session.flush()
        if value:
            session.add(PersonIdentity(person_id=person_id, kind=kind, value=value))
    session.flush()


def sync(sessions, directory: Directory, mapping: Mapping, *, dry_run: bool, actor: str,
         ruleset_version: str) -> tuple[Changes, list[str]]:
    """Plan, then write (unless `dry_run` or nothing changed) → (changes, warnings)."""
    with sessions() as session, session.begin():
        changes = plan(session, directory, mapping)
        if dry_run or changes.empty:
            session.rollback()
            return changes, []
        return changes, apply(session, changes, actor, ruleset_version)
