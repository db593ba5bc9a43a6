"""Target changes through the approval chain: opened by a rule, decided step by step by the
people the organisation chart names — never by the person who asked for the change or whom
it concerns — and applied to the stored target when the last step approves.

Each decision is taken by the authenticated principal (or their delegate for the day) on the
figures the server holds: a request that states another current target is refused before
anything opens."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from trimtab.dsl.decision import plain

from trimtab.server.domain import audit
from trimtab.server.messages import msg
from trimtab.server.core.errors import DomainError
from trimtab.server.storage.models import Approval, ApprovalStep, Delegation, Person, Target, utcnow


# ---------------------------------------------------------------------- the people
def person(session: Session, person_id) -> Person | None:
    return session.get(Person, str(person_id)) if person_id not in (None, "") else None


def resolve_role(session: Session, role: str, subject: Person) -> Person | None:
    """The person who plays `role` for `subject` in the organisation chart."""
    if role in ("subject", "rep"):
        return subject
    if role == "direct_manager":
        return person(session, subject.manager_id)
    if role == "hrbp" and subject.hrbp_id:
        return person(session, subject.hrbp_id)
    return _holder(session, role, subject.region, exclude=())


def _holder(session: Session, role: str, region, exclude) -> Person | None:
    """Someone holding `role` in `region`, else HQ-wide (no region); not one of `exclude`."""
    for where in (Person.region == region, Person.region.is_(None)):
        found = session.scalars(select(Person).where(Person.role == role, where, Person.active.is_(True),
                                                     Person.id.not_in(list(exclude) or [""]))
                                .order_by(Person.id)).first()
        if found is not None:
            return found
    return None


# When the line of managers above a conflicted approver runs out, these roles take the step
# (in the subject's region first, then HQ-wide).
ESCALATION_ROLES = ("regional_manager", "sales_director", "headquarters")


def independent(session: Session, named: Person, role: str, conflicted: dict,
                subject: Person) -> tuple[Person, str | None]:
    """(who takes the step, why it is not `named`): `named` unless they requested the change
    or it concerns them — then the next person up their line of managers, else another holder
    of the step's role, else a holder of an escalation role.  `conflicted`: person id → the
    reason ("requested_by", "subject")."""
    if named.id not in conflicted:
        return named, None
    reason, seen, up = conflicted[named.id], {named.id}, person(session, named.manager_id)
    while up is not None and up.id not in seen:
        if up.id not in conflicted:
            return up, reason
        seen.add(up.id)
        up = person(session, up.manager_id)
    same_role = () if role in ("direct_manager", "subject", "rep") else (role,)
    for candidate in same_role + ESCALATION_ROLES:
        other = _holder(session, candidate, subject.region, exclude=set(conflicted))
        if other is not None:
            return other, reason
    raise DomainError("no_independent_approver",
                      msg("`{id}` may not approve this change ({reason}) and no one above them, nor another "
                          "{role}, can take the step",
                          id=named.id, reason=reason, role=role), "$.rep")


# ---------------------------------------------------------------------- the figures held
def check_current_target(session: Session, facts: dict) -> None:
    """A change is judged on the stored target: a request stating another current value is
    refused (409) and nothing opens."""
    if "current_target" not in facts or "rep" not in facts:
        return
    metric = str(facts.get("metric", "target"))
    stored = session.scalars(select(Target).where(Target.subject == str(facts["rep"]),
                                                  Target.metric == metric)).first()
    if stored is None:
        raise DomainError("no_current_target",
                          msg("`{rep}` has no stored {metric} target: set or import it first (a change needs "
                              "the figure it changes)", rep=facts['rep'], metric=metric), "$.current_target")
    held = Decimal(stored.value)
    if Decimal(str(facts["current_target"])) != held:
        raise DomainError("stale_current_target",
                          msg("the stored {metric} target of `{rep}` is {held}, not {given}",
                              metric=metric, rep=facts['rep'], held=plain(held),
                              given=plain(facts['current_target'])), "$.current_target",
                          stored=plain(held))


# ---------------------------------------------------------------------- opening
def open_approval(session: Session, decision, fact_id: int, facts: dict, version: str) -> Approval:
    subject = person(session, facts.get("rep"))
    if subject is None:
        raise DomainError("unknown_subject", msg("the change names no known rep"), "$.rep")
    requester = facts.get("requested_by")
    if requester is not None and person(session, requester) is None:
        raise DomainError("unknown_subject", msg("`{requester}` is not in the organisation chart",
                                                 requester=requester),
                          "$.requested_by")
    conflicted = {str(requester): "requested_by"} if requester is not None else {}
    conflicted[subject.id] = "subject"          # the stronger reason when both hold
    approval = Approval(fact_id=fact_id, rule=decision.rule, subject=subject.id,
                        metric=str(facts.get("metric", "target")),
                        before=Decimal(str(facts["current_target"])),
                        after=Decimal(str(facts["proposed_target"])),
                        reason=str(facts.get("reason") or ""), evidence=list(facts.get("evidence") or []),
                        status="pending", position=0, ruleset_version=version,
                        requested_by=str(requester) if requester is not None else None)
    session.add(approval)
    session.flush()
    for position, step in enumerate(decision.details["steps"]):
        for role in step["roles"]:
            named = resolve_role(session, role, subject)
            if named is None:
                raise DomainError("unresolved_role",
                                  msg("no one holds role `{role}` for `{id}` in the organisation chart",
                                      role=role, id=subject.id),
                                  "$.rep")
            who, why = independent(session, named, role, conflicted, subject)
            session.add(ApprovalStep(approval_id=approval.id, position=position, kind=step["type"],
                                     role=role, approver_id=who.id, status="waiting",
                                     substitutes_for=named.id if why else None, substitution=why))
    session.flush()
    session.refresh(approval)
    return approval


def approval_json(a: Approval) -> dict:
    return {"id": a.id, "status": a.status, "subject": a.subject, "metric": a.metric,
            "before": plain(a.before), "after": plain(a.after), "reason": a.reason,
            "evidence": a.evidence, "position": a.position, "ruleset_version": a.ruleset_version,
            "requested_by": a.requested_by,
            "steps": [{"position": s.position, "kind": s.kind, "role": s.role,
                       "approver": s.approver_id, "status": s.status, "comment": s.comment,
                       "acted_by": s.acted_by, "substitutes_for": s.substitutes_for,
                       "substitution": s.substitution}
                      for s in a.steps],
            "waiting_for": [s.approver_id for s in a.steps
                            if s.position == a.position and s.status == "waiting"]
            if a.status == "pending" else []}


def named_in(a: Approval, person_id: str | None) -> bool:
    """Does the approval name this person — requester, approver, substitute or delegate?"""
    return person_id is not None and (a.requested_by == person_id or any(
        person_id in (s.approver_id, s.acted_by, s.substitutes_for) for s in a.steps))


# ---------------------------------------------------------------------- deciding
def lock(session: Session, approval_id: int) -> Approval:
    """The approval, locked for this transaction: concurrent decisions on it are serialised
    (PostgreSQL: the row lock; SQLite: the caller's BEGIN IMMEDIATE)."""
    approval = session.scalars(select(Approval).where(Approval.id == approval_id)
                               .with_for_update()).first()
    if approval is None:
        raise DomainError("not_found", msg("no approval {approval_id}", approval_id=approval_id), "$.id")
    return approval


def decide(session: Session, approval_id: int, verdict: str, actor: str, comment: str | None,
           evidence: list, today: dt.date) -> Approval:
    """`actor`: the authenticated person.  403 when they may not take the waiting step, 409
    when the approval or their step was decided meanwhile."""
    approval = lock(session, approval_id)
    if approval.status != "pending":
        raise DomainError("approval_closed", msg("approval {approval_id} is already {status}",
                                                 approval_id=approval_id, status=approval.status))
    if actor in (approval.subject, approval.requested_by):
        raise DomainError("separation_of_duties",
                          msg("`{actor}` may not decide a change that {arg}",
                              actor=actor, arg=msg("concerns them") if actor == approval.subject
                              else msg("they requested")))
    current = [s for s in approval.steps if s.position == approval.position]
    mine = next((s for s in current if s.approver_id == actor and s.status == "waiting"), None)
    if mine is None:
        mine = _delegated_step(session, current, actor, today)
    if mine is None:
        if any(s.status != "waiting" and actor in (s.approver_id, s.acted_by) for s in approval.steps):
            raise DomainError("step_decided", msg("`{actor}` has already decided their step", actor=actor))
        waiting = ", ".join(s.approver_id for s in current if s.status == "waiting")
        raise DomainError("not_the_approver",
                          msg("`{actor}` is not the approver of the current step (waiting for {waiting})",
                              actor=actor, waiting=waiting))
    mine.status, mine.comment, mine.evidence, mine.acted_at = (
        "approved" if verdict == "approve" else "rejected", comment, evidence, utcnow())
    if mine.approver_id != actor:
        mine.acted_by = actor
    _advance(session, approval, current, verdict, actor)
    session.flush()
    return approval


def _delegated_step(session: Session, current, actor: str, today: dt.date):
    waiting = {s.approver_id: s for s in current if s.status == "waiting"}
    if not waiting:
        return None
    delegators = session.scalars(select(Delegation.delegator_id).where(
        Delegation.delegate_id == actor, Delegation.delegator_id.in_(list(waiting)),
        Delegation.revoked_at.is_(None), Delegation.starts_on <= today,
        Delegation.ends_on >= today).order_by(Delegation.id)).first()
    return waiting.get(delegators) if delegators else None


def _advance(session: Session, approval: Approval, current, verdict: str, actor: str) -> None:
    if verdict == "reject":
        approval.status, approval.closed_at = "rejected", utcnow()
        _audit(session, approval, "target_change_rejected", actor)
    elif all(s.status == "approved" for s in current):
        later = [s.position for s in approval.steps if s.position > approval.position]
        if later:
            approval.position = min(later)
        else:
            approval.status, approval.closed_at = "approved", utcnow()
            _apply_target(session, approval, actor)
            _audit(session, approval, "target_changed", actor)


def _apply_target(session: Session, approval: Approval, actor: str) -> None:
    target = session.scalars(select(Target).where(Target.subject == approval.subject,
                                                  Target.metric == approval.metric)).first()
    if target is None:
        target = Target(subject=approval.subject, metric=approval.metric, value=approval.after)
        session.add(target)
    target.value, target.source, target.set_by = approval.after, "approval", actor
    target.ruleset_version = approval.ruleset_version


def _audit(session: Session, approval: Approval, action: str, actor: str) -> None:
    evidence = list(approval.evidence) + [e for s in approval.steps for e in (s.evidence or [])]
    record(session, action, approval.subject, actor, approval.ruleset_version, {
        "approval_id": approval.id, "metric": approval.metric,
        "before": plain(approval.before), "after": plain(approval.after),
        "reason": approval.reason, "evidence": evidence, "requested_by": approval.requested_by,
        "approvers": [{"role": s.role, "person": s.approver_id, "decision": s.status,
                       "comment": s.comment, "acted_by": s.acted_by,
                       "substitutes_for": s.substitutes_for, "substitution": s.substitution,
                       "at": s.acted_at.isoformat() + "Z" if s.acted_at else None}
                      for s in approval.steps if s.status != "waiting"],
        "rule": approval.rule})


def record(session: Session, action: str, subject: str, actor: str, version: str, details: dict) -> None:
    """One audit entry on the chain (audit.py), in the caller's transaction."""
    audit.append(session, action=action, subject=subject, actor=actor, ruleset_version=version,
                 details=details)
