"""Approvals where managers click (issue 17, deliverable 2): the fintech target change
(rules/demo/target_change.json: 80 → 70, requested by the team lead) opens the platform's
approval instance once — also when the first create fails or its answer is lost — the
manager's and the HRBP's signed callbacks approve it in turn and the stored target changes.
Where no platform approval is configured, each approver gets one work notice when their step
waits and the requester one when it closes; `pending_for=me` lists exactly the caller's steps.

The platforms are stand-ins on 127.0.0.1 (tests/approval_standin.py) that keep every request."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from approval_standin import DINGTALK_APP, FEISHU_APP, DingTalkApprovals, FeishuApprovals
from serverkit import bearer, set_target
from callbackkit import PLATFORMS as CALLBACK_SECRETS, Platform

DEMO = json.loads((Path(__file__).resolve().parents[1] / "rules" / "demo" / "target_change.json")
                  .read_text(encoding="utf-8"))["facts"]
IDS = {"dingtalk_userid": {"east.mgr": "manager0471", "hr.east": "hrbp0932", "east.manager": "lead0815",
                           "east.li": "rep0001", "sales.dir": "dir0001"},
       "feishu_open_id": {"east.mgr": "ou_" + "1" * 32, "hr.east": "ou_" + "2" * 32,
                          "east.manager": "ou_" + "3" * 32, "east.li": "ou_" + "4" * 32,
                          "sales.dir": "ou_" + "5" * 32}}
PUBLIC = "https://trimtab.example.com"
LATER = dt.timedelta(hours=2)       # past any retry's backoff


def dingtalk_config(standin, **extra) -> dict:
    return {"dingtalk": {"app_key": DINGTALK_APP[0], "app_secret": DINGTALK_APP[1], "timeout_s": 1,
                         "api_url": standin.url, "oapi_url": standin.url, **extra}}


def feishu_config(standin, **extra) -> dict:
    return {"feishu": {"app_key": FEISHU_APP[0], "app_secret": FEISHU_APP[1], "timeout_s": 1,
                       "api_url": standin.url, "nodes": ["manager_node", "hrbp_node", "director_node"],
                       **extra}}


def serve(fresh_app, **config):
    """The server, configured for a stand-in the test brings → (app, signed webhooks)."""
    return fresh_app("server", **config)


def load_people(hooks):
    """The fintech requester (the team lead east.manager) and everyone's platform ids."""
    people = [{"id": "east.manager", "name": "周组长", "role": "team_lead", "region": "east",
               "manager": "east.mgr"}]
    r = hooks.client.post("/v1/org/people", json={"people": people})
    assert r.status_code == 200, r.json
    from trimtab.server.storage.models import PersonIdentity
    with hooks.client.application.extensions["trimtab.sessions"]() as session, session.begin():
        for kind, ids in IDS.items():
            for person, value in ids.items():
                session.add(PersonIdentity(person_id=person, kind=kind, value=value))


def open_demo(app, hooks, rep: str = "east.li") -> dict:
    set_target(app, rep, DEMO["metric"], DEMO["current_target"])
    r = hooks.post("target_change", {**DEMO, "rep": rep})
    assert r.status_code == 200 and r.json["approval"], r.json
    return r.json["approval"]


def dispatch(app, later: bool = False) -> dict:
    from trimtab.server.jobs.outbox import dispatch_due
    from trimtab.server.storage.models import utcnow
    return dispatch_due(app.extensions["trimtab.sessions"], app.extensions["trimtab.channels"],
                        now=utcnow() + (LATER if later else dt.timedelta(0)))


def links(app, approval_id: int) -> list[tuple[str, str]]:
    from trimtab.server.storage.models import ApprovalLink
    with app.extensions["trimtab.sessions"]() as session:
        return [(link.platform, link.external_id) for link in session.scalars(
            select(ApprovalLink).where(ApprovalLink.approval_id == approval_id))]


def stored_target(app, rep: str = "east.li") -> str:
    from trimtab.dsl.decision import plain
    from trimtab.server.storage.models import Target
    with app.extensions["trimtab.sessions"]() as session:
        return str(plain(session.scalars(select(Target).where(
            Target.subject == rep, Target.metric == DEMO["metric"])).one().value))


def outbox(app) -> list[tuple[str, str | None, str]]:
    from trimtab.server.storage.models import OutboxMessage
    with app.extensions["trimtab.sessions"]() as session:
        return [(m.channel, m.recipient, m.status) for m in session.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id))]


