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
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import or_, select

from trimtab.dsl.decision import plain

from trimtab.server.domain import approval_effects, approval_flow, platform_approvals, rulesets
from trimtab.server.messages import msg
from trimtab.server.web.api import body, page_args, sessions, text, visible_or_refused
from trimtab.server.auth import current_principal, requires, scope
from trimtab.server.web.errors import DomainError
from trimtab.server.storage.models import Approval, ApprovalStep, Delegation, Person, Target, utcnow

bp = Blueprint("approvals", __name__, url_prefix="/v1")


@contextmanager
def serialised():
    """A write transaction that holds the database's write lock from its start on SQLite, so
    two decisions on one step run one after the other (PostgreSQL: the row lock in `lock`)."""
    with sessions() as session, session.begin():
        if session.bind.dialect.name == "sqlite":
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        yield session


def acting_person() -> str:
    principal = current_principal()
    if principal.person_id is None:
        raise DomainError("not_a_person", msg("the admin token acts for no one: sign in as a person of the "
                                              "organisation chart to decide or delegate"))
    return principal.person_id


def today() -> dt.date:
    return dt.datetime.now(current_app.config["TZ"]).date()


def announce(session, approval: Approval, position_before: int) -> int:
    """The messages a decision causes (the next approvers', the requester's), in its
    transaction → how many."""
    return approval_effects.decided(session, approval, position_before,
                                    approval_effects.for_app(current_app.extensions, current_app.config))


def deliver_soon(queued: int) -> None:
    """With Redis, a dispatch job for what a decision queued (else the in-process dispatcher
    or the worker's sweep finds it)."""
    if queued and current_app.config.get("REDIS_URL"):
        from trimtab.server.jobs.worker import enqueue_dispatch
        enqueue_dispatch(current_app.config["REDIS_URL"])


def visible(a: Approval) -> bool:
    return scope().sees_person(a.subject) or approval_flow.named_in(a, current_principal().person_id)


# ---------------------------------------------------------------------- approvals
@bp.get("/approvals")
@requires("person")
def list_approvals():
    """?pending_for=me: the steps waiting for you now (yours or delegated to you today);
    ?status=pending|approved|rejected; ?subject=."""
    limit, after = page_args()
    q = select(Approval).where(Approval.id > after).order_by(Approval.id)
    if request.args.get("status") not in (None, "pending", "approved", "rejected"):
        raise DomainError("bad_request", msg("status is pending, approved or rejected"), "$.status")
    if request.args.get("status"):
        q = q.where(Approval.status == request.args["status"])
    if request.args.get("subject"):
        q = q.where(Approval.subject == request.args["subject"])
    pending_for = request.args.get("pending_for")
    if pending_for not in (None, "me"):
        raise DomainError("bad_request", msg("pending_for takes only `me`"), "$.pending_for")
    with sessions() as session:
        if pending_for == "me":
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
def get_approval(approval_id: int):
    with sessions() as session:
        a = visible_or_refused(session, Approval, approval_id, msg("approval"), visible)
        return jsonify(approval_flow.approval_json(a))


@bp.post("/approvals/<id:approval_id>/decision")
@requires("person")
def decide(approval_id: int):
    """The signed-in person approves or rejects the step waiting for them."""
    data = body()
    verdict, comment, evidence = data.get("decision"), data.get("comment"), data.get("evidence") or []
    if verdict not in ("approve", "reject"):
        raise DomainError("schema_violation", msg("decision is `approve` or `reject`"), "$.decision")
    if comment is not None and not isinstance(comment, str):
        raise DomainError("schema_violation", msg("comment is a text"), "$.comment")
    if not isinstance(evidence, list) or not all(isinstance(e, str) for e in evidence):
        raise DomainError("schema_violation", msg("evidence is a list of texts"), "$.evidence")
    actor = acting_person()
    if "actor" in data and data["actor"] != actor:
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
def link(approval_id: int):
    """{platform, external_id}: the platform's approval instance (钉钉 processInstanceId, 飞书
    instance_code, 简道云 record _id) whose callbacks decide this approval's steps."""
    data = body()
    platform, external_id = text(data, "platform", required=True), text(data, "external_id", required=True)
    if platform not in platform_approvals.PLATFORMS:
        raise DomainError("schema_violation", msg("platform is one of {arg}",
                                                  arg=', '.join(platform_approvals.PLATFORMS)), "$.platform")
    if len(external_id) > 200:
        raise DomainError("schema_violation", msg("external_id has at most 200 characters"),
                          "$.external_id")
    with sessions() as session, session.begin():
        out, new = platform_approvals.add_link(session, approval_id, platform, external_id)
    return jsonify(out), 201 if new else 200


# ---------------------------------------------------------------------- delegations
def _day(data: dict, name: str) -> dt.date:
    value = data.get(name)
    if isinstance(value, str) and len(value) == 10:
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
def create_delegation():
    """{delegate, starts_on, ends_on, reason}: your approval steps go to `delegate` on those
    days (at most a year); recorded in the audit."""
    data = body()
    principal = current_principal()
    delegator = text(data, "delegator") or principal.person_id
    if delegator is None:
        raise DomainError("schema_violation", msg("`delegator` is required with the admin token"),
                          "$.delegator")
    if delegator != principal.person_id and not principal.is_admin:
        raise DomainError("actor_mismatch", msg("you delegate your own steps"), "$.delegator")
    delegate, reason = text(data, "delegate", required=True), text(data, "reason", required=True)
    starts, ends = _day(data, "starts_on"), _day(data, "ends_on")
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
def set_target():
    """{subject, metric, value}: a subject's first target for a metric (admin, or an HRBP for
    a person they cover).  An existing target changes only through the approval chain."""
    principal = current_principal()
    data = body()
    subject, metric = text(data, "subject", required=True), text(data, "metric", required=True)
    try:
        value = Decimal(str(data.get("value")))
        if not value.is_finite() or value < 0 or value.adjusted() > 15:
            raise InvalidOperation
    except InvalidOperation:
        raise DomainError("schema_violation", msg("value is a number ≥ 0 below 10^16"),
                          "$.value") from None
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
