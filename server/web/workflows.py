"""POST /v1/workflows/<name>/evaluate: which steps of an approval apply to a form's values —
the branch a platform's workflow engine takes where it cannot evaluate the step's condition
itself (server/plugin/workflow_export.py writes the call into the platform's definition).

Called by the platform's connector as a webhook client: signed like POST /hooks/<form>, the
client's identity from its credentials.  Nothing is stored; the subject's earlier requests are
read as a submission would read them, so `at most N … per cycle` answers as it would."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from trimtab.server.auth import requires
from trimtab.server.domain import history, plan
from trimtab.server.domain.filing import file
from trimtab.server.domain.rulesets import active
from trimtab.server.domain.validation import parse_json, validate
from trimtab.server.web.api_models.platforms import StepsAnswer, StepsAsked
from trimtab.server.web.contract import body_as, contract
from trimtab.server.web.http import sessions
from trimtab.server.web.submitting import SIGNED
from trimtab.server.messages import msg
from trimtab.server.core import gate, security
from trimtab.server.core.errors import DomainError, from_rule_error, request_lang

bp = Blueprint("workflows", __name__, url_prefix="/v1")


@bp.post("/workflows/<name>/evaluate")
@requires("webhook")
@contract("Which steps of an approval apply to a form's values, with the subject's earlier requests; writes "
          "nothing. The call a platform's workflow makes where it cannot evaluate a step's condition itself "
          "(workflows/<platform>/approval-<name>.json, x-trimtab.callback). Signed as a webhook client.",
          body=StepsAsked, answers={200: StepsAnswer}, errors=(400, 401, 404, 409, 422), parameters=SIGNED)
def evaluate_steps(name: str):
    raw = request.get_data(cache=False)
    cfg = current_app.config
    security.verify(request.headers, raw, cfg["CLIENTS"], cfg["SIGNATURE_TOLERANCE_S"],
                    v1_until=cfg.get("SIGNATURE_V1_UNTIL"))
    ruleset = active()
    rules = [r for r in ruleset.rules if r.kind == "approval" and r.name == name]
    if not rules:
        raise DomainError("not_found", msg("no approval workflow `{name}`", name=name), f"/v1/workflows/{name}")
    facts = body_as(StepsAsked, parse_json(raw)).facts
    form = rules[0].form.name
    schema = ruleset.schemas[form]
    with gate.turn(request.content_length or 0):
        validate(schema, facts, request_lang())
        filing = file(schema, facts, cfg["TZ"])
        with sessions() as session, session.begin():
            earlier = history.read(session, ruleset, form, filing.subject, filing.period)
        decisions = [d for d in plan.evaluate(ruleset, form, facts, earlier, filing.day)
                     if d.rule == name]
    if not decisions:       # not in force on the request's date
        raise DomainError("not_found", msg("approval workflow `{name}` is not in force on {day}",
                                           name=name, day=filing.day.isoformat()), "$.facts")
    d = decisions[0]
    if d.error is not None:
        raise from_rule_error(d.error, request_lang(), "$.facts")
    return jsonify(step_answer(d.compiled, ruleset.version, d.details))


def step_answer(compiled, version: str, details: dict) -> dict:
    """Each step's id (step1 … in file order, as in workflows/) → whether it applies.  A role
    appears in one step only (check.repeated_role), so the roles of an applying step name it."""
    applying = {tuple(s["roles"]) for s in details["steps"]}
    steps = {f"step{i}": tuple(s.roles) in applying for i, s in enumerate(compiled.rule.steps, 1)}
    return {"workflow": compiled.name, "ruleset_version": version, "allowed": details["allowed"],
            "violations": details["violations"], "steps": steps}
