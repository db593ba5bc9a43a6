"""Built-in outbox channels for approvals on the platforms (server/config.py's
APPROVAL_PLATFORMS): delivered by the outbox like any message — claimed, sent, retried with
the same message id, dead-lettered — so opening a platform's approval instance happens once
per approval, and a work notice once per approver and step.

- `dingtalk-approval`: an OA approval instance, then its link (ApprovalLink); a retry is safe
  because the message id rides in the form's `trimtab编号` field and is searched for first;
- `feishu-approval`: an approval instance, then its link; the message id is its `uuid`;
- `dingtalk-notice`: a work notice (工作通知, an action card) to one person (DingTalk keeps one
  identical notice per person and day);
- `feishu-notice`: an interactive card from the app's bot to one person; the message id is
  the message's `uuid`.

The payloads are written when the approval opens or a step is decided
(server/domain/approval_effects.py); they carry the platform's user ids already, so a
sender reads nothing but its payload."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from trimtab.server.jobs.channels import TIMEOUT_S, ChannelError
from trimtab.server.jobs.platform_api import KEY_FIELD, DingTalkApp, FeishuApp
from trimtab.server.storage.models import ApprovalLink

@dataclass
class PlatformChannel:
    """Quacks like channels.Channel for the dispatcher: a person's channel (not a group's),
    no rate window, a few senders at once."""
    name: str
    type: str
    sender: object
    timeout_s: float = TIMEOUT_S
    concurrency: int = 2
    rate: tuple | None = None
    group: bool = False
    options: dict | None = None
    problem: str | None = None
    steps_max: int | None = None        # 飞书: its approval's initiator-chosen nodes

    def send(self, message_id: str, payload: dict) -> None:
        self.sender(message_id, payload)


def platform_channels(platforms: dict, sessions, timeout_s: float = TIMEOUT_S) -> dict:
    """The channels `platforms` (config APPROVAL_PLATFORMS) call for, by name."""
    out = {}
    ding = platforms.get("dingtalk")
    if ding:
        timeout_s = float(ding.get("timeout_s", timeout_s))
        app = DingTalkApp(ding, timeout_s)
        if ding.get("process_code"):
            out["dingtalk-approval"] = PlatformChannel("dingtalk-approval", "dingtalk-approval",
                                                       _dingtalk_instance(app, ding, sessions), timeout_s)
        if ding.get("agent_id"):
            out["dingtalk-notice"] = PlatformChannel("dingtalk-notice", "dingtalk-notice",
                                                     _dingtalk_notice(app), timeout_s)
    lark = platforms.get("feishu")
    if lark:
        timeout_s = float(lark.get("timeout_s", timeout_s))
        app = FeishuApp(lark, timeout_s)
        if lark.get("approval_code"):
            out["feishu-approval"] = PlatformChannel("feishu-approval", "feishu-approval",
                                                     _feishu_instance(app, lark, sessions), timeout_s,
                                                     steps_max=len(lark.get("nodes") or []))
        if lark.get("notices"):
            out["feishu-notice"] = PlatformChannel("feishu-notice", "feishu-notice",
                                                   _feishu_notice(app), timeout_s)
    return out


def _link(sessions, approval_id: int, platform: str, instance: str) -> None:
    """The instance recorded as the approval's, so its callbacks find it (idempotent)."""
    with sessions() as s, s.begin():
        held = s.scalars(select(ApprovalLink).where(ApprovalLink.platform == platform,
                                                    ApprovalLink.external_id == instance)).first()
        if held is None:
            s.add(ApprovalLink(approval_id=approval_id, platform=platform, external_id=instance))
        elif held.approval_id != approval_id:
            raise ChannelError(f"{platform} instance {instance} is linked to approval {held.approval_id}")


def _dingtalk_instance(app: DingTalkApp, cfg: dict, sessions):
    def send(message_id: str, payload: dict) -> None:
        instance = app.find_instance(cfg["process_code"], payload["originator"], payload["since_ms"],
                                     message_id)
        if instance is None:
            body = {"processCode": cfg["process_code"], "originatorUserId": payload["originator"],
                    "approvers": [{"actionType": "AND" if len(ids) > 1 else "NONE", "userIds": ids}
                                  for ids in payload["approvers"]],
                    "formComponentValues": [{"name": f["label"], "value": f["value"]}
                                            for f in payload["fields"]]
                    + [{"name": KEY_FIELD, "value": message_id}]}
            if cfg.get("agent_id"):
                body["microappAgentId"] = int(cfg["agent_id"])
            instance = app.create_instance(body)
        _link(sessions, payload["approval_id"], "dingtalk", instance)
    return send


def feishu_uuid(message_id: str) -> str:
    """The message id in the form Feishu suggests for `uuid` (XXXXXXXX-XXXX-…)."""
    try:
        return str(uuid.UUID(hex=message_id))
    except ValueError:
        return message_id[:64]


def _feishu_instance(app: FeishuApp, cfg: dict, sessions):
    def send(message_id: str, payload: dict) -> None:
        nodes = cfg.get("nodes") or []
        form = [{"id": f["id"], "type": f["type"], "value": f["value"]} for f in payload["fields"]]
        body = {"approval_code": cfg["approval_code"], "open_id": payload["originator"],
                "form": json.dumps(form, ensure_ascii=False), "uuid": feishu_uuid(message_id),
                "node_approver_open_id_list": [{"key": node, "value": ids} for node, ids
                                               in zip(nodes, payload["approvers"])]}
        instance = app.create_instance(body, payload["since_ms"])
        _link(sessions, payload["approval_id"], "feishu", instance)
    return send


def _dingtalk_notice(app: DingTalkApp):
    def send(message_id: str, payload: dict) -> None:
        app.send_notice(payload["to"], payload["title"], payload["text"], payload["link"])
    return send


def _feishu_notice(app: FeishuApp):
    def send(message_id: str, payload: dict) -> None:
        card = {"config": {"wide_screen_mode": True},
                "header": {"template": "blue", "title": {"tag": "plain_text", "content": payload["title"]}},
                "elements": [{"tag": "markdown", "content": payload["text"]},
                             {"tag": "action", "actions": [{
                                 "tag": "button", "type": "primary", "url": payload["link"],
                                 "text": {"tag": "plain_text", "content": "查看 / Open"}}]}]}
        app.send_message(payload["to"], card, feishu_uuid(message_id))
    return send
