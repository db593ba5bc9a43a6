"""The two platforms' own APIs for approvals: an app's token, an approval instance opened
(and found again by the key it carries), a work notice or bot message to one person.

DingTalk (钉钉), an internal app's AppKey/AppSecret:
  POST {api}/v1.0/oauth2/accessToken {appKey, appSecret} → {accessToken, expireIn}
  POST {api}/v1.0/workflow/processInstances (x-acs-dingtalk-access-token) {processCode,
       originatorUserId, approvers: [{actionType, userIds}], formComponentValues: [{name, value}]}
       → {instanceId}
  POST {api}/v1.0/workflow/processes/instanceIds/query {processCode, startTime, endTime,
       nextToken, maxResults ≤ 20, userIds} → {result: {list, nextToken}}
  GET  {api}/v1.0/workflow/processInstances?processInstanceId= → {result: {formComponentValues}}
  POST {oapi}/topapi/message/corpconversation/asyncsend_v2?access_token= {agent_id,
       userid_list, msg: {msgtype: action_card, action_card: {title, markdown, single_title,
       single_url}}} → {errcode: 0, task_id}
Feishu (飞书), a custom app's App ID/App Secret:
  POST {api}/open-apis/auth/v3/tenant_access_token/internal {app_id, app_secret}
       → {code: 0, tenant_access_token, expire}
  POST {api}/open-apis/approval/v4/instances {approval_code, open_id, form (a JSON string of
       [{id, type, value}]), node_approver_open_id_list: [{key, value}], uuid}
       → {code: 0, data: {instance_code}}; the same uuid again → code 60012
  GET  {api}/open-apis/approval/v4/instances?approval_code&start_time&end_time&page_size&page_token
       → {code: 0, data: {instance_code_list, page_token, has_more}}
  GET  {api}/open-apis/approval/v4/instances/{instance_code} → {code: 0, data: {uuid, …}}
  POST {api}/open-apis/im/v1/messages?receive_id_type=open_id {receive_id, msg_type:
       interactive, content (a card as a JSON string), uuid} → {code: 0, data: {message_id}}

DingTalk's instance API takes no idempotency key, so each instance carries trimtab's key in a
form field (`KEY_FIELD`) and a create is preceded by a search for it; Feishu's takes `uuid`
and answers 60012 when it has seen it, and then the instance is found by it.

The token, its renewal, the platforms' codes for a refused token or a call too fast, and the
paging are the org sync's own client's (server/connectors/dingtalk.py, feishu.py); what a
platform refuses here is a ChannelError, for the outbox to retry or dead-letter."""
from __future__ import annotations

import json
import time
from contextlib import contextmanager

from trimtab.server.connectors import dingtalk, feishu
from trimtab.server.connectors.api_client import ApiClient, ConnectorError
from trimtab.server.jobs.channels import ChannelError

KEY_FIELD = "trimtab编号"          # the DingTalk form's field holding trimtab's key
FEISHU_UUID_TAKEN = 60012
RATE_LIMIT_WAITS = 1                # a send waits out one rate-limit answer; then the outbox retries


@contextmanager
def _refused():
    """A platform's refusal (or no answer) as the outbox's error."""
    try:
        yield
    except ConnectorError as err:
        raise ChannelError(str(err)) from None


class DingTalkApp:
    def __init__(self, cfg: dict, timeout_s: float):
        self.cfg = cfg
        self.protocol = dingtalk.DingTalk(cfg["app_key"], cfg["app_secret"],
                                          cfg.get("oapi_url") or dingtalk.OAPI_URL, cfg["api_url"])
        self.http = ApiClient(self.protocol, timeout_s=timeout_s, retries=RATE_LIMIT_WAITS)

    def create_instance(self, body: dict) -> str:
        with _refused():
            doc = self.http.call("POST", f"{self.protocol.api_url}/v1.0/workflow/processInstances", json=body)
        if not doc.get("instanceId"):
            raise ChannelError(f"钉钉 processInstances: no instanceId in {str(doc)[:200]}")
        return str(doc["instanceId"])

    def find_instance(self, process_code: str, originator: str, since_ms: int, key: str) -> str | None:
        """The instance of `process_code` started by `originator` since `since_ms` whose
        KEY_FIELD holds `key`, if one exists (an earlier attempt whose answer was lost)."""
        api, now_ms = self.protocol.api_url, int(time.time() * 1000) + 60_000
        query = {"processCode": process_code, "startTime": since_ms, "endTime": now_ms,
                 "maxResults": 20, "userIds": [originator]}
        with _refused():
            for instance in dingtalk.token_pages(self.http, f"{api}/v1.0/workflow/processes/instanceIds/query",
                                                 query):
                detail = self.http.call("GET", f"{api}/v1.0/workflow/processInstances",
                                        params={"processInstanceId": instance})
                values = (detail.get("result") or {}).get("formComponentValues") or []
                if any(v.get("name") == KEY_FIELD and v.get("value") == key for v in values):
                    return str(instance)
        return None

    def send_notice(self, userid: str, title: str, markdown: str, url: str) -> None:
        body = {"agent_id": int(self.cfg["agent_id"]), "userid_list": userid,
                "msg": {"msgtype": "action_card", "action_card": {
                    "title": title, "markdown": markdown, "single_title": "查看 / Open",
                    "single_url": url}}}
        with _refused():
            self.http.call("POST", f"{self.protocol.oapi_url}/topapi/message/corpconversation/asyncsend_v2",
                           json=body)


class FeishuApp:
    def __init__(self, cfg: dict, timeout_s: float):
        self.protocol = feishu.Feishu(cfg["app_key"], cfg["app_secret"], cfg["api_url"])
        self.http = ApiClient(self.protocol, timeout_s=timeout_s, retries=RATE_LIMIT_WAITS)

    def create_instance(self, body: dict, since_ms: int) -> str:
        with _refused():
            doc = self.http.call("POST", f"{self.protocol.api_url}/open-apis/approval/v4/instances",
                                 json=body, accept=(FEISHU_UUID_TAKEN,))
        if doc.get("code") == FEISHU_UUID_TAKEN:        # an earlier attempt created it
            found = self.find_instance(body["approval_code"], since_ms, body["uuid"])
            if found is None:
                raise ChannelError(f"飞书 approval instance: uuid {body['uuid']} is taken and "
                                   "no instance of this approval carries it")
            return found
        code = (doc.get("data") or {}).get("instance_code")
        if not code:
            raise ChannelError(f"飞书 approval instance: no instance_code in {str(doc)[:200]}")
        return str(code)

    def find_instance(self, approval_code: str, since_ms: int, uuid: str) -> str | None:
        url = f"{self.protocol.api_url}/open-apis/approval/v4/instances"
        query = {"approval_code": approval_code, "start_time": since_ms,
                 "end_time": int(time.time() * 1000) + 60_000}
        with _refused():
            for code in feishu.pages(self.http, url, query, 100, items="instance_code_list"):
                detail = self.http.call("GET", f"{url}/{code}").get("data") or {}
                if str(detail.get("uuid") or "").lower() == uuid.lower():
                    return str(code)
        return None

    def send_message(self, open_id: str, card: dict, uuid: str) -> None:
        with _refused():
            self.http.call("POST", f"{self.protocol.api_url}/open-apis/im/v1/messages",
                           params={"receive_id_type": "open_id"},
                           json={"receive_id": open_id, "msg_type": "interactive", "uuid": uuid,
                                 "content": json.dumps(card, ensure_ascii=False)})
