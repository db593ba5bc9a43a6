"""The /v1 API: dry runs, organisation chart, approvals, targets, decisions, audit, forms,
rule sets.  JSON in and out; errors as {"error": {"code", "message", "path"}}."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from trimtab.dsl.decision import plain
from trimtab.dsl.diagnostics import RuleError

from trimtab.server.core import gate
from trimtab.server.messages import msg
from trimtab.server.domain import period_decisions, rulesets
from trimtab.server.auth import current_principal, requires, scope
from trimtab.server.core.errors import DomainError, from_rule_error, request_lang
from trimtab.server.domain.orgchart import problem_of, store_people
from trimtab.server.domain.reload_guard import RemovalsNeedConfirmation, refuse_removals
from trimtab.server.domain.why import Reader, listed
from trimtab.server.storage.models import AuditEntry, Decision, Fact, Person, Target
from trimtab.server.web.api_models.api import (
    AuditPage, AuditQuery, Decisions, DecisionsQuery, EvaluateBody, Evaluation, Forms, FormSchema, LiveRuleset,
    Notifications, NotificationsQuery, People, PeopleBody, Reloaded, ReloadBody, Requeued, StoredPeople,
    Targets, TargetsQuery, Workflow, Workflows)
from trimtab.server.web.api_models.workbench import ACCEPT_LANGUAGE
from trimtab.server.web.contract import Raw, body_as, contract, query_as
from trimtab.server.web.http import page, sessions

bp = Blueprint("api", __name__, url_prefix="/v1")


# ---------------------------------------------------------------------- dry run
@bp.post("/evaluate")
@requires("person")
@contract("Dry run: decisions for given facts; writes nothing", body=EvaluateBody, answers={200: Evaluation},
          errors=(422, 429), description=(
              "The rules listening to `form` decide on `facts` (and `history`) as a webhook's would, "
              "and nothing is stored.  400 unknown_form for a form no rule listens to; 422 for facts "
              "the form refuses (eval.*, decode.*); 429 past EVALUATE_LIMIT per person."))
def evaluate():
    current_app.extensions["trimtab.evaluate_limit"].hit(current_principal())
    data = body_as(EvaluateBody)
    ruleset = rulesets.active()
    if data.form not in ruleset.by_form:
        raise DomainError("unknown_form", msg("no rules listen to form `{form}`", form=data.form), "$.form")
    lang = request_lang()
    with gate.turn(request.content_length or 0):
        try:
            history = ruleset.given_history(data.form, data.history)
            decisions = ruleset.evaluate(data.form, data.facts, history, as_of=data.as_of)
        except RuleError as err:
            raise from_rule_error(err, lang, "$.facts") from None
        return jsonify({"ruleset_version": ruleset.version,
                        "decisions": [d.to_json(lang) for d in decisions]})


# ---------------------------------------------------------------------- organisation chart
@bp.post("/org/people")
@requires("admin")
@contract("Add or update people (id, name, role, region, manager, hrbp)", body=PeopleBody,
          answers={200: StoredPeople}, errors=(422,), description=(
              "All people or none.  422 schema_violation names the first bad field "
              "(`$.people[3].email`); identity_taken when a platform id is another person's."))
def put_people():
    people = [p.model_dump(exclude_unset=True) for p in body_as(PeopleBody).people]
    with sessions() as session, session.begin():
        for i, p in enumerate(people):
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


SPREADSHEETS = (Raw("text/csv", {"type": "string"}, "the chart as CSV (UTF-8)"),
                Raw("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    {"type": "string", "format": "binary"}, "the chart as an Excel workbook (first sheet)"))


@bp.post("/org/import")
@requires("admin")
@contract("Import the organisation chart from CSV (text/csv) or Excel (.xlsx): all rows or none; bad rows "
          "named by sheet, row and column", body=SPREADSHEETS, answers={200: StoredPeople}, errors=(422,),
          description=("Columns (English or Chinese headers): id/工号, name/姓名, role/角色, region/区域, "
                       "manager/直属上级, hrbp/HRBP, email/邮箱, mobile/手机, lang/语言, grants/权限, "
                       "covers/覆盖区域 and the platform ids (server/templates/org_chart.csv).  422 "
                       "bad_file for a file that cannot be read, bad_rows listing every bad row "
                       "(`problems`: sheet, row, column, message)."))
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
@contract("The organisation chart", answers={200: People})
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
@contract("Current targets", query=TargetsQuery, answers={200: Targets},
          description="The targets of the subjects the caller may see (admin: all).")
def targets():
    subject = query_as(TargetsQuery).subject
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
@contract("Stored decisions, newest last", query=DecisionsQuery, answers={200: Decisions},
          parameters=(ACCEPT_LANGUAGE,),
          description="Decisions about facts the caller may see, filtered before paging.")
def decisions():
    """Decisions about facts the caller may see, filtered before paging (no leak by count)."""
    args = query_as(DecisionsQuery)
    q = select(Decision).where(period_decisions.from_id(args.after)).limit(args.limit)
    q = q.order_by(*period_decisions.in_id_order(current_app.extensions["trimtab.engine"]))
    visible = scope().decisions_clause()
    if visible is not None:
        q = q.outerjoin(Fact, Decision.fact_id == Fact.id).where(visible)
    active = rulesets.active()
    if args.rule and not args.form:
        # a rule decides on every submission of its form: its sets are its form's, by index
        # (a rule the active rule set does not have is looked for in every set)
        forms = sorted({r.form.name for r in active.rules if r.name == args.rule})
        if forms:
            q = q.where(Decision.form.in_(forms))
    for value, col in ((args.form, Decision.form), (args.rule, Decision.rule), (args.subject, Decision.subject),
                       (args.version, Decision.ruleset_version)):
        if value:
            q = q.where(col == value)
    if args.fired:
        q = q.where(Decision.fired.is_(args.fired == "true"))
    if args.current:      # the period's decision, or history
        q = q.where(Decision.superseded_at.is_(None) if args.current == "true"
                    else Decision.superseded_at.is_not(None))
    reader = Reader(active, current_app.config, request_lang())
    with sessions() as session:
        items = listed(session, session.scalars(q).all(), reader)
    return page(items, args.limit)


@bp.get("/audit")
@requires("person")
@contract("The append-only audit log", query=AuditQuery, answers={200: AuditPage},
          description="Entries about people and regions the caller sees, and their own acts.")
def audit():
    """Entries about people and regions the caller sees, and their own acts."""
    args = query_as(AuditQuery)
    q = select(AuditEntry).where(AuditEntry.id > args.after).order_by(AuditEntry.id).limit(args.limit)
    seen = scope()
    if not seen.everything:
        q = q.where(AuditEntry.subject.in_(seen.people | seen.regions)
                    | (AuditEntry.actor == current_principal().person_id))
    for value, col in ((args.subject, AuditEntry.subject), (args.action, AuditEntry.action)):
        if value:
            q = q.where(col == value)
    with sessions() as session:
        items = [{"id": a.id, "at": a.at.isoformat() + "Z", "action": a.action, "subject": a.subject,
                  "actor": a.actor, "ruleset_version": a.ruleset_version, **a.details}
                 for a in session.scalars(q)]
    return page(items, args.limit)


# ---------------------------------------------------------------------- notifications
@bp.get("/notifications")
@requires("person")
@contract("The outbox: pending, sent and dead-lettered notifications", query=NotificationsQuery,
          answers={200: Notifications},
          description="Messages to the people the caller sees (admin: every message, groups too).")
def notifications():
    """Messages to the people the caller sees (admin: every message, groups too)."""
    from trimtab.server.storage.models import OutboxMessage
    args = query_as(NotificationsQuery)
    q = select(OutboxMessage).where(OutboxMessage.id > args.after).order_by(OutboxMessage.id).limit(args.limit)
    seen = scope()
    if not seen.everything:
        q = q.where(OutboxMessage.recipient.in_(seen.people))
    if args.status:
        q = q.where(OutboxMessage.status == args.status)
    with sessions() as session:
        items = [{"id": m.id, "message_id": m.message_id, "rule": m.rule, "role": m.role,
                  "recipient": m.recipient, "channel": m.channel, "status": m.status,
                  "attempts": m.attempts, "last_error": m.last_error,
                  "next_attempt_at": m.next_attempt_at.isoformat() + "Z",
                  "sent_at": m.sent_at.isoformat() + "Z" if m.sent_at else None}
                 for m in session.scalars(q)]
    return page(items, args.limit)


@bp.post("/notifications/<id:message_id>/retry")
@requires("admin")
@contract("Requeue a dead-lettered notification (admin)", answers={200: Requeued}, errors=(404, 409),
          description="Same message id: receivers de-duplicate.  409 not_dead for a message that is not dead.")
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
@contract("Form names and the rules listening to each", answers={200: Forms})
def forms():
    ruleset = rulesets.active()
    return jsonify({"forms": [{"name": n, "title": s.raw.get("title"), "title_zh": s.raw.get("x-title-zh"),
                               "rules": [r.name for r in ruleset.by_form.get(n, [])]}
                              for n, s in sorted(ruleset.schemas.items())]})


@bp.get("/forms/<form>")
@requires("person")
@contract("A form's JSON Schema with rule-derived constraints merged in (bounds, required reason, status "
          "enumerations)", answers={200: FormSchema}, errors=(404,))
def form(form: str):
    """The form's JSON Schema with the constraints its rules impose merged in."""
    from trimtab.dsl.derive import derived_form
    ruleset = rulesets.active()
    if form not in ruleset.schemas:
        raise DomainError("not_found", msg("no form `{form}`", form=form), f"/v1/forms/{form}")
    return jsonify(derived_form(ruleset, form))


