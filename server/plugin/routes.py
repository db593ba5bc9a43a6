"""Intake adapters: each platform's push → the generic submission that /hooks/<form> takes.

Each adapter checks the platform's own authentication, finds the delivery id the platform
retries with, turns the platform's record into the form's facts (convert.py), and hands them
to submitting.accept — the same transaction, decisions and idempotency as the generic webhook.
The platforms' secrets come from the environment (server/config.py)."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, redirect, request, url_for

from trimtab.dsl.decision import plain

from trimtab.server.auth import requires
from trimtab.server.messages import msg
from trimtab.server.core.errors import DomainError, request_lang
from trimtab.server.core.security import same
from trimtab.server.web.submitting import SUBMISSION_ERRORS, accept
from trimtab.server.web.api_models.exports import Export, ExportPath, OldExportPath
from trimtab.server.web.api_models.intake import FeishuAnswer, HookAnswer, Submitted
from trimtab.server.web.api_models.platforms import FeishuPush, JdyPush, MingdaoPush, MingdaoToken, YidaPush
from trimtab.server.web.contract import Raw, contract
from trimtab.server.domain.validation import parse_json
from trimtab.server.domain import retraction, submission
from trimtab.server.domain.rulesets import active
from trimtab.server.plugin.convert import record_to_facts
from trimtab.server.plugin import lark_records
from trimtab.server.plugin.people import resolve_members
# The platforms' checks live in signed.py: the approval callbacks use them too.
from trimtab.server.plugin.signed import JDY_SIGNED, LARK_SIGNED, header_param as _header, open_lark, verify_jdy
from trimtab.server.plugin.signed import platform_secret as _secret, unauthorized as _unauthorized

bp = Blueprint("platforms", __name__, url_prefix="/platforms")

DECISIONS = "decisions, as from /hooks/{form}"
REPLAYED = {"X-Trimtab-Replayed": "true when this is the earlier answer to the same delivery"}


def _schema(form: str) -> dict:
    schemas = active().schemas
    if form not in schemas:
        raise DomainError("unknown_form", msg("no form `{form}`", form=form), "$")
    return schemas[form].raw


def _submit(platform: str, form: str, record: dict, raw: bytes, delivery_id: str | None,
            path: str, mapped: bool = True, proof: str | None = None, source: str | None = None):
    """`proof`: the request's signature where it does not cover the delivery id (简道云), so
    the same signed request under another id is refused as a replay; `source`: the platform
    record it is (retraction.py)."""
    if not delivery_id:
        raise DomainError("delivery_id_missing", msg("{platform}: the push carries no delivery id", platform=platform))
    facts = _facts(platform, form, record, path, mapped)
    # Stored as the generic JSON the form describes (history reads it back by field name).
    payload = json.dumps(plain(facts), ensure_ascii=False)
    return accept(form, facts, raw, payload, platform, delivery_id, proof, source=source)


def _facts(platform: str, form: str, record: dict, path: str, mapped: bool = True,
           earlier: dict | None = None) -> dict:
    """A platform record → the form's facts (laid over `earlier`, what an edit leaves as it was)."""
    schema = _schema(form)
    mapping = current_app.extensions["trimtab.mappings"].get(platform, form) if mapped else \
        _by_name(schema)
    facts = record_to_facts(record, mapping, schema, current_app.config["TZ"], path)
    if earlier:
        facts = {k: v for k, v in {**earlier, **facts}.items() if v is not None}
    return resolve_members(platform, facts, path)


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
@contract("简道云 data push: X-JDY-Signature = hex SHA-1 of nonce:body:secret:timestamp; X-JDY-DeliverId "
          "de-duplicates; body {op, data, opTime} with fields by alias or _widget_ key; "
          "data_create/data_update/data_recover stored, data_remove retracts the record (data._id) and "
          "decides its periods again, other ops acknowledged as {ignored, reason}",
          body=JdyPush, answers={200: HookAnswer}, errors=SUBMISSION_ERRORS, headers=REPLAYED,
          parameters=JDY_SIGNED + (_header("X-JDY-DeliverId", "unique per delivery; a retry repeats it"),),
          description="200: " + DECISIONS + "; a retraction's answer; or {ignored, reason}.")
