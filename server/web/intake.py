"""POST /hooks/<form>: a signed form submission → decisions (server/domain/submission.py)."""
from __future__ import annotations

from flask import Blueprint, current_app, request

from trimtab.server.web import security
from trimtab.server.messages import msg
from trimtab.server.domain import submission
from trimtab.server.auth import requires
from trimtab.server.web.errors import DomainError, request_lang
from trimtab.server.domain.rulesets import active
from trimtab.server.domain.validation import decode, parse_json

bp = Blueprint("hooks", __name__)


@bp.post("/hooks/<form>")
@requires("webhook")
def hook(form: str):
    raw = request.get_data(cache=False)
    cfg = current_app.config
    client, proof = security.verify(request.headers, raw, cfg["CLIENTS"], cfg["SIGNATURE_TOLERANCE_S"],
                                    v1_until=cfg.get("SIGNATURE_V1_UNTIL"))
    delivery_id = request.headers.get(security.DELIVERY)
    if not delivery_id:
        raise DomainError("delivery_id_missing", msg("{delivery} header is required", delivery=security.DELIVERY))
    if form not in active().schemas:
        raise DomainError("unknown_form", msg("no form `{form}`", form=form), f"/hooks/{form}")
    # One pass from bytes to checked facts; a body it refuses goes the passes' way (parse,
    # then validate), which words the error as before.
    facts = decode(active().schemas[form], raw)
    checked = facts is not None
    if not checked:
        facts = parse_json(raw)
    return accept(form, facts, raw, raw.decode("utf-8"), client, delivery_id, proof, checked)


def accept(form: str, facts, raw: bytes, payload: str, client: str, delivery_id: str,
           proof: str | None = None, checked: bool = False, source: str | None = None):
    """An authenticated submission of `form` → the response: stored with its decisions, or
    the earlier answer to the same delivery (submission.Submission says what each is)."""
    answer = submission.submit(current_app, active(), submission.Submission(
        form, facts, raw, payload, client, delivery_id, proof, request_lang(), checked, source))
    resp = current_app.response_class(answer.text, status=answer.status, mimetype="application/json")
    if answer.replayed:
        resp.headers["X-Trimtab-Replayed"] = "true"
    return resp
