"""The /v1 API: dry runs, organisation chart, approvals, targets, decisions, audit, forms,
rule sets.  JSON in and out; errors as {"error": {"code", "message", "path"}}."""
from __future__ import annotations

import hmac
from decimal import Decimal

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from dsl.decision import plain
from dsl.diagnostics import DiagnosticError, EvalError

from . import rulesets, service
from .errors import DomainError
from .intake import parse_json, request_lang
from .orgchart import store_people
from .models import Approval, AuditEntry, Decision, Person, Target
from .versions import VersionError

bp = Blueprint("api", __name__, url_prefix="/v1")


def sessions():
    return current_app.extensions["trimtab.sessions"]()


def body() -> dict:
    data = parse_json(request.get_data())
    if not isinstance(data, dict):
        raise DomainError(400, "bad_request", "the body must be a JSON object", "$")
    return data


def text(data: dict, name: str, default=None, required: bool = False):
    """A text field of a request body, or a 422 naming it."""
    value = data.get(name, default)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise DomainError(422, "schema_violation", f"`{name}` must be a non-empty text", f"$.{name}")
    return value


def require_admin():
    token = current_app.config.get("ADMIN_TOKEN")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(given, token):
        raise DomainError(401, "admin_token_required",
                          "this route needs `Authorization: Bearer <admin token>`")


def page_args():
    try:
        limit = int(request.args.get("limit", 50))
        after = int(request.args.get("after", 0))
    except ValueError:
        raise DomainError(400, "bad_request", "limit and after are whole numbers", "$.limit") from None
    if not 1 <= limit <= 500:
        raise DomainError(400, "bad_request", "limit must be between 1 and 500", "$.limit")
    return limit, after


# ---------------------------------------------------------------------- dry run
@bp.post("/evaluate")
def evaluate():
    data = body()
    ruleset = rulesets.active()
    form, facts, history = text(data, "form", required=True), data.get("facts"), data.get("history", [])
    as_of = text(data, "as_of")
    if form not in ruleset.by_form:
        raise DomainError(400, "unknown_form", f"no rules listen to form `{form}`", "$.form")
    try:
        decisions = ruleset.evaluate(form, facts, history, as_of=as_of)
    except EvalError as err:
        raise DomainError(422, err.code, err.message(request_lang()), "$.facts") from None
    lang = request_lang()
    return jsonify({"ruleset_version": ruleset.version,
                    "decisions": [d.to_json(lang) for d in decisions]})


# ---------------------------------------------------------------------- organisation chart
@bp.post("/org/people")
def put_people():
    require_admin()
    people = body().get("people")
    if not isinstance(people, list):
        raise DomainError(422, "schema_violation", "`people` must be a list", "$.people")
    with sessions() as session, session.begin():
        for i, p in enumerate(people):
            if not isinstance(p, dict) or not p.get("id") or not p.get("role"):
                raise DomainError(422, "schema_violation", "each person needs `id` and `role`",
                                  f"$.people[{i}]")
            for key in ("id", "name", "role", "region", "manager", "hrbp", "email"):
                if p.get(key) is not None and not isinstance(p[key], (str, int)):
                    raise DomainError(422, "schema_violation", f"`{key}` is a text",
                                      f"$.people[{i}].{key}")
            if p.get("email") and "@" not in str(p["email"]):
                raise DomainError(422, "schema_violation", "`email` is not an e-mail address",
                                  f"$.people[{i}].email")
        store_people(session, people)
    return jsonify({"stored": len(people)})


@bp.post("/org/import")
def import_people():
    """The organisation chart from a CSV or Excel file (the body); all rows or none."""
    from .orgchart import XLSX, people_from_rows, rows_from_csv, rows_from_xlsx
    require_admin()
    data = request.get_data()
    kind = request.content_type or ""
    if kind.startswith(XLSX) or data[:2] == b"PK":
        sheet, rows = rows_from_xlsx(data)
    else:
        sheet, rows = rows_from_csv(data)
    people = people_from_rows(sheet, rows)
    with sessions() as session, session.begin():
        store_people(session, people)
    return jsonify({"stored": len(people)})


