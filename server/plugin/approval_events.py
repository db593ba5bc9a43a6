"""Signed approval callbacks: a platform says who approved or rejected its approval instance,
and trimtab takes the linked approval's step as that person.

| route | verifies | names the operator by |
|---|---|---|
| POST /platforms/dingtalk/approvals/events | msg_signature (SHA-1), AES decryption, app key | staffId → dingtalk_userid |
| POST /platforms/feishu/approvals/events | X-Lark-Signature, encrypt key | open_id → feishu_open_id (else union_id) |
| POST /platforms/jiandaoyun/approvals/events | X-JDY-Signature | updater.username → jiandaoyun_username |

Each route only checks the platform's proof and reads its event into a `PlatformDecision`;
platform_approvals.decide does the rest in one serialised transaction.  Events that decide
nothing (a task started, transferred, a URL check) are answered as the platform expects and
change nothing."""
from __future__ import annotations

import time

from flask import Blueprint, jsonify, request

from trimtab.server.domain.approval_flow import approval_json
from trimtab.server.messages import msg
from trimtab.server.web.deciding import announce, deliver_soon, serialised, today
from trimtab.server.auth import requires
from trimtab.server.core.errors import DomainError
from trimtab.server.core.security import same
from trimtab.server.domain.validation import parse_json, parse_text
from trimtab.server.domain.platform_approvals import PlatformDecision, decide
from trimtab.server.plugin import dingtalk_crypto
from trimtab.server.plugin.signed import (JDY_SIGNED, LARK_SIGNED, fresh, open_lark, platform_secret,
                                          unauthorized, verify_jdy)
from trimtab.server.web.api_models.platforms import (ApprovalEventAnswer, DingtalkSuccess, Encrypted,
                                                     FeishuApprovalPush, JdyApprovalPush)
from trimtab.server.web.contract import contract

bp = Blueprint("approval_events", __name__, url_prefix="/platforms")

# What deciding a linked approval can be refused with: not signed (401), an operator who may
# not decide it (403), no linked approval (404), a step or approval decided already (409), an
# event that does not say what it decides or an operator nobody is (422).
DECIDING = (400, 401, 403, 404, 409, 422)
DECIDED = ("{approval, replayed}: the approval after the decision; replayed when this person's same "
           "verdict was already recorded (nothing changed)")


def _decide(d: PlatformDecision) -> dict:
    with serialised() as session:
        approval, replayed, before = decide(session, d, today())
        queued = 0 if replayed else announce(session, approval, before)
        out = {"approval": approval_json(approval), "replayed": replayed}
    deliver_soon(queued)
    return out


def _text(value) -> str | None:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return None
    return str(value).strip() or None


def _required(value, what: str, path: str) -> str:
    found = _text(value)
    if found is None:
        raise DomainError("schema_violation", msg("the event names no {what}", what=what), path)
    return found


# ---------------------------------------------------------------------- 钉钉
@bp.post("/dingtalk/approvals/events")
@requires("webhook")
@contract("钉钉 HTTP event push: msg_signature = hex SHA-1 of sorted token, timestamp, nonce, encrypt; "
          "{\"encrypt\": …} decrypted (AES-256-CBC, key base64(aes_key + \"=\")) and checked to be for the "
          "app key; bpms_task_change (type finish, result agree/refuse) decides the linked approval's step "
          "as the person whose dingtalk_userid is staffId; check_url and other events acknowledged. Answer: "
          "the encrypted \"success\" {msg_signature, timeStamp, nonce, encrypt}",
          body=Encrypted, answers={200: DingtalkSuccess}, errors=DECIDING,
          parameters=tuple({"name": name, "in": "query", "required": True,
                            "schema": {"type": "string", "maxLength": 4000}, "description": text}
                           for name, text in (("msg_signature", "the push's signature (or `signature`)"),
                                              ("timestamp", "milliseconds, within 5 minutes (or `timeStamp`)"),
                                              ("nonce", "the push's nonce"))),
          description="The decrypted event is {EventType, processInstanceId, staffId, type, result, "
                      "remark, …} as 钉钉 documents bpms_task_change.")