def jiandaoyun(form: str):
    raw = request.get_data(cache=False)
    verify_jdy(raw)
    push = parse_json(raw)
    if not isinstance(push, dict) or not isinstance(push.get("data"), dict):
        raise DomainError("schema_violation", msg("a 简道云 push is {op, data, opTime}"), "$.data")
    op, data, delivery = push.get("op"), push["data"], request.headers.get("X-JDY-DeliverId")
    if not isinstance(op, str):
        raise DomainError("schema_violation", msg("a 简道云 push is {op, data, opTime}"), "$.op")
    if op not in JDY_OPS:
        # Form changes and other pushes carry no record: nothing to store, and a 200 so
        # 简道云 does not retry them.
        return jsonify({"ignored": op, "reason": "not a data push of a record"})
    source = f"jiandaoyun:{form}:{data['_id']}" if isinstance(data.get("_id"), str) and data["_id"] else None
    proof = request.headers.get("X-JDY-Signature", "").lower()[:80]
    if op == "data_remove":
        if source is None:
            raise DomainError("schema_violation", msg("a data_remove push names its record (_id)"), "$.data._id")
        if not delivery:
            raise DomainError("delivery_id_missing",
                              msg("{platform}: the push carries no delivery id", platform="jiandaoyun"))
        return _answer(retraction.retract(current_app, active(), "jiandaoyun", delivery, source,
                                          raw, request_lang()))
    # data_recover brings the record back as it is now: stored afresh, its period decided again.
    return _submit("jiandaoyun", form, data, raw, delivery, "$.data", proof=proof, source=source)


JDY_OPS = ("data_create", "data_update", "data_remove", "data_recover")


# ---------------------------------------------------------------------- 明道云
@bp.post("/mingdao/hooks/<form>/<token>")
@requires("webhook")
@contract("明道云 webhook: the secret token is in the URL; body {delivery_id, data} with fields by name",
          path=MingdaoToken, body=MingdaoPush, answers={200: Submitted}, errors=SUBMISSION_ERRORS,
          headers=REPLAYED, description="200: " + DECISIONS + ".")
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
@contract("宜搭 HTTP connector: X-Api-Key; X-Yida-Request-Id (or formInstId) de-duplicates; body "
          "{formInstId, formData}",
          body=YidaPush, answers={200: Submitted}, errors=SUBMISSION_ERRORS, headers=REPLAYED,
          parameters=(_header("X-Api-Key", "this server's 宜搭 key (TRIMTAB_YIDA_API_KEY)"),
                      _header("X-Yida-Request-Id", "unique per delivery; else formInstId is the delivery id",
                              required=False)),
          description="200: " + DECISIONS + ".")
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
@bp.post("/feishu/events")
@requires("webhook")
@contract("飞书多维表格 record events (drive.file.bitable_record_changed_v1): X-Lark-Signature = hex SHA-256 of "
          "timestamp + nonce + encrypt key + body; {\"encrypt\": …} decrypted; url_verification answered; "
          "table_id picks the form (mapping files); each record action is one delivery (event_id, record_id, "
          "action); record_deleted retracts the record's facts and decides their periods again; other event "
          "types acknowledged as {ignored}",
          body=FeishuPush, answers={200: FeishuAnswer}, errors=SUBMISSION_ERRORS, headers=REPLAYED,
          parameters=LARK_SIGNED,
          description="200: {event_id, form, actions: [{record_id, action, …the submission's or "
                      "retraction's answer}]}, {challenge} or {ignored, reason}.")
def feishu_events():
    """飞书's one event URL: the table id picks the form (lark_records.table_form)."""
    return _feishu(None)


@bp.post("/feishu/hooks/<form>")
@requires("webhook")
@contract("飞书 event with the form in the URL (the mapping's table_id, when set, must match): as "
          "/platforms/feishu/events; the 0.1 shape {event{fields}} is read for one release",
          body=FeishuPush, answers={200: FeishuAnswer}, errors=SUBMISSION_ERRORS, headers=REPLAYED,
          parameters=LARK_SIGNED, description="200: " + DECISIONS + ", or as /platforms/feishu/events.")
def feishu(form: str):
    """The form in the URL (a mapping file's table_id, when it names one, must match)."""
    return _feishu(form)


