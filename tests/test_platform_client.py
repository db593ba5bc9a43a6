"""One client per platform (server/connectors/dingtalk.py, feishu.py) serves the org sync and
the approval/notice senders, so what one side did the other now does too: the sync renews a
token shortly before it expires and names no secret when the platform cannot be reached; the
senders renew a token on every code that says it is no longer good and wait out a rate-limit
answer.  Against the stand-ins of tests/directory_standin.py and tests/approval_standin.py."""
from __future__ import annotations

import pytest

from approval_standin import DINGTALK_APP, FEISHU_APP, DingTalkApprovals, FeishuApprovals
from directory_standin import APP, DingTalkDirectory
from trimtab.server.cli.sync import _directory
from trimtab.server.connectors import api_client, dingtalk_org
from trimtab.server.connectors.api_client import ConnectorError
from trimtab.server.jobs.platform_api import DingTalkApp, FeishuApp

CARD = {"elements": [{"tag": "markdown", "content": "目标调整待审批"}]}


class Refusing(FeishuApprovals):
    """Feishu's messaging, answering `codes` (one each) before it delivers."""

    def __init__(self, *codes: int):
        super().__init__()
        self.codes = list(codes)

    def answer(self, method, path, query, headers, body):
        if path == "/open-apis/im/v1/messages" and self.codes:
            code = self.codes.pop(0)
            if code != 99991400:                        # the token is no longer good
                self.tokens.clear()
            return 400, {"code": code, "msg": "refused"}
        return super().answer(method, path, query, headers, body)


def feishu_app(standin) -> FeishuApp:
    return FeishuApp({"app_key": FEISHU_APP[0], "app_secret": FEISHU_APP[1], "api_url": standin.url}, 2)


def test_the_feishu_sender_renews_the_token_on_the_expired_code_the_sync_knew():
    with Refusing(99991677) as standin:
        feishu_app(standin).send_message("ou_" + "1" * 32, CARD, "6f1c1b1e-0000-4000-8000-000000000001")
        assert len(standin.messages) == 1
        assert [p for p in standin.paths() if p.endswith("tenant_access_token/internal")] == \
            ["POST /open-apis/auth/v3/tenant_access_token/internal"] * 2


def test_the_dingtalk_sender_renews_the_token_on_errcode_88_with_an_expired_sub_code():
    class Expiring(DingTalkApprovals):
        refused = False

        def answer(self, method, path, query, headers, body):
            if path.startswith("/topapi/") and not self.refused:
                self.refused = True
                self.tokens.clear()
                return 200, {"errcode": 88, "sub_code": "42001", "errmsg": "鉴权异常"}
            return super().answer(method, path, query, headers, body)

    with Expiring() as standin:
        app = DingTalkApp({"app_key": DINGTALK_APP[0], "app_secret": DINGTALK_APP[1], "agent_id": "1001",
                           "api_url": standin.url, "oapi_url": standin.url}, 2)
        app.send_notice("manager0471", "目标调整", "待审批", "https://trimtab.example.com/x")
        assert len(standin.messages) == 1
        assert standin.paths().count("POST /v1.0/oauth2/accessToken") == 2


def test_a_sender_waits_out_one_rate_limit_answer_as_the_sync_does(monkeypatch):
    monkeypatch.setattr(api_client, "BACKOFF_S", 0.01)
    with Refusing(99991400) as standin:
        feishu_app(standin).send_message("ou_" + "1" * 32, CARD, "6f1c1b1e-0000-4000-8000-000000000002")
        assert len(standin.messages) == 1


def test_the_sync_renews_a_token_shortly_before_it_expires():
    """The stand-in's token lasts 7200 s: past 7200 - 300 the client fetches a new one unasked."""
    now = [1000.0]
    with DingTalkDirectory(expire_at=0) as ding:        # expire_at=0: never refuses the token
        http = api_client.ApiClient(dingtalk_org.DingTalk(*APP, ding.url))
        http.clock = lambda: now[0]
        listsub = f"{ding.url}/topapi/v2/department/listsub"
        http.call("POST", listsub, json={"dept_id": 1})
        now[0] += 6000
        http.call("POST", listsub, json={"dept_id": 1})
        assert [s["path"] for s in ding.seen].count("/gettoken") == 1
        now[0] += 1000
        http.call("POST", listsub, json={"dept_id": 1})
        assert [s["path"] for s in ding.seen].count("/gettoken") == 2 and http.refreshes == 0


def test_the_sync_names_no_secret_when_the_platform_cannot_be_reached():
    config = {"OAUTH": {"dingtalk": {"client_id": APP[0], "client_secret": APP[1]}}}
    with pytest.raises((ConnectorError, OSError)) as err:
        _directory("dingtalk", config, env={"TRIMTAB_DINGTALK_API_URL": "http://127.0.0.1:9"})
    assert APP[1] not in str(err.value) and "/gettoken" in str(err.value)