def dingtalk():
    """DingTalk's HTTP push: check_url and bpms_task_change (type finish, result agree/refuse).
    Whatever is decided, the answer to a good push is the encrypted "success" DingTalk waits for."""
    token, aes_key, app_key = (platform_secret(f"dingtalk_events_{n}") for n in ("token", "aes_key", "app_key"))
    event = _dingtalk_event(token, aes_key, app_key)
    decision = _dingtalk_decision(event)
    if decision is not None:
        _decide(decision)
    stamp = str(int(time.time() * 1000))
    return jsonify(dingtalk_crypto.envelope(b"success", token, aes_key, app_key, stamp))


def _dingtalk_event(token: str, aes_key: str, app_key: str) -> dict:
    args = request.args
    given = args.get("msg_signature") or args.get("signature") or ""
    stamp, nonce = args.get("timestamp") or args.get("timeStamp") or "", args.get("nonce", "")
    if not (given and stamp and nonce):
        unauthorized(msg("钉钉 push without msg_signature, timestamp or nonce"), "signature_missing")
    body = parse_json(request.get_data(cache=False))
    encrypted = body.get("encrypt") if isinstance(body, dict) else None
    if not isinstance(encrypted, str):
        raise DomainError("schema_violation", msg("a 钉钉 push is {\"encrypt\": …}"), "$.encrypt")
    fresh(stamp)
    if not same(given, dingtalk_crypto.signature(token, stamp, nonce, encrypted)):
        unauthorized(msg("msg_signature does not match the push"))
    try:
        event = parse_text(dingtalk_crypto.decrypt(encrypted, aes_key, app_key))
    except ValueError:                  # CryptoError, or not JSON
        raise DomainError("bad_encryption", msg("the `encrypt` field does not decrypt with this server's "
                                                "EncodingAESKey and app key"), "$.encrypt") from None
    if not isinstance(event, dict):
        raise DomainError("schema_violation", msg("a 钉钉 event is a JSON object"), "$")
    return event


def _dingtalk_decision(event: dict) -> PlatformDecision | None:
    """An approver's finished task (bpms_task_change, type finish, result agree or refuse);
    None for anything else (check_url, a task started or transferred, other events)."""
    if event.get("EventType") != "bpms_task_change" or event.get("type") != "finish" \
            or event.get("result") not in ("agree", "refuse"):
        return None
    return PlatformDecision(
        "dingtalk", _required(event.get("processInstanceId"), "processInstanceId", "$.processInstanceId"),
        "dingtalk_userid", _required(event.get("staffId"), "staffId", "$.staffId"),
        "approve" if event["result"] == "agree" else "reject", _text(event.get("remark")))


# ---------------------------------------------------------------------- 飞书
@bp.post("/feishu/approvals/events")
@requires("webhook")
@contract("飞书 approval_task event: X-Lark-Signature as for /platforms/feishu/hooks/{form}, {\"encrypt\": …} "
          "decrypted; status APPROVED/REJECTED decides the step of the linked approval (instance_code) as the "
          "person whose feishu_open_id is open_id (else feishu_union_id is union_id); url_verification "
          "answered; other statuses acknowledged as {ignored}",
          body=FeishuApprovalPush, answers={200: ApprovalEventAnswer}, errors=DECIDING,
          parameters=LARK_SIGNED, description="200: " + DECIDED + "; {challenge}; or {ignored}.")
def feishu():
    """飞书's approval_task event (status APPROVED or REJECTED); url_verification answered."""
    envelope, _ = open_lark(request.get_data(cache=False))
    if envelope.get("type") == "url_verification":
        return jsonify({"challenge": envelope.get("challenge")})
    decision = _feishu_decision(envelope)
    if isinstance(decision, str):
        return jsonify({"ignored": decision})
    return jsonify(_decide(decision))


