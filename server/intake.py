"""POST /hooks/<form>: a signed form submission → decisions."""
from __future__ import annotations

import hashlib
import json

import fastjsonschema
import jsonschema
from flask import Blueprint, current_app, request
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from . import gate, limits, pg_intake, security, service
from .auth import requires
from .errors import DomainError
from dsl.values import MAX_JSON_DEPTH, loads_exact
from dsl.values import depth_ok as depth
from .models import Delivery, utcnow

INSERT_DELIVERY = insert(Delivery.__table__)    # Core, not the ORM: this is the hot path
from .rulesets import active

bp = Blueprint("hooks", __name__)


def request_lang() -> str:
    accept = request.headers.get("Accept-Language", "")
    if accept:
        return "zh" if accept.lower().startswith("zh") else "en"
    return current_app.config["LANG"]


def parse_json(raw: bytes):
    """The body as JSON with exact decimals; 400 when it is not JSON, not UTF-8, or nested
    deeper than http.MAX_JSON_DEPTH (deep nesting would exhaust the stack further on); 422
    naming the path of a number or text outside server.limits."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DomainError("malformed_json", f"the body is not JSON: {err}", "$") from None
    with gate.turn(len(raw)):
        return parse_text(text)


def parse_text(text: str):
    """parse_json of a text (a decrypted payload, say)."""
    try:
        value = loads_exact(text)
    except ValueError as err:
        raise DomainError("malformed_json", f"the body is not JSON: {err}", "$") from None
    except RecursionError:
        value = None
    else:
        if depth(value):
            limits.check(value)
            return value
    raise DomainError("too_deep", f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels", "$")


_VALIDATORS: dict = {}      # id of a schema's dict -> (dict, fast check, full validator)
_FORMATS = jsonschema.FormatChecker()


def _validators(schema):
    key = id(schema.raw)
    found = _VALIDATORS.get(key)
    if found is None or found[0] is not schema.raw:
        if len(_VALIDATORS) > 256:          # reloads replace schemas; keep the cache bounded
            _VALIDATORS.clear()
        # The fast check's formats are jsonschema's own, so both agree on what a date is.
        formats = {name: (lambda value, name=name: _FORMATS.conforms(value, name))
                   for name in _FORMATS.checkers}
        fast = fastjsonschema.compile(schema.raw, formats=formats)
        found = _VALIDATORS[key] = (schema.raw, fast, jsonschema.Draft202012Validator(
            schema.raw, format_checker=_FORMATS))
    return found[1], found[2]


def validate(schema, facts):
    """JSON Schema errors → 422 naming the JSON path of the first problem (all listed).

    fastjsonschema (schemas compiled to Python) answers the common case, a valid submission,
    in a tenth of jsonschema's time; only a submission it refuses goes through jsonschema, which
    lists every problem with its path — and has the last word."""
    fast, full = _validators(schema)
    try:
        fast(facts)
        limits.check_decimals(schema.raw, facts)
        return
    except fastjsonschema.JsonSchemaException:
        pass
    problems = sorted(full.iter_errors(facts), key=lambda e: list(e.absolute_path))
    if problems:
        first = problems[0]
        raise DomainError("schema_violation", first.message, first.json_path,
                          problems=[{"path": p.json_path, "message": p.message} for p in problems[:20]])


@bp.post("/hooks/<form>")
@requires("webhook")
def hook(form: str):
    raw = request.get_data(cache=False)
    cfg = current_app.config
    client, proof = security.verify(request.headers, raw, cfg["CLIENTS"], cfg["SIGNATURE_TOLERANCE_S"],
                                    v1_until=cfg.get("SIGNATURE_V1_UNTIL"))
    delivery_id = request.headers.get(security.DELIVERY)
    if not delivery_id:
        raise DomainError("delivery_id_missing", f"{security.DELIVERY} header is required")
    if form not in active().schemas:
        raise DomainError("unknown_form", f"no form `{form}`", f"/hooks/{form}")
    return accept(form, parse_json(raw), raw, raw.decode("utf-8"), client, delivery_id, proof)


def accept(form: str, facts, raw: bytes, payload: str, client: str, delivery_id: str,
           proof: str | None = None):
    """An authenticated submission of `form` → the response: stored with its decisions, or
    the earlier answer to the same delivery.  `raw` is what arrived (a retry must bring the
    same bytes), `payload` the facts as JSON text, as they are stored; `proof` the request's
    signature, good for this delivery id only (None where the platform signs nothing)."""
    cfg = current_app.config
    digest = hashlib.sha256(raw).hexdigest()
    sessions = current_app.extensions["trimtab.sessions"]
    metrics = current_app.extensions["trimtab.metrics"]
    ruleset = active()
    if form not in ruleset.schemas:
        raise DomainError("unknown_form", f"no form `{form}`", "$")
    if not isinstance(facts, dict):
        raise DomainError("schema_violation", "the body must be a JSON object", "$")
    if len(delivery_id) > limits.MAX_DELIVERY_ID:
        raise DomainError("delivery_id_too_long", f"a delivery id is at most "
                          f"{limits.MAX_DELIVERY_ID} characters", security.DELIVERY)
    for attempt in (1, 2):
        try:
            outcome = _store_and_decide(sessions, ruleset, form, facts, payload, client,
                                        (delivery_id, proof), digest, cfg)
            break
        except DBAPIError as err:
            # Pooled connections are not pinged before use (a round trip on every webhook); one
            # the database dropped — a restart — fails here, the pool discards its siblings, and
            # the webhook runs again on a fresh connection.  Safe: if the first attempt did
            # commit, the delivery key turns the second into a replay.
            if attempt == 2 or not err.connection_invalidated:
                raise
    if not isinstance(outcome, tuple):
        return outcome                              # a replayed answer
    body, text = outcome
    if body.get("notifications_queued") and cfg.get("REDIS_URL"):
        from .jobs import enqueue_dispatch       # after the commit: the rows exist for the worker
        enqueue_dispatch(cfg["REDIS_URL"])      # the job names nothing: the worker knows where
    for d in body["decisions"]:         # the answer itself is counted with every other one
        if d.get("kind") == "alert" and d.get("value"):
            metrics.fired(d["rule"])
    # The stored text itself: serialised once, and a retry's answer is byte for byte the same.
    return current_app.response_class(text, status=200, mimetype="application/json")


def _store_and_decide(sessions, ruleset, form, facts, payload, client, delivery, digest, cfg):
    """The webhook's writes, all or nothing → (response body, its JSON text), or the earlier
    answer for a retry.  `delivery`: (delivery id, proof)."""
    lang = request_lang()
    delivery_id, proof = delivery
    try:
        validate(ruleset.schemas[form], facts)
        earlier = None
        direct = current_app.extensions["trimtab.pg_direct"]
        if direct is not None and pg_intake.handles(form):
            outcome = pg_intake.submit(direct, ruleset, form, facts, payload, client,
                                       delivery, digest, cfg["TZ"], lang,
                                       current_app.extensions["trimtab.routes"])
            if isinstance(outcome, tuple):
                return outcome
            earlier = outcome                   # more than decisions to store: a transaction
        with sessions() as session, session.begin():
            # One transaction: the fact, its decisions, its notifications or approval and
            # this delivery are stored together or not at all.
            body = service.submit(session, ruleset, form, facts, payload, client, cfg["TZ"],
                                  lang, current_app.extensions["trimtab.channels"],
                                  current_app.extensions["trimtab.routes"], earlier)
            text = json.dumps(body, ensure_ascii=False)
            session.connection().execute(INSERT_DELIVERY, {
                "client": client, "delivery_id": delivery_id, "body_sha256": digest,
                "status": 200, "response": text, "created_at": utcnow(), "proof": proof})
        return body, text
    except (IntegrityError, DomainError):
        # The delivery's unique key is the idempotency check: a retry is rare, so it is not
        # looked up first (a round trip fewer per webhook); a retry fails on the key, stores
        # nothing, and answers as the first delivery did — perhaps racing it on another
        # worker, even if the organisation chart or the rules changed since.
        with sessions() as session:
            seen = session.scalars(select(Delivery).where(
                Delivery.client == client, Delivery.delivery_id == delivery_id)).first()
            replayed = seen is None and proof is not None and session.scalars(select(Delivery.id).where(
                Delivery.client == client, Delivery.proof == proof)).first() is not None
        if replayed:
            raise DomainError("replayed_request", "this signed request was already delivered "
                              "under another delivery id; nothing was stored", "$") from None
        if seen is None:
            raise
        return _replayed(seen, digest)


def _replayed(seen: Delivery, digest: str):
    if seen.body_sha256 != digest:
        raise DomainError("delivery_conflict",
                          "this delivery id was used before with a different body", "$")
    resp = current_app.response_class(seen.response, status=seen.status, mimetype="application/json")
    resp.headers["X-Trimtab-Replayed"] = "true"
    return resp
