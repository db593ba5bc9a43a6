"""The /v1 API: dry runs, organisation chart, approvals, targets, decisions, audit, forms,
rule sets.  JSON in and out; errors as {"error": {"code", "message", "path"}}."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from trimtab.dsl.decision import plain
from trimtab.dsl.diagnostics import RuleError

from trimtab.server.web import gate
from trimtab.server.messages import Msg, msg
from trimtab.server.domain import rulesets
from trimtab.server.auth import current_principal, requires, scope
from trimtab.server.web.errors import DomainError, from_rule_error, request_lang
from trimtab.server.domain.validation import parse_json
from trimtab.server.domain.orgchart import problem_of, store_people
from trimtab.server.domain.reload_guard import RemovalsNeedConfirmation, refuse_removals
from trimtab.server.storage.models import AuditEntry, Decision, Fact, Person, Target

bp = Blueprint("api", __name__, url_prefix="/v1")


def sessions():
    return current_app.extensions["trimtab.sessions"]()


def body() -> dict:
    data = parse_json(request.get_data())
    if not isinstance(data, dict):
        raise DomainError("bad_request", msg("the body must be a JSON object"), "$")
    return data


def text(data: dict, name: str, default=None, required: bool = False):
    """A text field of a request body, or a 422 naming it.  Left out, it takes `default`; an
    explicit null is refused like any other non-text (no schema here admits null)."""
    if name not in data and not required:
        return default
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise DomainError("schema_violation", msg("`{name}` must be a non-empty text", name=name), f"$.{name}")
    return value


def visible_or_refused(session, model, row_id: int, what: Msg, may_see=lambda row: True):
    """The row, or 404 when there is none and 403 when the caller may not see it."""
    row = session.get(model, row_id)
    if row is None:
        raise DomainError("not_found", msg("no {what} {row_id}", what=what, row_id=row_id), "$.id")
    if not may_see(row):
        raise DomainError("out_of_scope", msg("{what} {row_id} is not yours to see", what=what, row_id=row_id))
    return row


def page_args():
    """(limit, after) of a list route: 1 ≤ limit ≤ 500, 0 ≤ after < 2^31."""
    from trimtab.server.web.http import MAX_ID
    values = {}
    for name, default, low, high in (("limit", 50, 1, 500), ("after", 0, 0, MAX_ID)):
        text = request.args.get(name, str(default))
        if not (text.isascii() and text.isdigit() and len(text) <= 19 and low <= int(text) <= high):
            raise DomainError("bad_request", msg("{name} is a whole number from {low} to {high}",
                                                 name=name, low=low, high=high),
                              f"$.{name}")
        values[name] = int(text)
    return values["limit"], values["after"]


# ---------------------------------------------------------------------- dry run
@bp.post("/evaluate")
@requires("person")
def evaluate():
    current_app.extensions["trimtab.evaluate_limit"].hit(current_principal())
    data = body()
    ruleset = rulesets.active()
    form, facts, history = text(data, "form", required=True), data.get("facts"), data.get("history", [])
    as_of = text(data, "as_of")
    if form not in ruleset.by_form:
        raise DomainError("unknown_form", msg("no rules listen to form `{form}`", form=form), "$.form")
    lang = request_lang()
    with gate.turn(request.content_length or 0):
        try:
            history = ruleset.given_history(form, history)
            decisions = ruleset.evaluate(form, facts, history, as_of=as_of)
        except RuleError as err:
            raise from_rule_error(err, lang, "$.facts") from None
        return jsonify({"ruleset_version": ruleset.version,
                        "decisions": [d.to_json(lang) for d in decisions]})


# ---------------------------------------------------------------------- organisation chart
@bp.post("/org/people")
@requires("admin")
def put_people():
    people = body().get("people")
    if not isinstance(people, list):
        raise DomainError("schema_violation", msg("`people` must be a list"), "$.people")
    with sessions() as session, session.begin():
        for i, p in enumerate(people):
            if not isinstance(p, dict):
                raise DomainError("schema_violation", msg("each person is an object"), f"$.people[{i}]")
            problem = problem_of(p)
            if problem:
                raise DomainError("schema_violation", problem[1], f"$.people[{i}].{problem[0]}")
        store_people(session, people)
        return _stored_answer(session, len(people))


def _stored_answer(session, stored: int):
    """How many people were stored, and where the active rules name a role nobody now holds
    (their messages would reach no one): warnings, since the chart itself is fine."""
    from trimtab.dsl.roles_held import unheld_roles
    held = set(session.scalars(select(Person.role).distinct()))
    warnings = unheld_roles(rulesets.active(), held - {None})
    return jsonify({"stored": stored, "warnings": [w.to_json(request_lang()) for w in warnings]})


@bp.post("/org/import")
@requires("admin")
def import_people():
    """The organisation chart from a CSV or Excel file (the body); all rows or none."""
    from trimtab.server.domain.orgchart import XLSX, people_from_rows, rows_from_csv, rows_from_xlsx
    data = request.get_data()
    kind = request.content_type or ""
    if kind.startswith(XLSX) or data[:2] == b"PK":
        sheet, rows = rows_from_xlsx(data)
    else:
        sheet, rows = rows_from_csv(data)
    people = people_from_rows(sheet, rows)
    with sessions() as session, session.begin():
        store_people(session, people)
        return _stored_answer(session, len(people))


@bp.get("/org/people")
@requires("person")
def get_people():
    """The people the caller may see (admin: everyone)."""
    seen = scope()
    with sessions() as session:
        q = select(Person).order_by(Person.id)
        if not seen.everything:
            q = q.where(Person.id.in_(seen.people))
        return jsonify({"people": [{"id": p.id, "name": p.name, "role": p.role, "region": p.region,
                                    "manager": p.manager_id, "hrbp": p.hrbp_id, "email": p.email,
                                    "lang": p.lang}
                                   for p in session.scalars(q)]})


# ---------------------------------------------------------------------- approvals and targets
@bp.get("/targets")
@requires("person")
def targets():
    subject = request.args.get("subject")
    seen = scope()
    with sessions() as session:
        q = select(Target).order_by(Target.subject, Target.metric)
        if subject:
            q = q.where(Target.subject == subject)
        if not seen.everything:
            q = q.where(Target.subject.in_(seen.people))
        return jsonify({"targets": [{"subject": t.subject, "metric": t.metric,
                                     "value": plain(Decimal(t.value)),
                                     "updated_at": t.updated_at.isoformat() + "Z",
                                     "source": t.source, "set_by": t.set_by,
                                     "ruleset_version": t.ruleset_version}
                                    for t in session.scalars(q)]})


# ---------------------------------------------------------------------- what was decided
@bp.get("/decisions")
@requires("person")
def decisions():
    """Decisions about facts the caller may see, filtered before paging (no leak by count)."""
    limit, after = page_args()
    q = select(Decision).where(Decision.id > after).order_by(Decision.id).limit(limit)
    visible = scope().decisions_clause()
    if visible is not None:
        q = q.outerjoin(Fact, Decision.fact_id == Fact.id).where(visible)
    for arg, col in (("form", Decision.form), ("rule", Decision.rule), ("subject", Decision.subject),
                     ("version", Decision.ruleset_version)):
        if request.args.get(arg):
            q = q.where(col == request.args[arg])
    if request.args.get("fired") in ("true", "false"):
        q = q.where(Decision.fired.is_(request.args["fired"] == "true"))
    if request.args.get("current") in ("true", "false"):      # the period's decision, or history
        q = q.where(Decision.superseded_at.is_(None) if request.args["current"] == "true"
                    else Decision.superseded_at.is_not(None))
    with sessions() as session:
        rows = session.scalars(q).all()
        items = [{"id": d.id, "fact_id": d.fact_id, "form": d.form, "subject": d.subject,
                  "period": d.period, "rule": d.rule, "kind": d.kind, "fired": d.fired,
                  "error": d.error_code, "ruleset_version": d.ruleset_version,
                  "at": d.created_at.isoformat() + "Z", "current": d.superseded_at is None,
                  "superseded_at": d.superseded_at.isoformat() + "Z" if d.superseded_at else None,
                  "result": d.result} for d in rows]
    return jsonify({"items": items, "next": items[-1]["id"] if len(items) == limit else None})


@bp.get("/audit")
@requires("person")
def audit():
    """Entries about people and regions the caller sees, and their own acts."""
    limit, after = page_args()
    q = select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(limit)
    seen = scope()
    if not seen.everything:
        q = q.where(AuditEntry.subject.in_(seen.people | seen.regions)
                    | (AuditEntry.actor == current_principal().person_id))
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
@requires("person")
def notifications():
    """Messages to the people the caller sees (admin: every message, groups too)."""
    from trimtab.server.storage.models import OutboxMessage
    limit, after = page_args()
    q = select(OutboxMessage).where(OutboxMessage.id > after).order_by(OutboxMessage.id).limit(limit)
    seen = scope()
    if not seen.everything:
        q = q.where(OutboxMessage.recipient.in_(seen.people))
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


@bp.post("/notifications/<id:message_id>/retry")
@requires("admin")
def retry_notification(message_id: int):
    """Put a dead-lettered message back in the queue (same message id: receivers de-duplicate)."""
    from trimtab.server.storage.models import OutboxMessage, utcnow
    with sessions() as session, session.begin():
        m = session.get(OutboxMessage, message_id)
        if m is None:
            raise DomainError("not_found", msg("no notification {message_id}", message_id=message_id), "$.id")
        if m.status != "dead":
            raise DomainError("not_dead", msg("notification {message_id} is {status}",
                                              message_id=message_id, status=m.status))
        m.status, m.attempts, m.next_attempt_at, m.last_error = "pending", 0, utcnow(), None
    return jsonify({"id": message_id, "status": "pending"})


# ---------------------------------------------------------------------- forms and rule sets
@bp.get("/forms")
@requires("person")
def forms():
    ruleset = rulesets.active()
    return jsonify({"forms": [{"name": n, "title": s.raw.get("title"), "title_zh": s.raw.get("x-title-zh"),
                               "rules": [r.name for r in ruleset.by_form.get(n, [])]}
                              for n, s in sorted(ruleset.schemas.items())]})


@bp.get("/forms/<form>")
@requires("person")
def form(form: str):
    """The form's JSON Schema with the constraints its rules impose merged in."""
    from trimtab.dsl.derive import derived_form
    ruleset = rulesets.active()
    if form not in ruleset.schemas:
        raise DomainError("not_found", msg("no form `{form}`", form=form), f"/v1/forms/{form}")
    return jsonify(derived_form(ruleset, form))