def _feishu_decision(envelope: dict) -> PlatformDecision | str:
    """The decision of an approval_task event (the 1.0 envelope 飞书 documents for it, or the
    same event under a 2.0 header), or why the event decides nothing."""
    event, header = envelope.get("event"), envelope.get("header")
    header = header if isinstance(header, dict) else {}
    if not isinstance(event, dict) or "approval_task" not in (event.get("type"), header.get("event_type")):
        return "not an approval_task event"
    status = event.get("status")
    if status not in ("APPROVED", "REJECTED"):
        return f"task status {status}"
    instance = _required(event.get("instance_code"), "instance_code", "$.event.instance_code")
    verdict = "approve" if status == "APPROVED" else "reject"
    for field, kind in (("open_id", "feishu_open_id"), ("union_id", "feishu_union_id")):
        if _text(event.get(field)):
            return PlatformDecision("feishu", instance, kind, _text(event[field]), verdict, None)
    if _text(event.get("user_id")):
        raise DomainError("unknown_platform_user",
                          msg("飞书 user_id `{arg}` cannot be mapped: the organisation chart holds open_id "
                              "(feishu_open_id) and union_id (feishu_union_id); send the event with the "
                              "operator's open_id", arg=_text(event['user_id'])), "$.event.open_id",
                          platform="feishu", platform_user=_text(event["user_id"]), column="feishu_open_id")
    return "no operator (an automatic pass or rejection)"


# ---------------------------------------------------------------------- 简道云
VERDICTS = {"approve": "approve", "同意": "approve", "通过": "approve",
            "reject": "reject", "拒绝": "reject", "驳回": "reject"}


@bp.post("/jiandaoyun/approvals/events")
@requires("webhook")
@contract("简道云 data push of the approval form, signed as for /platforms/jiandaoyun/hooks/{form}: a "
          "data_update whose record (_id, linked) carries trimtab_decision (同意/通过/approve or "
          "拒绝/驳回/reject) and optionally trimtab_comment decides the step as the person whose "
          "jiandaoyun_username is updater.username; other pushes acknowledged as {ignored}",
          body=JdyApprovalPush, answers={200: ApprovalEventAnswer}, errors=DECIDING,
          parameters=JDY_SIGNED, description="200: " + DECIDED + "; or {ignored}.")
def jiandaoyun():
    """简道云's data push of the approval form: a `data_update` whose record carries the
    approver's verdict in the field aliased `trimtab_decision`."""
    raw = request.get_data(cache=False)
    verify_jdy(raw)
    push = parse_json(raw)
    if not isinstance(push, dict) or not isinstance(push.get("data"), dict):
        raise DomainError("schema_violation", msg("a 简道云 push is {op, data, opTime}"), "$.data")
    if not isinstance(push.get("op"), str):
        raise DomainError("schema_violation", msg("a 简道云 push is {op, data, opTime}"), "$.op")
    if push.get("op") != "data_update":
        return jsonify({"ignored": push.get("op")})
    decision = _jdy_decision(push["data"])
    if decision is None:
        return jsonify({"ignored": "no trimtab_decision in the record"})
    return jsonify(_decide(decision))


def _jdy_decision(data: dict) -> PlatformDecision | None:
    said = _text(data.get("trimtab_decision"))
    if said is None:
        return None
    if said not in VERDICTS:
        raise DomainError("schema_violation", msg("trimtab_decision `{said}` is not one of {verdicts}",
                                                  said=said, verdicts=', '.join(VERDICTS)), "$.data.trimtab_decision")
    updater = data.get("updater") if isinstance(data.get("updater"), dict) else {}
    return PlatformDecision(
        "jiandaoyun", _required(data.get("_id"), "record (_id)", "$.data._id"), "jiandaoyun_username",
        _required(updater.get("username"), "updater.username", "$.data.updater.username"),
        VERDICTS[said], _text(data.get("trimtab_comment")))