@bp.get("/workflows")
@requires("person")
@contract("Workflow definitions from approval chains and schedules (workflows/workflow.schema.json)",
          answers={200: Workflows})
def workflow_list():
    from trimtab.dsl.derive import workflows
    return jsonify({"workflows": workflows(rulesets.active(), current_app.config["TIMEZONE"])})


@bp.get("/workflows/<name>")
@requires("person")
@contract("One workflow definition", answers={200: Workflow}, errors=(404,))
def workflow(name: str):
    from trimtab.dsl.derive import workflows
    found = [w for w in workflows(rulesets.active(), current_app.config["TIMEZONE"]) if w["name"] == name]
    if not found:
        raise DomainError("not_found", msg("no workflow `{name}`", name=name), f"/v1/workflows/{name}")
    return jsonify(found[0])


@bp.get("/rulesets/current")
@requires("person")
@contract("The live rule-set version and its rules", answers={200: LiveRuleset})
def current_ruleset():
    rs = rulesets.active()
    return jsonify({"version": rs.version, "rules": [
        {"name": r.name, "kind": r.kind, "form": r.form.name, "effective": r.rule.effective,
         "file": r.rule.loc.file, "line": r.rule.loc.line} for r in rs.rules],
        "schedules": [s.name for s in rs.schedules]})