@bp.get("/org/people")
def get_people():
    with sessions() as session:
        rows = session.scalars(select(Person).order_by(Person.id)).all()
        return jsonify({"people": [{"id": p.id, "name": p.name, "role": p.role, "region": p.region,
                                    "manager": p.manager_id, "hrbp": p.hrbp_id, "email": p.email}
                                   for p in rows]})


# ---------------------------------------------------------------------- approvals and targets
@bp.get("/approvals/<int:approval_id>")
def get_approval(approval_id: int):
    with sessions() as session:
        a = session.get(Approval, approval_id)
        if a is None:
            raise DomainError(404, "not_found", f"no approval {approval_id}", "$.id")
        return jsonify(service.approval_json(a))


@bp.post("/approvals/<int:approval_id>/decision")
def decide(approval_id: int):
    data = body()
    verdict, actor = data.get("decision"), data.get("actor")
    comment = data.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise DomainError(422, "schema_violation", "comment is a text", "$.comment")
    if verdict not in ("approve", "reject"):
        raise DomainError(422, "schema_violation", "decision is `approve` or `reject`", "$.decision")
    if not isinstance(actor, str) or not actor:
        raise DomainError(422, "schema_violation", "actor is required (a person id)", "$.actor")
    evidence = data.get("evidence") or []
    if not isinstance(evidence, list):
        raise DomainError(422, "schema_violation", "evidence is a list", "$.evidence")
    with sessions() as session, session.begin():
        approval = service.decide(session, approval_id, verdict, actor, comment, evidence)
        return jsonify(service.approval_json(approval))


@bp.get("/targets")
def targets():
    subject = request.args.get("subject")
    with sessions() as session:
        q = select(Target).order_by(Target.subject, Target.metric)
        if subject:
            q = q.where(Target.subject == subject)
        return jsonify({"targets": [{"subject": t.subject, "metric": t.metric,
                                     "value": plain(Decimal(t.value)),
                                     "updated_at": t.updated_at.isoformat() + "Z"}
                                    for t in session.scalars(q)]})


# ---------------------------------------------------------------------- what was decided
@bp.get("/decisions")
def decisions():
    limit, after = page_args()
    q = select(Decision).where(Decision.id > after).order_by(Decision.id).limit(limit)
    for arg, col in (("form", Decision.form), ("rule", Decision.rule), ("subject", Decision.subject),
                     ("version", Decision.ruleset_version)):
        if request.args.get(arg):
            q = q.where(col == request.args[arg])
    if request.args.get("fired") in ("true", "false"):
        q = q.where(Decision.fired.is_(request.args["fired"] == "true"))
    with sessions() as session:
        rows = session.scalars(q).all()
        items = [{"id": d.id, "fact_id": d.fact_id, "form": d.form, "subject": d.subject,
                  "rule": d.rule, "kind": d.kind, "fired": d.fired, "error": d.error_code,
                  "ruleset_version": d.ruleset_version, "at": d.created_at.isoformat() + "Z",
                  "result": d.result} for d in rows]
    return jsonify({"items": items, "next": items[-1]["id"] if len(items) == limit else None})


@bp.get("/audit")
def audit():
    limit, after = page_args()
    q = select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(limit)
    for arg, col in (("subject", AuditEntry.subject), ("action", AuditEntry.action)):
        if request.args.get(arg):
            q = q.where(col == request.args[arg])
    with sessions() as session:
        items = [{"id": a.id, "at": a.at.isoformat() + "Z", "action": a.action, "subject": a.subject,
                  "actor": a.actor, "ruleset_version": a.ruleset_version, **a.details}
                 for a in session.scalars(q)]
    return jsonify({"items": items, "next": items[-1]["id"] if len(items) == limit else None})


