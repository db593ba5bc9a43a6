"""Submissions and their review (/v1/drafts/<id>/submit, /v1/reviews), the recorded-facts
export (/v1/facts/export) and why a stored decision came out so (/v1/decisions/<id>/why)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from trimtab.dsl.decision import plain
from trimtab.dsl.diagnostics import RuleError
from trimtab.server.auth import current_principal, requires, scope
from trimtab.server.domain import draft_impact, drafts, review_flow, rulesets
from trimtab.server.domain.reload_guard import RemovalsNeedConfirmation, refuse_removals
from trimtab.server.messages import msg
from trimtab.server.storage.drafts import Draft
from trimtab.server.web.api import body, page_args, sessions
from trimtab.server.web.errors import DomainError, from_rule_error, request_lang

bp = Blueprint("reviews", __name__, url_prefix="/v1")
MAX_EXPORT = 5_000             # records one export page holds


def _answer(session, draft: Draft, **extra):
    doc = drafts.draft_json(draft, drafts.files_of(session, draft), rulesets.active().version)
    doc["summary"] = draft.summary
    doc.update(extra)
    return jsonify(doc)


@bp.post("/drafts/<id:draft_id>/submit")
@requires("hrbp")
def submit(draft_id: int):
    published = rulesets.active()
    with sessions() as session, session.begin():
        draft = review_flow.submit(session, current_principal(), draft_id, published,
                                   current_app.config, request_lang())
        return _answer(session, draft)


@bp.get("/reviews")
@requires("it")
def queue():
    """Submissions waiting for IT, oldest first (`status=` also shows returned or accepted)."""
    status = request.args.get("status", drafts.SUBMITTED)
    if status not in (drafts.SUBMITTED, drafts.RETURNED, drafts.ACCEPTED):
        raise DomainError("bad_request", msg("`status` is submitted, returned or accepted"), "$.status")
    limit, after = page_args()
    q = (select(Draft).where(Draft.status == status, Draft.id > after)
         .order_by(Draft.id).limit(limit))
    with sessions() as session:
        items = []
        for d in session.scalars(q):
            doc = drafts.draft_json(d, drafts.files_of(session, d), rulesets.active().version)
            doc["summary"] = d.summary
            items.append(doc)
    return jsonify({"items": items, "next": items[-1]["id"] if len(items) == limit else None})


@bp.post("/reviews/<id:draft_id>/accept")
@requires("it")
def accept(draft_id: int):
    data = body() if request.get_data() else {}
    allow = data.get("allow_removals", False)
    if not isinstance(allow, bool):
        raise DomainError("schema_violation", msg("`allow_removals` must be true or false"),
                          "$.allow_removals")
    who = current_principal()
    lang = request_lang()

    def reload(rev: str):
        try:
            return rulesets.reload(rev, who.person_id or who.name,
                                   guard=None if allow else refuse_removals)
        except RemovalsNeedConfirmation as err:
            raise err.refusal from None
        except RuleError as err:
            if err.code.startswith("git."):
                raise from_rule_error(err, lang, "$") from None
            raise DomainError("ruleset_invalid", msg("the merged rule set does not load; the current "
                                                     "one keeps serving"), "$",
                              diagnostics=[d.to_json(lang) for d in err.diagnostics]) from None

    draft, ruleset = review_flow.accept(current_app.extensions["trimtab.sessions"], who, draft_id,
                                        current_app.config, reload)
    with sessions() as session:
        return _answer(session, session.get(Draft, draft.id), version=ruleset.version)


@bp.post("/reviews/<id:draft_id>/return")
@requires("it")
def send_back(draft_id: int):
    data = body()
    with sessions() as session, session.begin():
        draft = review_flow.send_back(session, current_principal(), draft_id, data.get("comment"),
                                      rulesets.active().version)
        return _answer(session, draft)


# ---------------------------------------------------------------- recorded facts
@bp.get("/facts/export")
@requires("workbench")
def export_facts():
    """Recorded facts the caller sees, in the order they arrived, as replay records (`trimtab replay
    --facts` reads the items); `after` pages on by fact id within the same filters."""
    args = request.args
    for name in ("form", "subject"):
        if len(args.get(name, "")) > 128:
            raise DomainError("bad_request", msg("`{name}` has at most {most} characters", name=name, most=128),
                              f"$.{name}")
    limit, after = page_args()
    limit = min(limit, MAX_EXPORT)
    query = draft_impact.facts_query(scope(), args.get("form"), args.get("subject"),
                                     draft_impact.day(args.get("from"), "from"),
                                     draft_impact.day(args.get("to"), "to"))
    from trimtab.server.storage.models import Fact
    query = query.where(Fact.id > after).order_by(None).order_by(Fact.id)   # pages by arrival
    with sessions() as session:
        items = draft_impact.records(session, query, limit)
    for item in items:
        item["facts"] = plain(item["facts"])
    return jsonify({"items": items, "next": items[-1]["id"] if len(items) == limit else None})


@bp.get("/decisions/<id:decision_id>/why")
@requires("person")
def why(decision_id: int):
    from trimtab.server.domain.why import why as explain
    with sessions() as session:
        doc = explain(session, scope(), decision_id, rulesets.active(), current_app.config)
    doc["facts"] = plain(doc["facts"])
    return jsonify(doc)