@pytest.mark.parametrize("fault", [None, "500", "slow"])
def test_the_fintech_change_opens_one_dingtalk_instance_and_its_callbacks_change_the_target(
        fault, fresh_app):
    with DingTalkApprovals() as standin:
        app, hooks = serve(fresh_app, PLATFORMS=CALLBACK_SECRETS, PUBLIC_URL=PUBLIC,
                           APPROVAL_PLATFORMS=dingtalk_config(standin, process_code="PROC-TRIMTAB-0001"))
        load_people(hooks)
        standin.faults = [fault] if fault else []
        approval = open_demo(app, hooks)
        assert outbox(app) == [("dingtalk-approval", None, "pending")]
        first = dispatch(app)
        assert first == {"sent": 0 if fault else 1, "retry": 1 if fault else 0, "dead": 0, "digested": 0}
        if fault:
            assert dispatch(app)["sent"] == 0                   # not due again yet
            assert dispatch(app, later=True)["sent"] == 1       # the retry
        assert dispatch(app, later=True) == {"sent": 0, "retry": 0, "dead": 0, "digested": 0}

        # Exactly one instance, whatever failed; each create carried the same key.
        assert len(standin.instances) == 1, standin.instances
        creates = [s["body"] for s in standin.seen if s["method"] == "POST"
                   and s["path"] == "/v1.0/workflow/processInstances"]
        assert len(creates) == (2 if fault == "500" else 1)
        keys = {next(v["value"] for v in c["formComponentValues"] if v["name"] == "trimtab编号") for c in creates}
        assert len(keys) == 1
        body = standin.instances[0]["body"]
        assert body["processCode"] == "PROC-TRIMTAB-0001" and body["originatorUserId"] == "lead0815"
        assert body["approvers"] == [{"actionType": "NONE", "userIds": ["manager0471"]},
                                     {"actionType": "NONE", "userIds": ["hrbp0932"]}]
        form = {v["name"]: v["value"] for v in body["formComponentValues"]}
        assert form["调整对象"] == "east.li" and form["指标"] == "new_customers"
        assert (form["当前目标"], form["调整后目标"], form["变动幅度"]) == ("80", "70", "-12.5%")
        assert form["调整原因"] == DEMO["reason"] and form["依据"] == DEMO["evidence"][0]
        assert "目标变更" in form["规则说明"] and form["trimtab链接"] == f"{PUBLIC}/v1/approvals/{approval['id']}"
        instance = standin.instances[0]["id"]
        assert links(app, approval["id"]) == [("dingtalk", instance)]
        # Every request the stand-in got: the token, a search for the key before each create.
        expected = ["POST /v1.0/oauth2/accessToken"] + (
            ["POST /v1.0/workflow/processes/instanceIds/query", "POST /v1.0/workflow/processInstances"] * 2
            if fault == "500" else
            ["POST /v1.0/workflow/processes/instanceIds/query", "POST /v1.0/workflow/processInstances",
             "POST /v1.0/workflow/processes/instanceIds/query", "GET /v1.0/workflow/processInstances"]
            if fault == "slow" else
            ["POST /v1.0/workflow/processes/instanceIds/query", "POST /v1.0/workflow/processInstances"])
        assert standin.paths() == expected

        # The manager's, then the HRBP's signed callbacks; a retried callback changes nothing.
        ding = Platform("dingtalk", hooks.client)
        assert ding.succeeded(ding.decide(instance, "manager0471", "approve"))
        assert stored_target(app) == "80"
        assert ding.succeeded(ding.redeliver())
        assert ding.succeeded(ding.decide(instance, "hrbp0932", "approve"))
        assert stored_target(app) == "70"
        state = hooks.client.get(f"/v1/approvals/{approval['id']}").json
        assert state["status"] == "approved"
        assert [(s["approver"], s["status"]) for s in state["steps"]] == [("east.mgr", "approved"),
                                                                          ("hr.east", "approved")]
        assert ding.succeeded(ding.redeliver())
        assert stored_target(app) == "70"
        # The platform tells its approvers and the originator: trimtab sends no notice of its own.
        assert standin.messages == [] and len(standin.instances) == 1
        assert outbox(app) == [("dingtalk-approval", None, "sent")]


