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
from trimtab.server.web.http import sessions
from trimtab.server.web.api_models import workbench as m
from trimtab.server.web.contract import body_as, contract, query_as
from trimtab.server.core.errors import DomainError, from_rule_error, request_lang

bp = Blueprint("reviews", __name__, url_prefix="/v1")
MAX_EXPORT = 5_000             # records one export page holds


def _answer(session, draft: Draft, **extra):
    doc = drafts.draft_json(draft, drafts.files_of(session, draft), rulesets.active().version)
    doc["summary"] = draft.summary
    doc.update(extra)
    return jsonify(doc)


@bp.post("/drafts/<id:draft_id>/submit")
@requires("hrbp")
@contract("Submit for review (owner): a commit on review/draft-{id} authored by you, with the diff, replay "
          "summary and test results in its message; audited (draft.submit)", parameters=(m.ACCEPT_LANGUAGE,),
          answers={200: m.Draft}, errors=(404, 409, 422, 500),
          description="500 git_failed: git itself failed on the rules repository (its message says how).")
def submit(draft_id: int):
    published = rulesets.active()
    with sessions() as session, session.begin():
        draft = review_flow.submit(session, current_principal(), draft_id, published,
                                   current_app.config, request_lang())
        return _answer(session, draft)


@bp.get("/reviews")
@requires("it")
@contract("IT's queue: submitted drafts, oldest first (status=returned|accepted for the others)",
          query=m.ReviewQueue, answers={200: m.DraftList})
def queue():
    """Submissions waiting for IT, oldest first (`status=` also shows returned or accepted)."""
    asked = query_as(m.ReviewQueue)
    status, limit, after = asked.status, asked.limit, asked.after
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
@contract("Accept a submission (IT, not its author): merge onto the served branch and reload through the "
          "guard — a version that fails its checks or drops rules (without allow_removals) is refused and "
          "nothing moves; audited (draft.accept)", body=m.AcceptDraft, body_required=False,
          answers={200: m.Draft}, errors=(404, 409, 422, 500),
          description="409 removals_need_confirmation lists the rules the version drops; 500 git_failed: "
                      "git itself failed on the rules repository.")
def accept(draft_id: int):
    allow = (body_as(m.AcceptDraft) if request.get_data() else m.AcceptDraft()).allow_removals
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
@contract("Send a submission back with a comment (IT, not its author); its author may edit and submit it "
          "again; audited (draft.return)", body=m.SendBack, answers={200: m.Draft}, errors=(404, 409, 422))
def send_back(draft_id: int):
    with sessions() as session, session.begin():
        # Which submission and who reviews it (404, 409, 403) before what the body says (422).
        review_flow.reviewer(current_principal(), review_flow.in_review(session, draft_id))
        comment = body_as(m.SendBack).comment
        draft = review_flow.send_back(session, current_principal(), draft_id, comment,
                                      rulesets.active().version)
        return _answer(session, draft)


# ---------------------------------------------------------------- recorded facts
@bp.get("/facts/export")
@requires("workbench")
@contract("Recorded facts you may see, in arrival order, as replay records (`trimtab replay --facts` reads "
          "the items); at most 500 a page", query=m.FactsExport, answers={200: m.FactRecords}, errors=(422,),
          description="`after` pages on by fact id within the same filters; a `from` or `to` that is not a "
                      "date is 422 invalid_date.")
def export_facts():
    """Recorded facts the caller sees, in the order they arrived, as replay records (`trimtab replay
    --facts` reads the items); `after` pages on by fact id within the same filters."""
    args = query_as(m.FactsExport)
    limit, after = min(args.limit, MAX_EXPORT), args.after
    query = draft_impact.facts_query(scope(), args.form, args.subject,
                                     draft_impact.day(args.from_, "from"),
                                     draft_impact.day(args.to, "to"))
    from trimtab.server.storage.models import Fact
    query = query.where(Fact.id > after).order_by(None).order_by(Fact.id)   # pages by arrival
    with sessions() as session:
        items = draft_impact.records(session, query, limit)
    for item in items:
        item["facts"] = plain(item["facts"])
    return jsonify({"items": items, "next": items[-1]["id"] if len(items) == limit else None})


@bp.get("/decisions/<decision:decision_id>/why")
@requires("person")
@contract("Why a stored decision: its explanation and trace, the rule's text in the version that decided, "
          "and the facts it saw", answers={200: m.Why}, errors=(403, 404), parameters=(m.ACCEPT_LANGUAGE,))
def why(decision_id: int):
    from trimtab.server.domain.why import why as explain
    with sessions() as session:
        doc = explain(session, scope(), decision_id, rulesets.active(), current_app.config,
                      request_lang())
    doc["facts"] = plain(doc["facts"])
    return jsonify(doc)