@bp.get("/workflows")
@requires("person")
def workflow_list():
    from trimtab.dsl.derive import workflows
    return jsonify({"workflows": workflows(rulesets.active(), current_app.config["TIMEZONE"])})


@bp.get("/workflows/<name>")
@requires("person")
def workflow(name: str):
    from trimtab.dsl.derive import workflows
    found = [w for w in workflows(rulesets.active(), current_app.config["TIMEZONE"]) if w["name"] == name]
    if not found:
        raise DomainError("not_found", msg("no workflow `{name}`", name=name), f"/v1/workflows/{name}")
    return jsonify(found[0])


@bp.get("/rulesets/current")
@requires("person")
def current_ruleset():
    rs = rulesets.active()
    return jsonify({"version": rs.version, "rules": [
        {"name": r.name, "kind": r.kind, "form": r.form.name, "effective": r.rule.effective,
         "file": r.rule.loc.file, "line": r.rule.loc.line} for r in rs.rules],
        "schedules": [s.name for s in rs.schedules]})


@bp.post("/rulesets/reload")
@requires("it")
def reload_ruleset():
    data = body() if request.get_data() else {}
    allow = data.get("allow_removals", False)
    if not isinstance(allow, bool):
        raise DomainError("schema_violation", msg("`allow_removals` must be true or false"),
                          "$.allow_removals")
    try:
        who = current_principal()
        rs = rulesets.reload(text(data, "rev"), who.person_id or who.name,
                             guard=None if allow else refuse_removals)
    except RemovalsNeedConfirmation as err:
        raise err.refusal from None
    except RuleError as err:
        lang = request_lang()
        if err.code.startswith("git."):         # the revision cannot be read
            raise from_rule_error(err, lang, "$.rev") from None
        raise DomainError("ruleset_invalid", msg("the rule set does not load; the current one keeps serving"),
                          "$.rev", diagnostics=[d.to_json(lang) for d in err.diagnostics]) from None
    return jsonify({"version": rs.version, "rules": len(rs.rules)})    # every process within RULES_CHECK_S