@pytest.mark.parametrize("db_kind", ["sqlite"])
@pytest.mark.parametrize("fault", [None, "slow"])
def test_a_feishu_instance_is_opened_once_under_one_uuid(fault, fresh_app):
    with FeishuApprovals() as standin:
        app, hooks = serve(fresh_app, PLATFORMS=CALLBACK_SECRETS, PUBLIC_URL=PUBLIC,
                           APPROVAL_PLATFORMS=feishu_config(
                               standin, approval_code="7C468A54-8745-2245-9675-08B7C63E7A85"))
        load_people(hooks)
        standin.faults = [fault] if fault else []
        approval = open_demo(app, hooks)
        dispatch(app)
        dispatch(app, later=True)
        assert len(standin.instances) == 1
        creates = [s["body"] for s in standin.seen if s["path"] == "/open-apis/approval/v4/instances"
                   and s["method"] == "POST"]
        assert len(creates) == (2 if fault else 1) and len({c["uuid"] for c in creates}) == 1
        body = creates[0]
        assert body["open_id"] == IDS["feishu_open_id"]["east.manager"]
        assert body["node_approver_open_id_list"] == [
            {"key": "manager_node", "value": [IDS["feishu_open_id"]["east.mgr"]]},
            {"key": "hrbp_node", "value": [IDS["feishu_open_id"]["hr.east"]]}]
        form = {w["id"]: w["value"] for w in json.loads(body["form"])}
        assert form["trimtab_reason"] == DEMO["reason"] and form["trimtab_after"] == "70"
        instance = standin.instances[0]["id"]
        assert links(app, approval["id"]) == [("feishu", instance)]
        lark = Platform("feishu", hooks.client)
        assert lark.succeeded(lark.decide(instance, IDS["feishu_open_id"]["east.mgr"], "approve"))
        assert lark.succeeded(lark.decide(instance, IDS["feishu_open_id"]["hr.east"], "approve"))
        assert stored_target(app) == "70"


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_an_approver_without_a_platform_id_is_named_and_nothing_is_sent(fresh_app):
    with DingTalkApprovals() as standin:
        app, hooks = serve(fresh_app, PLATFORMS=CALLBACK_SECRETS,
                           APPROVAL_PLATFORMS=dingtalk_config(standin, process_code="PROC-1"))
        load_people(hooks)
        from trimtab.server.storage.models import OutboxMessage, PersonIdentity
        with app.extensions["trimtab.sessions"]() as session, session.begin():
            session.query(PersonIdentity).filter_by(person_id="hr.east").delete()
        open_demo(app, hooks)
        dispatch(app)
        assert standin.seen == []
        with app.extensions["trimtab.sessions"]() as session:
            row = session.scalars(select(OutboxMessage)).one()
        assert row.status == "dead" and "`hr.east`" in row.last_error and "钉钉userid" in row.last_error