@bp.post("/rulesets/reload")
@requires("it")
@contract("Load a revision (default: as configured) and swap it in atomically; a failing one is refused with "
          "its diagnostics", body=ReloadBody, body_required=False, answers={200: Reloaded}, errors=(409, 422),
          description=("An empty body reloads the configured revision.  409 removals_need_confirmation "
                       "(`removed`: rules, schedules, files) unless `allow_removals`; 422 git.* for a "
                       "revision that cannot be read, ruleset_invalid (`diagnostics`) for rules that do "
                       "not load — the current set keeps serving."))
def reload_ruleset():
    data = body_as(ReloadBody) if request.get_data() else ReloadBody()
    try:
        who = current_principal()
        rs = rulesets.reload(data.rev, who.person_id or who.name,
                             guard=None if data.allow_removals else refuse_removals)
    except RemovalsNeedConfirmation as err:
        raise err.refusal from None
    except RuleError as err:
        lang = request_lang()
        if err.code.startswith("git."):         # the revision cannot be read
            raise from_rule_error(err, lang, "$.rev") from None
        raise DomainError("ruleset_invalid", msg("the rule set does not load; the current one keeps serving"),
                          "$.rev", diagnostics=[d.to_json(lang) for d in err.diagnostics]) from None
    return jsonify({"version": rs.version, "rules": len(rs.rules)})    # every process within RULES_CHECK_S
