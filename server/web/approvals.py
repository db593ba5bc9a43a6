"""/v1/approvals, /v1/delegations, POST /v1/targets: target changes decided by the people
signed in, delegation for a period, and a subject's first target.  Who may do what:

| route | who |
|---|---|
| GET /v1/approvals, GET /v1/approvals/<id> | anyone the approval names, or who sees its subject |
| POST /v1/approvals/<id>/decision | the waiting approver, or their delegate for the day |
| POST /v1/approvals/<id>/links | IT or admin: which platform instance is this approval |
| POST /v1/delegations | the delegator (admin: for anyone, naming `delegator`) |
| GET /v1/delegations | the delegations one gave or received (admin: all) |
| DELETE /v1/delegations/<id> | the delegator, or admin |
| POST /v1/targets | admin, or an HRBP for a person they cover |
"""
from __future__ import annotations

import datetime as dt
import re

from flask import Blueprint, jsonify
from sqlalchemy import or_, select

from trimtab.dsl.decision import plain

from trimtab.server.domain import approval_flow, platform_approvals, rulesets
from trimtab.server.messages import msg
from trimtab.server.web.deciding import announce, deliver_soon, serialised, today
from trimtab.server.web.http import sessions, visible_or_refused
from trimtab.server.web.api_models.approvals import (
    ApprovalOut, ApprovalPage, ApprovalsQuery, DecisionBody, DelegationBody, DelegationList,
    DelegationOut, LinkBody, LinkOut, TargetBody, TargetSet)
from trimtab.server.web.contract import body_as, contract, query_as
from trimtab.server.auth import current_principal, requires, scope
from trimtab.server.core.errors import DomainError
from trimtab.server.storage.models import Approval, ApprovalStep, Delegation, Person, Target, utcnow

bp = Blueprint("approvals", __name__, url_prefix="/v1")


def acting_person() -> str:
    principal = current_principal()
    if principal.person_id is None:
        raise DomainError("not_a_person", msg("the admin token acts for no one: sign in as a person of the "
                                              "organisation chart to decide or delegate"))
    return principal.person_id


def visible(a: Approval) -> bool:
    return scope().sees_person(a.subject) or approval_flow.named_in(a, current_principal().person_id)


# ---------------------------------------------------------------------- approvals
@bp.get("/approvals")
@requires("person")
@contract("Approvals you may see; `pending_for=me` lists the steps waiting for you (or delegated to you today)",
          query=ApprovalsQuery, answers={200: ApprovalPage}, errors=(403,),
          description="Oldest first, `limit` at a time after the id `after`.  403 `not_a_person`: "
                      "`pending_for=me` with the admin token, which is no one.")
def list_approvals():
    """?pending_for=me: the steps waiting for you now (yours or delegated to you today);
    ?status=pending|approved|rejected; ?subject=."""
    args = query_as(ApprovalsQuery)
    limit = args.limit
    q = select(Approval).where(Approval.id > args.after).order_by(Approval.id)
    if args.status:
        q = q.where(Approval.status == args.status)
    if args.subject:
        q = q.where(Approval.subject == args.subject)
    with sessions() as session:
        if args.pending_for == "me":
            q = q.where(Approval.status == "pending", Approval.id.in_(_waiting_for(session)))
        items = []
        for a in session.scalars(q):
            if visible(a):
                items.append(approval_flow.approval_json(a))
                if len(items) == limit:
                    break
    return jsonify({"items": items, "next": items[-1]["id"] if len(items) == limit else None})


def _waiting_for(session):
    me = acting_person()
    delegators = select(Delegation.delegator_id).where(
        Delegation.delegate_id == me, Delegation.revoked_at.is_(None),
        Delegation.starts_on <= today(), Delegation.ends_on >= today())
    return select(ApprovalStep.approval_id).join(Approval).where(
        ApprovalStep.status == "waiting", ApprovalStep.position == Approval.position,
        or_(ApprovalStep.approver_id == me, ApprovalStep.approver_id.in_(delegators)))