def test_without_a_platform_approval_each_approver_gets_one_work_notice(fresh_app):
    """钉钉 work notices (an agent id, no process code): the manager's when the change opens,
    the HRBP's once the manager approved, the requester's when it is approved — one each."""
    with DingTalkApprovals() as standin:
        app, hooks = serve(fresh_app, PUBLIC_URL=PUBLIC,
                           APPROVAL_PLATFORMS=dingtalk_config(standin, agent_id="2956001"))
        load_people(hooks)
        approval = open_demo(app, hooks)
        link = f"{PUBLIC}/v1/approvals/{approval['id']}"

        def received() -> list[str]:
            return [m["userid_list"] for m in standin.messages]
        dispatch(app)
        assert received() == ["manager0471"]
        card = standin.messages[0]
        assert card["agent_id"] == 2956001 and card["msg"]["msgtype"] == "action_card"
        assert card["msg"]["action_card"]["single_url"] == link
        assert "80 → 70" in card["msg"]["action_card"]["markdown"]
        assert DEMO["reason"] in card["msg"]["action_card"]["markdown"]
        client = app.test_client()
        r = client.post(f"/v1/approvals/{approval['id']}/decision", headers=bearer(app, "east.mgr"),
                        json={"decision": "approve"})
        assert r.status_code == 200, r.json
        r = client.post(f"/v1/approvals/{approval['id']}/decision", headers=bearer(app, "east.mgr"),
                        json={"decision": "approve"})
        assert r.status_code == 409                             # a retried decision: nothing new
        dispatch(app)
        assert received() == ["manager0471", "hrbp0932"]
        r = client.post(f"/v1/approvals/{approval['id']}/decision", headers=bearer(app, "hr.east"),
                        json={"decision": "approve"})
        assert r.status_code == 200 and r.json["status"] == "approved"
        dispatch(app)
        dispatch(app, later=True)
        assert received() == ["manager0471", "hrbp0932", "lead0815"]
        assert "已通过" in standin.messages[2]["msg"]["action_card"]["title"]
        assert stored_target(app) == "70"
        assert standin.instances == []


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_a_rejection_tells_the_requester_once_through_feishu(fresh_app):
    with FeishuApprovals() as standin:
        app, hooks = serve(fresh_app, PUBLIC_URL=PUBLIC,
                           APPROVAL_PLATFORMS=feishu_config(standin, notices=True))
        load_people(hooks)
        approval = open_demo(app, hooks)
        dispatch(app)
        r = app.test_client().post(f"/v1/approvals/{approval['id']}/decision",
                                   headers=bearer(app, "east.mgr"), json={"decision": "reject"})
        assert r.status_code == 200 and r.json["status"] == "rejected"
        dispatch(app)
        dispatch(app, later=True)
        assert [m["receive_id"] for m in standin.messages] == [IDS["feishu_open_id"]["east.mgr"],
                                                               IDS["feishu_open_id"]["east.manager"]]
        card = json.loads(standin.messages[1]["content"])
        assert "驳回" in card["header"]["title"]["content"]
        assert stored_target(app) == "80"


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_pending_for_me_lists_exactly_the_callers_waiting_steps(app, hooks):
    load_people(hooks)
    rows = [{"id": rep, "name": rep, "role": "rep", "region": "east", "manager": "east.mgr",
             "hrbp": "hr.east"} for rep in ("east.zhang", "east.zhao")]
    assert hooks.client.post("/v1/org/people", json={"people": rows}).status_code == 200
    first, second = open_demo(app, hooks, "east.zhang"), open_demo(app, hooks, "east.zhao")
    client = app.test_client()

    def mine(person: str) -> list[int]:
        r = client.get("/v1/approvals?pending_for=me", headers=bearer(app, person))
        assert r.status_code == 200, r.json
        return [a["id"] for a in r.json["items"]]
    assert mine("east.mgr") == [first["id"], second["id"]]
    assert mine("hr.east") == [] and mine("sales.dir") == [] and mine("east.manager") == []
    r = client.get("/v1/approvals?pending_for=me&limit=1", headers=bearer(app, "east.mgr"))
    assert [a["id"] for a in r.json["items"]] == [first["id"]] and r.json["next"] == first["id"]
    r = client.post(f"/v1/approvals/{first['id']}/decision", headers=bearer(app, "east.mgr"),
                    json={"decision": "approve"})
    assert r.status_code == 200
    assert mine("east.mgr") == [second["id"]] and mine("hr.east") == [first["id"]]
    r = client.get("/v1/approvals?pending_for=someone", headers=bearer(app, "east.mgr"))
    assert r.status_code in (400, 422) and r.json["error"]["path"] == "$.pending_for"


def test_the_settings_say_what_each_platform_does():
    from trimtab.server.config import approval_platforms_from_env
    assert approval_platforms_from_env({"TRIMTAB_DINGTALK_CLIENT_ID": "k", "TRIMTAB_DINGTALK_CLIENT_SECRET": "s"}) == {}
    got = approval_platforms_from_env({
        "TRIMTAB_DINGTALK_CLIENT_ID": "k", "TRIMTAB_DINGTALK_CLIENT_SECRET": "s",
        "TRIMTAB_DINGTALK_PROCESS_CODE": "PROC-1", "TRIMTAB_FEISHU_CLIENT_ID": "cli",
        "TRIMTAB_FEISHU_CLIENT_SECRET": "fs", "TRIMTAB_FEISHU_NOTICES": "1",
        "TRIMTAB_FEISHU_APPROVAL_NODES": "a, b"})
    assert got["dingtalk"]["process_code"] == "PROC-1" and got["dingtalk"]["api_url"] == "https://api.dingtalk.com"
    assert got["feishu"]["notices"] is True and got["feishu"]["nodes"] == ["a", "b"]
    with pytest.raises(ValueError, match="TRIMTAB_FEISHU_CLIENT_ID"):
        approval_platforms_from_env({"TRIMTAB_FEISHU_APPROVAL_CODE": "X"})
