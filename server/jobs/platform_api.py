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
and answers 60012 when it has seen it, and then the instance is found by it."""
from __future__ import annotations

import json
import threading
import time

import requests

from trimtab.server.jobs.channels import ChannelError

KEY_FIELD = "trimtab编号"          # the DingTalk form's field holding trimtab's key
TOKEN_MARGIN_S = 300                # a token is renewed this long before it expires
FEISHU_UUID_TAKEN = 60012


class _Token:
    """An app's access token, shared by its channels' senders, renewed when it runs out or
    the platform says it has."""

    def __init__(self, fetch):
        self.fetch, self.value, self.until = fetch, None, 0.0
        self.lock = threading.Lock()

    def get(self, fresh: bool = False) -> str:
        with self.lock:
            if fresh or self.value is None or time.monotonic() > self.until:
                self.value, expires_s = self.fetch()
                self.until = time.monotonic() + max(float(expires_s) - TOKEN_MARGIN_S, 60.0)
            return self.value


def _json(r: requests.Response, what: str) -> dict:
    try:
        doc = r.json()
    except ValueError:
        raise ChannelError(f"{what}: HTTP {r.status_code}, not JSON") from None
    if not isinstance(doc, dict):
        raise ChannelError(f"{what}: HTTP {r.status_code}, not a JSON object")
    return doc


class DingTalkApp:
    def __init__(self, cfg: dict, timeout_s: float):
        self.cfg, self.timeout_s = cfg, timeout_s
        self.token = _Token(self._fetch_token)

    def _fetch_token(self):
        r = self._http("POST", f"{self.cfg['api_url']}/v1.0/oauth2/accessToken",
                       json={"appKey": self.cfg["app_key"], "appSecret": self.cfg["app_secret"]})
        doc = _json(r, "钉钉 accessToken")
        if r.status_code != 200 or not doc.get("accessToken"):
            raise ChannelError(f"钉钉 accessToken: HTTP {r.status_code} {doc.get('code') or ''}")
        return doc["accessToken"], doc.get("expireIn", 7200)

    def _http(self, method: str, url: str, **kw) -> requests.Response:
        try:
            return requests.request(method, url, timeout=self.timeout_s, **kw)
        except requests.RequestException as err:
            raise ChannelError(f"钉钉: {err.__class__.__name__}") from None

    def _api(self, method: str, path: str, what: str, **kw) -> dict:
        """A new-style API call; a token the platform no longer takes is renewed once."""
        for fresh in (False, True):
            headers = {"x-acs-dingtalk-access-token": self.token.get(fresh)}
            r = self._http(method, f"{self.cfg['api_url']}{path}", headers=headers, **kw)
            doc = _json(r, what)
            if r.status_code == 401 or doc.get("code") == "InvalidAuthentication":
                continue
            if r.status_code != 200:
                raise ChannelError(f"{what}: HTTP {r.status_code} {doc.get('code') or ''} "
                                   f"{str(doc.get('message') or '')[:200]}")
            return doc
        raise ChannelError(f"{what}: the access token is refused")

    def create_instance(self, body: dict) -> str:
        doc = self._api("POST", "/v1.0/workflow/processInstances", "钉钉 processInstances", json=body)
        if not doc.get("instanceId"):
            raise ChannelError(f"钉钉 processInstances: no instanceId in {str(doc)[:200]}")
        return str(doc["instanceId"])

    def find_instance(self, process_code: str, originator: str, since_ms: int, key: str) -> str | None:
        """The instance of `process_code` started by `originator` since `since_ms` whose
        KEY_FIELD holds `key`, if one exists (an earlier attempt whose answer was lost)."""
        token, now_ms = 0, int(time.time() * 1000) + 60_000
        while True:
            doc = self._api("POST", "/v1.0/workflow/processes/instanceIds/query", "钉钉 instanceIds",
                            json={"processCode": process_code, "startTime": since_ms, "endTime": now_ms,
                                  "nextToken": token, "maxResults": 20, "userIds": [originator]})
            result = doc.get("result") or {}
            for instance in result.get("list") or []:
                detail = self._api("GET", "/v1.0/workflow/processInstances", "钉钉 processInstance",
                                   params={"processInstanceId": instance})
                values = (detail.get("result") or {}).get("formComponentValues") or []
                if any(v.get("name") == KEY_FIELD and v.get("value") == key for v in values):
                    return str(instance)
            token = result.get("nextToken")
            if not token:
                return None

    def send_notice(self, userid: str, title: str, markdown: str, url: str) -> None:
        body = {"agent_id": int(self.cfg["agent_id"]), "userid_list": userid,
                "msg": {"msgtype": "action_card", "action_card": {
                    "title": title, "markdown": markdown, "single_title": "查看 / Open",
                    "single_url": url}}}
        for fresh in (False, True):
            r = self._http("POST", f"{self.cfg['oapi_url']}/topapi/message/corpconversation/asyncsend_v2",
                           params={"access_token": self.token.get(fresh)}, json=body)
            doc = _json(r, "钉钉 work notice")
            if doc.get("errcode") in (40014, 42001):        # a token the platform no longer takes
                continue
            if r.status_code != 200 or doc.get("errcode") != 0:
                raise ChannelError(f"钉钉 work notice: HTTP {r.status_code} errcode "
                                   f"{doc.get('errcode')} {str(doc.get('errmsg') or '')[:200]}")
            return
        raise ChannelError("钉钉 work notice: the access token is refused")


class FeishuApp:
    EXPIRED = (99991661, 99991663, 99991668)    # missing, invalid, expired tenant token

    def __init__(self, cfg: dict, timeout_s: float):
        self.cfg, self.timeout_s = cfg, timeout_s
        self.token = _Token(self._fetch_token)

    def _http(self, method: str, url: str, **kw) -> requests.Response:
        try:
            return requests.request(method, url, timeout=self.timeout_s, **kw)
        except requests.RequestException as err:
            raise ChannelError(f"飞书: {err.__class__.__name__}") from None

    def _fetch_token(self):
        r = self._http("POST", f"{self.cfg['api_url']}/open-apis/auth/v3/tenant_access_token/internal",
                       json={"app_id": self.cfg["app_key"], "app_secret": self.cfg["app_secret"]})
        doc = _json(r, "飞书 tenant_access_token")
        if doc.get("code") != 0 or not doc.get("tenant_access_token"):
            raise ChannelError(f"飞书 tenant_access_token: code {doc.get('code')}")
        return doc["tenant_access_token"], doc.get("expire", 7200)

    def _api(self, method: str, path: str, what: str, accept=(), **kw) -> dict:
        """A call whose answer is {code: 0, data}; codes in `accept` are returned too."""
        for fresh in (False, True):
            headers = {"Authorization": f"Bearer {self.token.get(fresh)}"}
            r = self._http(method, f"{self.cfg['api_url']}{path}", headers=headers, **kw)
            doc = _json(r, what)
            if doc.get("code") in self.EXPIRED:
                continue
            if doc.get("code") == 0 or doc.get("code") in accept:
                return doc
            raise ChannelError(f"{what}: HTTP {r.status_code} code {doc.get('code')} "
                               f"{str(doc.get('msg') or '')[:200]}")
        raise ChannelError(f"{what}: the tenant access token is refused")

    def create_instance(self, body: dict, since_ms: int) -> str:
        doc = self._api("POST", "/open-apis/approval/v4/instances", "飞书 approval instance",
                        accept=(FEISHU_UUID_TAKEN,), json=body)
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
        page, until_ms = None, int(time.time() * 1000) + 60_000
        while True:
            params = {"approval_code": approval_code, "start_time": since_ms, "end_time": until_ms,
                      "page_size": 100, **({"page_token": page} if page else {})}
            data = self._api("GET", "/open-apis/approval/v4/instances", "飞书 instance list",
                             params=params).get("data") or {}
            for code in data.get("instance_code_list") or []:
                detail = self._api("GET", f"/open-apis/approval/v4/instances/{code}",
                                   "飞书 instance").get("data") or {}
                if str(detail.get("uuid") or "").lower() == uuid.lower():
                    return str(code)
            page = data.get("page_token")
            if not data.get("has_more") or not page:
                return None

    def send_message(self, open_id: str, card: dict, uuid: str) -> None:
        self._api("POST", "/open-apis/im/v1/messages", "飞书 message",
                  params={"receive_id_type": "open_id"},
                  json={"receive_id": open_id, "msg_type": "interactive", "uuid": uuid,
                        "content": json.dumps(card, ensure_ascii=False)})