# ---------------------------------------------------------------------- notifications
@bp.get("/notifications")
def notifications():
    from .models import OutboxMessage
    limit, after = page_args()
    q = select(OutboxMessage).where(OutboxMessage.id > after).order_by(OutboxMessage.id).limit(limit)
    status = request.args.get("status")
    if status:
        q = q.where(OutboxMessage.status == status)
    with sessions() as session:
        items = [{"id": m.id, "message_id": m.message_id, "rule": m.rule, "role": m.role,
                  "recipient": m.recipient, "channel": m.channel, "status": m.status,
                  "attempts": m.attempts, "last_error": m.last_error,
                  "next_attempt_at": m.next_attempt_at.isoformat() + "Z",
                  "sent_at": m.sent_at.isoformat() + "Z" if m.sent_at else None}
                 for m in session.scalars(q)]
    return jsonify({"items": items, "next": items[-1]["id"] if len(items) == limit else None})


@bp.post("/notifications/<int:message_id>/retry")
def retry_notification(message_id: int):
    """Put a dead-lettered message back in the queue (same message id: receivers de-duplicate)."""
    from .models import OutboxMessage, utcnow
    require_admin()
    with sessions() as session, session.begin():
        m = session.get(OutboxMessage, message_id)
        if m is None:
            raise DomainError(404, "not_found", f"no notification {message_id}", "$.id")
        if m.status != "dead":
            raise DomainError(409, "not_dead", f"notification {message_id} is {m.status}")
        m.status, m.attempts, m.next_attempt_at, m.last_error = "pending", 0, utcnow(), None
    return jsonify({"id": message_id, "status": "pending"})


# ---------------------------------------------------------------------- forms and rule sets
@bp.get("/forms")
def forms():
    ruleset = rulesets.active()
    return jsonify({"forms": [{"name": n, "title": s.raw.get("title"), "title_zh": s.raw.get("x-title-zh"),
                               "rules": [r.name for r in ruleset.by_form.get(n, [])]}
                              for n, s in sorted(ruleset.schemas.items())]})


@bp.get("/forms/<form>")
def form(form: str):
    """The form's JSON Schema with the constraints its rules impose merged in."""
    from dsl.derive import derived_form
    ruleset = rulesets.active()
    if form not in ruleset.schemas:
        raise DomainError(404, "not_found", f"no form `{form}`", f"/v1/forms/{form}")
    return jsonify(derived_form(ruleset, form))


@bp.get("/workflows")
def workflow_list():
    from dsl.derive import workflows
    return jsonify({"workflows": workflows(rulesets.active(), current_app.config["TIMEZONE"])})


@bp.get("/workflows/<name>")
def workflow(name: str):
    from dsl.derive import workflows
    found = [w for w in workflows(rulesets.active(), current_app.config["TIMEZONE"]) if w["name"] == name]
    if not found:
        raise DomainError(404, "not_found", f"no workflow `{name}`", f"/v1/workflows/{name}")
    return jsonify(found[0])


@bp.get("/rulesets/current")
def current_ruleset():
    rs = rulesets.active()
    return jsonify({"version": rs.version, "rules": [
        {"name": r.name, "kind": r.kind, "form": r.form.name, "effective": r.rule.effective,
         "file": r.rule.loc.file, "line": r.rule.loc.line} for r in rs.rules],
        "schedules": [s.name for s in rs.schedules]})


@bp.post("/rulesets/reload")
def reload_ruleset():
    require_admin()
    data = body() if request.get_data() else {}
    try:
        rs = rulesets.reload(text(data, "rev"))
    except VersionError as err:
        raise DomainError(422, err.code, str(err), "$.rev") from None
    except DiagnosticError as err:
        lang = request_lang()
        raise DomainError(422, "ruleset_invalid", "the rule set does not load; the current one keeps serving",
                          "$.rev", diagnostics=[d.to_json(lang) for d in err.diagnostics]) from None
    return jsonify({"version": rs.version, "rules": len(rs.rules)})
