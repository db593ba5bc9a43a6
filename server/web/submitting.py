"""How a signed request becomes a submission, and its answer a response — shared by the
webhook route (web/intake.py), its lane beside Flask's request machinery (web/hook_lane.py),
the platforms' routes (plugin/routes.py) and the workflow steps' documentation (web/workflows.py).
The service itself is server/domain/submission.py."""
from __future__ import annotations

from flask import current_app

from trimtab.server.core import security
from trimtab.server.messages import msg
from trimtab.server.domain import submission
from trimtab.server.core.errors import DomainError, request_lang
from trimtab.server.domain.rulesets import active
from trimtab.server.domain.validation import decode, parse_json

# The signature headers of a webhook client (server/core/security.py).
SIGNED = (
    {"name": "X-Trimtab-Client", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "client name"},
    {"name": "X-Trimtab-Timestamp", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "Unix seconds, within 5 minutes"},
    {"name": "X-Trimtab-Signature", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "v2= and the hex HMAC-SHA256 of 'v2:' + timestamp + '.' + delivery id + '.' + raw "
                    "body with the client's secret (scheme v1, sha256= of timestamp + '.' + raw body, "
                    "until SIGNATURE_V1_UNTIL)"},
    {"name": "X-Trimtab-Delivery", "in": "header", "required": True,
     "schema": {"type": "string", "minLength": 1, "maxLength": 200},
     "description": "unique per delivery; a retry repeats it and gets the same answer"},
)

# What a submission can be refused with: not well formed (400), not signed (401), a delivery id
# used with another body or a signed request replayed, a period or an approval that moved on
# (409), facts the form or the rules refuse (422).
SUBMISSION_ERRORS = (400, 401, 409, 422)


def answer_hook(app, ruleset, form: str, headers, raw: bytes, lang: str) -> submission.Answer:
    """A webhook's request → its answer: web/intake.py's view, and web/hook_lane.py without Flask's
    request machinery.  `headers`: anything with .get(name) (request.headers, EnvironHeaders)."""
    cfg = app.config
    client, proof = security.verify(headers, raw, cfg["CLIENTS"], cfg["SIGNATURE_TOLERANCE_S"],
                                    v1_until=cfg.get("SIGNATURE_V1_UNTIL"))
    delivery_id = headers.get(security.DELIVERY)
    if not delivery_id:
        raise DomainError("delivery_id_missing", msg("{delivery} header is required", delivery=security.DELIVERY))
    if form not in ruleset.schemas:
        raise DomainError("unknown_form", msg("no form `{form}`", form=form), f"/hooks/{form}")
    # One pass from bytes to checked facts; a body it refuses goes the passes' way (parse,
    # then validate), which words the error as before.
    facts = decode(ruleset.schemas[form], raw)
    checked = facts is not None
    if not checked:
        facts = parse_json(raw)
    return submission.submit(app, ruleset, submission.Submission(
        form, facts, raw, raw.decode("utf-8"), client, delivery_id, proof, lang, checked, None))


def accept(form: str, facts, raw: bytes, payload: str, client: str, delivery_id: str,
           proof: str | None = None, checked: bool = False, source: str | None = None):
    """An authenticated submission of `form` → the response: stored with its decisions, or
    the earlier answer to the same delivery (submission.Submission says what each is)."""
    return response_of(submission.submit(current_app, active(), submission.Submission(
        form, facts, raw, payload, client, delivery_id, proof, request_lang(), checked, source)))


def response_of(answer: submission.Answer):
    resp = current_app.response_class(answer.text, status=answer.status, mimetype="application/json")
    if answer.replayed:
        resp.headers["X-Trimtab-Replayed"] = "true"
    return resp