@bp.get("/approvals/<id:approval_id>")
@requires("person")
@contract("An approval and its steps", answers={200: ApprovalOut}, errors=(403, 404))
def get_approval(approval_id: int):
    with sessions() as session:
        a = visible_or_refused(session, Approval, approval_id, msg("approval"), visible)
        return jsonify(approval_flow.approval_json(a))


@bp.post("/approvals/<id:approval_id>/decision")
@requires("person")
@contract("Approve or reject the step waiting for you: the actor is whoever signed in (or their delegate "
          "for the day); never the requester or the subject",
          body=DecisionBody, answers={200: ApprovalOut}, errors=(403, 404, 409, 422),
          description="403: the admin token (no one), an `actor` other than you, the requester or "
                      "subject, or not the approver of the waiting step; 409: the approval or your "
                      "step is already decided.  The answer is the approval after the decision.")
def decide(approval_id: int):
    """The signed-in person approves or rejects the step waiting for them."""
    data = body_as(DecisionBody)
    verdict, comment, evidence = data.decision, data.comment, list(data.evidence or [])
    actor = acting_person()
    if data.actor is not None and data.actor != actor:
        raise DomainError("actor_mismatch", msg("the actor is whoever signed in; you are `{actor}`", actor=actor),
                          "$.actor")
    with serialised() as session:
        before = approval_flow.lock(session, approval_id).position
        approval = approval_flow.decide(session, approval_id, verdict, actor, comment, evidence,
                                        today())
        queued = announce(session, approval, before)
        out = approval_flow.approval_json(approval)
    deliver_soon(queued)
    return jsonify(out)


@bp.post("/approvals/<id:approval_id>/links")
@requires("it")
@contract("Record which platform approval instance (钉钉 processInstanceId, 飞书 instance_code, 简道云 "
          "record _id) is this approval: its signed callbacks then decide the approval's steps",
          body=LinkBody, answers={201: LinkOut, 200: LinkOut}, errors=(404, 409, 422),
          description="201: linked; 200: already linked so, nothing changed; 409 `link_taken`: the "
                      "instance is linked to another approval.")
def link(approval_id: int):
    """{platform, external_id}: the platform's approval instance (钉钉 processInstanceId, 飞书
    instance_code, 简道云 record _id) whose callbacks decide this approval's steps."""
    data = body_as(LinkBody)
    with sessions() as session, session.begin():
        out, new = platform_approvals.add_link(session, approval_id, data.platform, data.external_id)
    return jsonify(out), 201 if new else 200


# ---------------------------------------------------------------------- delegations
def _day(value: str, name: str) -> dt.date:
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise DomainError("schema_violation", msg("`{name}` is a date, YYYY-MM-DD", name=name), f"$.{name}")


def delegation_json(d: Delegation) -> dict:
    return {"id": d.id, "delegator": d.delegator_id, "delegate": d.delegate_id,
            "starts_on": d.starts_on.isoformat(), "ends_on": d.ends_on.isoformat(),
            "reason": d.reason, "created_by": d.created_by,
            "revoked": d.revoked_at is not None}


@bp.post("/delegations")
@requires("person")
@contract("Hand your approval steps to another person for a period (recorded in the audit)",
          body=DelegationBody, answers={201: DelegationOut}, errors=(403, 422),
          description="At most a year, `ends_on` on or after `starts_on`; the delegate is someone else "
                      "of the organisation chart.  403 `actor_mismatch`: another's steps, unless admin.")
