"""The platforms' approval callbacks as the platforms send them: 钉钉's encrypted events,
飞书's and 简道云's signed ones, with the secrets the tests configure (PLATFORMS)."""
from __future__ import annotations

import hashlib
import itertools
import json
import time
import uuid

from simulator import dingtalk_decrypt, dingtalk_encrypt, dingtalk_signature, lark_encrypt

DT_TOKEN, DT_APP = "dt-callback-token", "dingoa1b2c3d4e5"
DT_AES = "Q7cTj9mN2pL4xV8rW1sZ5yK3hF6dG0bA2eC4uI8oP1q"       # 43 characters, as DingTalk issues
LARK_KEY, JDY_SECRET = "lark-encrypt-key", "jdy-secret"
PLATFORMS = {"dingtalk_events_token": DT_TOKEN, "dingtalk_events_aes_key": DT_AES,
             "dingtalk_events_app_key": DT_APP, "feishu": LARK_KEY, "jiandaoyun": JDY_SECRET}
COUNTER = itertools.count(1)      # task ids, and the reps each scenario opens a change for


class Platform:
    """Sends one platform's approval event the way the platform does, and remembers the last
    request so it can be redelivered byte for byte."""

    def __init__(self, name: str, client):
        self.name, self.client, self.last = name, client, None

    def decide(self, instance: str, user: str, verdict: str, secret: str | None = None):
        body, url, headers = getattr(self, "_" + self.name)(instance, user, verdict, secret)
        self.last = (url, body, headers)
        return self.client.post(url, data=body, headers=headers)

    def redeliver(self):
        url, body, headers = self.last
        return self.client.post(url, data=body, headers=headers)

    def succeeded(self, r) -> bool:
        if r.status_code != 200:
            return False
        if self.name != "dingtalk":
            return True
        answer = r.json          # the encrypted "success", signed, for this app
        message, owner = dingtalk_decrypt(answer["encrypt"], DT_AES)
        return message == b"success" and owner == DT_APP.encode() and answer["msg_signature"] == \
            dingtalk_signature(DT_TOKEN, answer["timeStamp"], answer["nonce"], answer["encrypt"])

    def _dingtalk(self, instance, user, verdict, secret):
        event = {"EventType": "bpms_task_change", "processInstanceId": instance, "corpId": "ding-corp",
                 "staffId": user, "type": "finish", "result": "agree" if verdict == "approve" else "refuse",
                 "remark": f"{verdict} on 钉钉", "title": "目标调整", "taskId": next(COUNTER),
                 "createTime": int(time.time() * 1000), "finishTime": int(time.time() * 1000)}
        return self._dingtalk_push(event, secret or DT_TOKEN)

    def _dingtalk_push(self, event: dict, token: str):
        encrypted = dingtalk_encrypt(json.dumps(event, ensure_ascii=False).encode(), DT_AES, DT_APP)
        stamp, nonce = str(int(time.time() * 1000)), uuid.uuid4().hex[:16]
        url = (f"/platforms/dingtalk/approvals/events?msg_signature="
               f"{dingtalk_signature(token, stamp, nonce, encrypted)}&timestamp={stamp}&nonce={nonce}")
        return json.dumps({"encrypt": encrypted}).encode(), url, {"Content-Type": "application/json"}

    def _feishu(self, instance, user, verdict, secret):
        event = {"ts": f"{time.time():.6f}", "uuid": uuid.uuid4().hex, "token": "verification-token",
                 "type": "event_callback",
                 "event": {"app_id": "cli_a1b2", "tenant_key": "t-1", "type": "approval_task",
                           "approval_code": "7C468A54-8745-2245-9675-08B7C63E7A85",
                           "instance_code": instance, "task_id": str(next(COUNTER)), "user_id": "b613t51g",
                           "open_id": user, "status": "APPROVED" if verdict == "approve" else "REJECTED",
                           "operate_time": str(int(time.time() * 1000))}}
        return self._lark_push(event, secret or LARK_KEY)

    def _lark_push(self, event: dict, key: str):
        body = json.dumps({"encrypt": lark_encrypt(json.dumps(event).encode(), LARK_KEY)}).encode()
        stamp, nonce = str(int(time.time())), uuid.uuid4().hex[:8]
        signature = hashlib.sha256((stamp + nonce + key).encode() + body).hexdigest()
        return body, "/platforms/feishu/approvals/events", {
            "Content-Type": "application/json", "X-Lark-Signature": signature,
            "X-Lark-Request-Timestamp": stamp, "X-Lark-Request-Nonce": nonce}

    def _jiandaoyun(self, instance, user, verdict, secret):
        push = {"op": "data_update", "opTime": int(time.time() * 1000),
                "data": {"_id": instance, "appId": "app-hr", "entryId": "entry-target-change",
                         "updater": {"username": user, "name": user}, "flowState": 0,
                         "trimtab_decision": "同意" if verdict == "approve" else "拒绝",
                         "trimtab_comment": f"{verdict} on 简道云"}}
        body = json.dumps(push, ensure_ascii=False).encode()
        stamp, nonce = str(int(time.time())), uuid.uuid4().hex[:12]
        signature = hashlib.sha1(f"{nonce}:".encode() + body +
                                 f":{secret or JDY_SECRET}:{stamp}".encode()).hexdigest()
        return body, f"/platforms/jiandaoyun/approvals/events?timestamp={stamp}&nonce={nonce}", {
            "Content-Type": "application/json", "X-JDY-Signature": signature,
            "X-JDY-DeliverId": uuid.uuid4().hex}
