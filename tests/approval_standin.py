"""Local stand-ins for the approval and messaging APIs of DingTalk and Feishu, on 127.0.0.1 (a
thread, a random port), answering as server/jobs/platform_api.py's docstring lists them.  Each
keeps every request it gets (`seen`), the instances it holds and the messages it delivered.

`faults` makes the next instance creates misbehave, one entry per create: "500" answers 500
and creates nothing; "slow" creates the instance and answers after `slow_s` (longer than the
client waits), so the client cannot know it was created."""
from __future__ import annotations

import secrets
import time

from directory_standin import JsonStandIn

DINGTALK_APP = ("dingapprove0001", "dingtalk-approve-secret")
FEISHU_APP = ("cli_approve0001", "feishu-approve-secret")


class _Platform(JsonStandIn):
    def __init__(self, slow_s: float = 1.5):
        super().__init__()
        self.tokens: set[str] = set()
        self.instances: list[dict] = []
        self.messages: list[dict] = []
        self.faults: list[str] = []
        self.slow_s = slow_s

    def paths(self) -> list[str]:
        return [f"{s['method']} {s['path']}" for s in self.seen]

    def fault(self) -> str | None:
        return self.faults.pop(0) if self.faults else None


class DingTalkApprovals(_Platform):
    def answer(self, method, path, query, headers, body):
        if path == "/v1.0/oauth2/accessToken":
            if (body.get("appKey"), body.get("appSecret")) != DINGTALK_APP:
                return 400, {"code": "invalidClientIdOrSecret", "message": "无效的appKey或appSecret"}
            token = secrets.token_hex(16)
            self.tokens.add(token)
            return 200, {"accessToken": token, "expireIn": 7200}
        if path == "/topapi/message/corpconversation/asyncsend_v2":
            if query.get("access_token") not in self.tokens:
                return 200, {"errcode": 40014, "errmsg": "不合法的access_token"}
            self.messages.append(body)
            return 200, {"errcode": 0, "errmsg": "ok", "task_id": len(self.messages),
                         "request_id": secrets.token_hex(6)}
        if headers.get("x-acs-dingtalk-access-token") not in self.tokens:
            return 401, {"code": "InvalidAuthentication", "message": "不合法的access_token"}
        if path == "/v1.0/workflow/processInstances" and method == "POST":
            return self._create(body)
        if path == "/v1.0/workflow/processInstances" and method == "GET":
            found = [i for i in self.instances if i["id"] == query.get("processInstanceId")]
            if not found:
                return 400, {"code": "InstanceNotFound", "message": "审批实例不存在"}
            return 200, {"success": True, "result": {
                "title": "目标调整", "status": "RUNNING", "originatorUserId": found[0]["body"]["originatorUserId"],
                "formComponentValues": [{**v, "componentType": "TextField"}
                                        for v in found[0]["body"]["formComponentValues"]]}}
        if path == "/v1.0/workflow/processes/instanceIds/query":
            return self._list(body)
        return 404, {"code": "NotFound", "message": "请求的URI地址不存在"}

    def _create(self, body: dict):
        missing = [k for k in ("processCode", "originatorUserId", "formComponentValues") if not body.get(k)]
        if missing:
            return 400, {"code": "MissingParameter", "message": f"缺少参数 {missing[0]}"}
        fault = self.fault()
        if fault == "500":
            return 500, {"code": "ServiceUnavailable", "message": "服务暂不可用"}
        instance = {"id": f"dt-{secrets.token_hex(8)}", "body": body, "created_ms": int(time.time() * 1000)}
        self.instances.append(instance)
        if fault == "slow":
            time.sleep(self.slow_s)
        return 200, {"instanceId": instance["id"]}

    def _list(self, body: dict):
        size = min(int(body.get("maxResults") or 20), 20)
        start = int(body.get("nextToken") or 0)
        hits = [i["id"] for i in self.instances
                if i["body"]["processCode"] == body.get("processCode")
                and int(body.get("startTime") or 0) <= i["created_ms"] <= int(body.get("endTime") or 2**62)
                and (not body.get("userIds") or i["body"]["originatorUserId"] in body["userIds"])]
        page = hits[start:start + size]
        more = start + size < len(hits)
        return 200, {"success": True, "result": {"list": page, **({"nextToken": start + size} if more else {})}}


class FeishuApprovals(_Platform):
    def answer(self, method, path, query, headers, body):
        if path == "/open-apis/auth/v3/tenant_access_token/internal":
            if (body.get("app_id"), body.get("app_secret")) != FEISHU_APP:
                return 200, {"code": 10014, "msg": "app secret invalid"}
            token = "t-" + secrets.token_hex(16)
            self.tokens.add(token)
            return 200, {"code": 0, "msg": "ok", "tenant_access_token": token, "expire": 7200}
        if (headers.get("Authorization") or "")[7:] not in self.tokens:
            return 400, {"code": 99991663, "msg": "Invalid access token for authorization."}
        if path == "/open-apis/approval/v4/instances" and method == "POST":
            return self._create(body)
        if path == "/open-apis/approval/v4/instances" and method == "GET":
            codes = [i["id"] for i in self.instances if i["body"]["approval_code"] == query.get("approval_code")
                     and int(query.get("start_time") or 0) <= i["created_ms"] <= int(query.get("end_time") or 2**62)]
            return 200, {"code": 0, "msg": "success", "data": {"instance_code_list": codes, "has_more": False}}
        if path.startswith("/open-apis/approval/v4/instances/"):
            found = [i for i in self.instances if i["id"] == path.rsplit("/", 1)[1]]
            if not found:
                return 400, {"code": 1390001, "msg": "param is invalid"}
            return 200, {"code": 0, "msg": "success", "data": {
                "instance_code": found[0]["id"], "uuid": found[0]["body"].get("uuid"), "status": "PENDING",
                "form": found[0]["body"]["form"], "open_id": found[0]["body"]["open_id"]}}
        if path == "/open-apis/im/v1/messages":
            if query.get("receive_id_type") != "open_id":
                return 400, {"code": 99992402, "msg": "field validation failed"}
            same = [m for m in self.messages if body.get("uuid") and m.get("uuid") == body["uuid"]]
            if not same:            # one message per uuid (within the hour Feishu documents)
                self.messages.append(body)
            return 200, {"code": 0, "msg": "success", "data": {"message_id": f"om_{len(self.messages)}"}}
        return 404, {"code": 404, "msg": "not found"}

    def _create(self, body: dict):
        import json
        if not body.get("approval_code") or not body.get("open_id") or not isinstance(body.get("form"), str):
            return 400, {"code": 1390001, "msg": "param is invalid"}
        json.loads(body["form"])                            # a JSON string, as documented
        if body.get("uuid") and any(i["body"].get("uuid") == body["uuid"] for i in self.instances):
            return 400, {"code": 60012, "msg": "uuid conflict"}
        fault = self.fault()
        if fault == "500":
            return 500, {"code": 1395001, "msg": "There have been some errors. Please try again later"}
        instance = {"id": f"FS-{secrets.token_hex(8).upper()}", "body": body,
                    "created_ms": int(time.time() * 1000)}
        self.instances.append(instance)
        if fault == "slow":
            time.sleep(self.slow_s)
        return 200, {"code": 0, "msg": "success", "data": {"instance_code": instance["id"]}}