def create_delegation():
    """{delegate, starts_on, ends_on, reason}: your approval steps go to `delegate` on those
    days (at most a year); recorded in the audit."""
    data = body_as(DelegationBody)
    principal = current_principal()
    delegator = data.delegator or principal.person_id
    if delegator is None:
        raise DomainError("schema_violation", msg("`delegator` is required with the admin token"),
                          "$.delegator")
    if delegator != principal.person_id and not principal.is_admin:
        raise DomainError("actor_mismatch", msg("you delegate your own steps"), "$.delegator")
    delegate, reason = data.delegate, data.reason
    starts, ends = _day(data.starts_on, "starts_on"), _day(data.ends_on, "ends_on")
    if ends < starts or (ends - starts).days > 366:
        raise DomainError("schema_violation", msg("ends_on is on or after starts_on, within a year"),
                          "$.ends_on")
    if delegate == delegator:
        raise DomainError("schema_violation", msg("one cannot delegate to oneself"), "$.delegate")
    with sessions() as session, session.begin():
        for field, pid in (("delegator", delegator), ("delegate", delegate)):
            if session.get(Person, pid) is None:
                raise DomainError("unknown_subject", msg("`{pid}` is not in the organisation chart", pid=pid),
                                  f"$.{field}")
        d = Delegation(delegator_id=delegator, delegate_id=delegate, starts_on=starts, ends_on=ends,
                       reason=reason, created_by=principal.label)
        session.add(d)
        session.flush()
        out = delegation_json(d)
        approval_flow.record(session, "delegation_created", delegator, principal.label,
                             rulesets.active().version, out)
    return jsonify(out), 201


@bp.get("/delegations")
@requires("person")
@contract("Delegations you gave or received (admin: all)", answers={200: DelegationList})
def list_delegations():
    principal = current_principal()
    q = select(Delegation).order_by(Delegation.id)
    if not principal.is_admin:
        me = principal.person_id
        q = q.where(or_(Delegation.delegator_id == me, Delegation.delegate_id == me))
    with sessions() as session:
        return jsonify({"items": [delegation_json(d) for d in session.scalars(q)]})


@bp.delete("/delegations/<id:delegation_id>")
@requires("person")
@contract("Revoke a delegation (the delegator or an admin)", answers={200: DelegationOut}, errors=(403, 404),
          description="Revoking a revoked delegation again changes nothing and answers it as it is.")
def revoke_delegation(delegation_id: int):
    principal = current_principal()
    with sessions() as session, session.begin():
        d = session.get(Delegation, delegation_id)
        if d is None:
            raise DomainError("not_found", msg("no delegation {delegation_id}", delegation_id=delegation_id), "$.id")
        if not principal.is_admin and d.delegator_id != principal.person_id:
            raise DomainError("out_of_scope", msg("only the delegator or an admin revokes it"))
        if d.revoked_at is None:
            d.revoked_at = utcnow()
            approval_flow.record(session, "delegation_revoked", d.delegator_id, principal.label,
                                 rulesets.active().version, delegation_json(d))
        return jsonify(delegation_json(d))


# ---------------------------------------------------------------------- a first target
@bp.post("/targets")
@requires("person")
@contract("A subject's first target for a metric (admin, or the subject's HRBP); a change goes through "
          "the approval chain", body=TargetBody, answers={201: TargetSet}, errors=(403, 409, 422),
          description="409 `target_exists`: the subject has a target for the metric; 422 "
                      "`unknown_subject`: not in the organisation chart.")
def set_target():
    """{subject, metric, value}: a subject's first target for a metric (admin, or an HRBP for
    a person they cover).  An existing target changes only through the approval chain."""
    principal = current_principal()
    data = body_as(TargetBody)
    subject, metric, value = data.subject, data.metric, data.value
    if not (principal.is_admin or (principal.is_hrbp and scope().sees_person(subject))):
        raise DomainError("out_of_scope", msg("targets are set by admins or the subject's HRBP"))
    version = rulesets.active().version
    with sessions() as session, session.begin():
        if session.get(Person, subject) is None:
            raise DomainError("unknown_subject", msg("`{subject}` is not in the organisation chart", subject=subject),
                              "$.subject")
        if session.scalars(select(Target).where(Target.subject == subject,
                                                Target.metric == metric)).first() is not None:
            raise DomainError("target_exists", msg("`{subject}` has a {metric} target; a change goes through "
                                                   "the approval chain",
                                                   subject=subject, metric=metric), "$.metric")
        session.add(Target(subject=subject, metric=metric, value=value, source="api",
                           set_by=principal.label, ruleset_version=version))
        approval_flow.record(session, "target_set", subject, principal.label, version,
                             {"metric": metric, "before": None, "after": plain(value), "source": "api"})
    return jsonify({"subject": subject, "metric": metric, "value": plain(value),
                    "set_by": principal.label, "ruleset_version": version}), 201
