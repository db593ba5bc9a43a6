"""Targets and splits: suggestions from the goal-pool rules, weighted splits with the band."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from trimtab.server.domain import history as histories, rulesets
from trimtab.server.messages import msg
from trimtab.server.domain.filing import occurred_on, period_key, subject_of
from trimtab.server.core.errors import DomainError, request_lang
from trimtab.server.domain.validation import validate
from trimtab.server.web.api_models.approvals import (SplitBody, SplitOut, SubjectPath, SuggestBody,
                                                     TargetSuggestions, TargetHistory)
from trimtab.server.web.contract import body_as, checked, contract
from trimtab.server.web.http import sessions
from trimtab.server.auth import requires, scope

bp = Blueprint("targets", __name__, url_prefix="/v1")


def _rules_of(kind: str, form: str, name: str | None):
    rs = rulesets.active()
    rules = [r for r in rs.in_force(form) if r.kind == kind] if form in rs.by_form else []
    if name:
        rules = [r for r in rules if r.name == name]
        if not rules:
            raise DomainError("not_found", msg("no {kind} rule `{name}` on form `{form}`",
                                               kind=kind, name=name, form=form), "$.rule")
    if not rules:
        raise DomainError("not_found", msg("no {kind} rule listens to form `{form}`", kind=kind, form=form), "$.form")
    return rs, rules


def _request(kind: str, model):
    """(rule set, rules, form, facts, request body) for a request naming facts of a form."""
    data = body_as(model)
    rs, rules = _rules_of(kind, data.form, data.rule)
    facts = dict(data.facts)
    validate(rs.schemas[data.form], facts)
    return rs, rules, data.form, facts, data


@bp.post("/targets/suggest")
@requires("person")
@contract("Suggested targets and ranges from the target rules, with stored history",
          body=SuggestBody, answers={200: TargetSuggestions}, errors=(403, 404, 422),
          description="The facts of this period, with the earlier periods the server holds for the "
                      "subject as history (or a `history` given here).  404: no target rule on the "
                      "form (or none named `rule`); 403: the subject's history is not yours to read; "
                      "422: facts the form's schema or the rules refuse.")
def suggest():
    """Suggested targets (and their range) for one subject: the facts of this period, with the
    earlier periods the server holds as history (or a `history` given in the request)."""
    rs, rules, form, facts, data = _request("target", SuggestBody)
    schema = rs.schemas[form]
    history = data.history
    if history is None:
        subject = subject_of(schema, facts)
        if not scope().sees_subject(subject):
            raise DomainError("out_of_scope", msg("`{subject}`'s history is not yours to read", subject=subject),
                              "$.facts")
        with sessions() as session:
            day = occurred_on(schema, facts, current_app.config["TZ"])
            history = histories.read(session, rs, form, subject, period_key(schema, day))
    lang = request_lang()
    out = []
    for r in rules:
        d = r.evaluate(facts, history)
        if d.error is not None:
            raise DomainError(d.error.code, d.error.message(lang), "$.facts")
        out.append(d.to_json(lang))
    return jsonify({"ruleset_version": rs.version, "history_periods": len(history), "suggestions": out})


@bp.post("/splits")
@requires("person")
@contract("A weighted split; an adjustment beyond the band without a reason is refused",
          body=SplitBody, answers={200: SplitOut}, errors=(404, 422),
          description="The parent target split by the split rule's weights, rounded so the shares sum "
                      "to it.  422 `reason_required`: an adjustment beyond the free band without a "
                      "written reason; 422 `adjustment_out_of_range`: one beyond the hard limit "
                      "(either names the child and carries the `violations`).")
def split():
    """Split a parent target by the split rule's weights, rounded so the shares sum to it.
    The rule's band holds: an adjustment beyond the free band without a written reason is
    refused (422 reason_required), one beyond the hard limit is refused with or without one
    (422 adjustment_out_of_range); either names the child."""
    rs, rules, form, facts, _data = _request("split", SplitBody)
    lang = request_lang()
    d = rules[0].evaluate(facts)
    if d.error is not None:
        raise DomainError(d.error.code, d.error.message(lang), "$.facts")
    doc = d.to_json(lang)
    if not doc["ok"]:
        bad = doc["violations"][0]
        band = doc["band"]
        items = facts.get(rules[0].rule.across, [])
        key = rules[0].form.list_field(rules[0].rule.across).key_field or "name"
        index = next((i for i, it in enumerate(items) if it.get(key) == bad["key"]), 0)
        code, field = ("adjustment_out_of_range", band["field"]) if bad["code"] == "beyond_limit" \
            else ("reason_required", band["reason_field"])
        raise DomainError(code, doc["explanation"], f"$.{rules[0].rule.across}[{index}].{field}",
                          violations=doc["violations"])
    return jsonify({"ruleset_version": rs.version, "split": doc})


@bp.get("/targets/<subject>/history")
@requires("person")
@contract("A subject's target changes (from the audit log)", path=SubjectPath,
          answers={200: TargetHistory}, errors=(403,),
          description="Approved and refused target changes and first targets, newest first, at most "
                      "200; each entry's details (approval, metric, before, after, approvers…) follow "
                      "its `at`, `action` and `ruleset_version`.")
def target_history(subject: str):
    """A subject's approved and refused target changes, newest first (from the audit log)."""
    from sqlalchemy import select
    from trimtab.server.storage.models import AuditEntry
    checked(SubjectPath, {"subject": subject}, "bad_request")
    if not scope().sees_subject(subject):
        raise DomainError("out_of_scope", msg("`{subject}` is not yours to see", subject=subject), "$.subject")
    with sessions() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.subject == subject)
                               .order_by(AuditEntry.id.desc()).limit(200)).all()
        return jsonify({"subject": subject, "changes": [
            {"at": a.at.isoformat() + "Z", "action": a.action, "ruleset_version": a.ruleset_version,
             **a.details} for a in rows]})