def _feishu(form: str | None):
    envelope, clear = open_lark(request.get_data(cache=False))
    if envelope.get("type") == "url_verification":
        return jsonify({"challenge": envelope.get("challenge")})
    header, event = envelope.get("header"), envelope.get("event")
    if not isinstance(header, dict) or not isinstance(event, dict):
        raise DomainError("schema_violation", msg("a 飞书 event is {schema, header, event}"), "$.event")
    event_id = _text_id(header.get("event_id"))
    if form is not None and isinstance(event.get("fields"), dict):
        # The shape the 0.1 manifest documented ({event{fields}}), for one release.
        return _submit("feishu", form, event["fields"], clear, event_id, "$.event.fields")
    if header.get("event_type") != lark_records.EVENT_TYPE:
        return jsonify({"ignored": header.get("event_type"),
                        "reason": f"only {lark_records.EVENT_TYPE} events carry records"})
    if not event_id:
        raise DomainError("delivery_id_missing", msg("feishu: the event carries no header.event_id"))
    mappings = current_app.extensions["trimtab.mappings"]
    form = lark_records.table_form(mappings, active().schemas, event.get("table_id"), form)
    answers = [_feishu_action(form, event, act, event_id, clear)
               for act in lark_records.record_actions(event)]
    resp = jsonify({"event_id": event_id, "form": form, "actions": [
        {"record_id": act.record_id, "action": act.action, **json.loads(answer.text)}
        for act, answer in answers]})
    if all(answer.replayed for _act, answer in answers):
        resp.headers["X-Trimtab-Replayed"] = "true"
    return resp


def _feishu_action(form: str, event: dict, act, event_id: str, clear: bytes):
    """One record action as its own delivery (event id, record id, action): a submission, or
    the record's retraction.  A refusal stops the event there; the actions before it are
    stored, and a retry of the event answers them as before."""
    source = f"feishu:{event['table_id']}:{act.record_id}"
    delivery = f"{event_id}:{act.record_id}:{act.action}"
    if act.action == "record_deleted":
        return act, retraction.retract(current_app, active(), "feishu", delivery, source, clear,
                                       request_lang())
    mapping = current_app.extensions["trimtab.mappings"].get("feishu", form)
    values = lark_records.unpack_subforms(act.values, mapping["fields"],
                                          _schema(form).get("properties", {}), f"{act.path}.after_value")
    earlier = None
    if act.action == "record_edited":       # only the changed fields: over what the record held
        earlier = retraction.record_facts(current_app.extensions["trimtab.sessions"], source)
    facts = _facts("feishu", form, values, f"{act.path}.after_value", earlier=earlier)
    payload = json.dumps(plain(facts), ensure_ascii=False)
    return act, submission.submit(current_app, active(), submission.Submission(
        form, facts, clear, payload, "feishu", delivery, None, request_lang(), source=source))


def _answer(answer):
    resp = current_app.response_class(answer.text, status=answer.status, mimetype="application/json")
    if answer.replayed:
        resp.headers["X-Trimtab-Replayed"] = "true"
    return resp


# ---------------------------------------------------------------------- form export
@bp.get("/feishu_bitable/forms/<form>")
@requires("public")                     # a redirect only: the export itself asks who is asking
@contract("The 飞书 export under its pre-0.2 platform name: a permanent redirect (308) to "
          "/platforms/feishu/forms/{form}, for one release",
          path=OldExportPath, answers={308: Raw(None, description="Location: /platforms/feishu/forms/{form}")})
def export_old_name(form: str):
    """飞书's platform name was `feishu_bitable` until 0.2: its export URL answers a permanent
    redirect for one release."""
    return redirect(url_for("platforms.export", platform="feishu", form=form), 308)


@bp.get("/<platform>/forms/<form>")
@requires("person")
@contract("A form (with the rules' constraints) in the shape the platform's import or API takes: feishu "
          "(Bitable create-table body), jiandaoyun (widget list), mingdao (worksheet controls), yida "
          "(form components), generic (JSON Schema)",
          path=ExportPath, answers={200: Export}, errors=(400, 404))
def export(platform: str, form: str):
    """A form in the shape the platform's import or API takes (see export.py)."""
    from trimtab.dsl.derive import derived_form
    from trimtab.server.plugin.export import TYPES, export_form
    if platform not in TYPES and platform != "generic":
        raise DomainError("not_found", msg("no platform `{platform}` (generic, {arg})", platform=platform,
                                           arg=", ".join(sorted(TYPES))), "$.platform")
    _schema(form)
    return jsonify(export_form(platform, form, derived_form(active(), form)))
