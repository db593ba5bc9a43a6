"""Intake adapters: each platform's push → the generic submission that /hooks/<form> takes.

Each adapter checks the platform's own authentication, finds the delivery id the platform
retries with, turns the platform's record into the form's facts (convert.py), and hands them
to intake.accept — the same transaction, decisions and idempotency as the generic webhook.
The platforms' secrets come from the environment (server/config.py)."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request

from trimtab.dsl.decision import plain

from trimtab.server.auth import requires
from trimtab.server.messages import msg
from trimtab.server.web.errors import DomainError
from trimtab.server.web.security import same
from trimtab.server.web.intake import accept
from trimtab.server.domain.validation import parse_json
from trimtab.server.domain.rulesets import active
from trimtab.server.plugin.convert import record_to_facts
from trimtab.server.plugin.people import resolve_members
# The platforms' checks live in signed.py: the approval callbacks use them too.
from trimtab.server.plugin.signed import open_lark, verify_jdy
from trimtab.server.plugin.signed import platform_secret as _secret, unauthorized as _unauthorized

bp = Blueprint("platforms", __name__, url_prefix="/platforms")


def _schema(form: str) -> dict:
    schemas = active().schemas
    if form not in schemas:
        raise DomainError("unknown_form", msg("no form `{form}`", form=form), "$")
    return schemas[form].raw


def _submit(platform: str, form: str, record: dict, raw: bytes, delivery_id: str | None,
            path: str, mapped: bool = True, proof: str | None = None):
    """`proof`: the request's signature where it does not cover the delivery id (简道云), so
    the same signed request under another id is refused as a replay."""
    if not delivery_id:
        raise DomainError("delivery_id_missing", msg("{platform}: the push carries no delivery id", platform=platform))
    schema = _schema(form)
    mapping = current_app.extensions["trimtab.mappings"].get(platform, form) if mapped else \
        _by_name(schema)
    facts = resolve_members(platform, record_to_facts(record, mapping, schema,
                                                      current_app.config["TZ"], path), path)
    # Stored as the generic JSON the form describes (history reads it back by field name).
    payload = json.dumps(plain(facts), ensure_ascii=False)
    return accept(form, facts, raw, payload, platform, delivery_id, proof)


_BY_NAME: dict = {}         # id of a schema's dict -> (dict, identity mapping); schemas never change


def _by_name(schema: dict) -> dict:
    """The mapping of platforms that send fields by name: each field to itself."""
    found = _BY_NAME.get(id(schema))
    if found is None or found[0] is not schema:
        if len(_BY_NAME) > 256:            # reloads replace schemas; keep the cache bounded
            _BY_NAME.clear()
        props = schema.get("properties", {})
        found = _BY_NAME[id(schema)] = (schema, {
            "fields": {k: k for k in props},
            "subforms": {name: {k: k for k in (spec.get("items") or {}).get("properties", {})}
                         for name, spec in props.items()}})
    return found[1]


# ---------------------------------------------------------------------- 简道云
@bp.post("/jiandaoyun/hooks/<form>")
@requires("webhook")
def jiandaoyun(form: str):
    raw = request.get_data(cache=False)
    verify_jdy(raw)
    push = parse_json(raw)
    if not isinstance(push, dict) or not isinstance(push.get("data"), dict):
        raise DomainError("schema_violation", msg("a 简道云 push is {op, data, opTime}"), "$.data")
    if push.get("op") not in ("data_create", "data_update"):
        return jsonify({"ignored": push.get("op")})      # removals and tests change no facts
    return _submit("jiandaoyun", form, push["data"], raw, request.headers.get("X-JDY-DeliverId"),
                   "$.data", proof=request.headers.get("X-JDY-Signature", "").lower()[:80])


# ---------------------------------------------------------------------- 明道云
@bp.post("/mingdao/hooks/<form>/<token>")
@requires("webhook")
def mingdao(form: str, token: str):
    raw = request.get_data(cache=False)
    if not same(token, _secret("mingdao")):
        _unauthorized(msg("the token in the URL is not this server's 明道云 token"))
    push = parse_json(raw)
    if not isinstance(push, dict) or not isinstance(push.get("data"), dict):
        raise DomainError("schema_violation", msg("a 明道云 request is {delivery_id, data}"), "$.data")
    return _submit("mingdao", form, push["data"], raw, _text_id(push.get("delivery_id")), "$.data",
                   mapped=False)


def _text_id(value) -> str | None:
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and value != "" else None


# ---------------------------------------------------------------------- 宜搭
@bp.post("/yida/hooks/<form>")
@requires("webhook")
def yida(form: str):
    raw = request.get_data(cache=False)
    if not same(request.headers.get("X-Api-Key", ""), _secret("yida")):
        _unauthorized(msg("X-Api-Key is not this server's 宜搭 key"))
    push = parse_json(raw)
    if not isinstance(push, dict) or not isinstance(push.get("formData"), dict):
        raise DomainError("schema_violation", msg("a 宜搭 request is {formInstId, formData}"), "$.formData")
    delivery = request.headers.get("X-Yida-Request-Id") or _text_id(push.get("formInstId"))
    return _submit("yida", form, push["formData"], raw, delivery, "$.formData", mapped=False)


# ---------------------------------------------------------------------- 飞书
@bp.post("/feishu/hooks/<form>")
@requires("webhook")
def feishu(form: str):
    envelope, clear = open_lark(request.get_data(cache=False))
    if envelope.get("type") == "url_verification":
        return jsonify({"challenge": envelope.get("challenge")})
    header, event = envelope.get("header"), envelope.get("event")
    if not isinstance(header, dict) or not isinstance(event, dict) or not isinstance(event.get("fields"), dict):
        raise DomainError("schema_violation", msg("a 飞书 event is {schema, header, event{fields}}"),
                          "$.event.fields")
    return _submit("feishu_bitable", form, event["fields"], clear, _text_id(header.get("event_id")),
                   "$.event.fields")


# ---------------------------------------------------------------------- form export
@bp.get("/<platform>/forms/<form>")
@requires("person")
def export(platform: str, form: str):
    """A form in the shape the platform's import or API takes (see export.py)."""
    from trimtab.dsl.derive import derived_form
    from trimtab.server.plugin.export import TYPES, export_form
    if platform not in TYPES and platform != "generic":
        raise DomainError("not_found", msg("no platform `{platform}` (generic, {arg})",
                                           platform=platform, arg=', '.join(sorted(TYPES))), "$.platform")
    _schema(form)
    return jsonify(export_form(platform, form, derived_form(active(), form)))
