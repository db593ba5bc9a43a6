"""The contracts of the webhook, the platforms' adapters and approval callbacks, the workflow
callback, the dashboards, meetings and reports (issue 17, deliverable 5): what the document
promises of them, and the refusals their models now locate."""
from __future__ import annotations

import hashlib
import json
import time
import uuid

import pytest

from serverkit import ADMIN_HEADERS, Hooks, as_admin, load_org, week
from trimtab.server.web.openapi_build import build


@pytest.fixture
def doc(app):
    return build(app)


def _schema(doc, ref: dict) -> dict:
    return doc["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def _ok(doc, path: str, method: str = "get", status: str = "200") -> dict:
    return doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


def test_the_webhook_keeps_its_generic_body_and_signature_headers_and_names_its_answer(doc):
    op = doc["paths"]["/hooks/{form}"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"]["type"] == "object"
    headers = {p["name"]: p for p in op["parameters"] if p["in"] == "header"}
    assert set(headers) == {"X-Trimtab-Client", "X-Trimtab-Timestamp", "X-Trimtab-Signature",
                            "X-Trimtab-Delivery"}
    assert all(p["required"] for p in headers.values())
    assert headers["X-Trimtab-Delivery"]["schema"]["maxLength"] == 200
    answer = _schema(doc, _ok(doc, "/hooks/{form}", "post"))
    assert set(answer["required"]) == {"fact_id", "period", "ruleset_version", "decisions", "approval",
                                       "notifications_queued"}
    assert {"400", "401", "409", "413", "422", "503"} <= set(op["responses"])


def test_the_platforms_envelopes_are_their_documented_shapes(doc):
    jdy = doc["paths"]["/platforms/jiandaoyun/hooks/{form}"]["post"]
    push = _schema(doc, jdy["requestBody"]["content"]["application/json"]["schema"])
    assert push["required"] == ["op", "data"] and "opTime" in push["properties"]
    assert {p["name"] for p in jdy["parameters"]} >= {"timestamp", "nonce", "X-JDY-Signature", "X-JDY-DeliverId"}
    lark = doc["paths"]["/platforms/feishu/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    kinds = [s["$ref"].rsplit("/", 1)[1] for s in _schema(doc, lark)["anyOf"]]
    assert kinds == ["Encrypted", "LarkUrlCheck", "LarkRecordEvent", "LarkOtherEvent"]
    action = doc["components"]["schemas"]["BitableAction"]
    assert action["properties"]["action"]["enum"] == ["record_added", "record_edited", "record_deleted"]
    ding = doc["paths"]["/platforms/dingtalk/approvals/events"]["post"]
    assert set(_schema(doc, _ok(doc, "/platforms/dingtalk/approvals/events", "post"))["required"]) == \
        {"msg_signature", "timeStamp", "nonce", "encrypt"}
    assert {p["name"] for p in ding["parameters"]} == {"msg_signature", "timestamp", "nonce"}


def test_an_export_answers_one_of_the_platforms_shapes(app, doc):
    export = _schema(doc, _ok(doc, "/platforms/{platform}/forms/{form}"))
    shapes = [s["$ref"].rsplit("/", 1)[1] for s in export["anyOf"]]
    assert shapes == ["FeishuExport", "JdyExport", "MingdaoExport", "YidaExport", "GenericExport"]
    client = as_admin(app.test_client())
    for platform in ("generic", "feishu", "jiandaoyun", "mingdao", "yida"):     # each checked against it
        r = client.get(f"/platforms/{platform}/forms/target_change")
        assert r.status_code == 200, (platform, r.json)
    assert client.get("/platforms/feishu_bitable/forms/target_change").status_code == 308


def _jdy(client, push: dict, secret: str = "jdy-secret"):
    body = json.dumps(push, ensure_ascii=False).encode()
    stamp, nonce = str(int(time.time())), uuid.uuid4().hex[:12]
    signature = hashlib.sha1(f"{nonce}:".encode() + body + f":{secret}:{stamp}".encode()).hexdigest()
    return client.post(f"/platforms/jiandaoyun/hooks/weekly_metrics?timestamp={stamp}&nonce={nonce}", data=body,
                       headers={"Content-Type": "application/json", "X-JDY-Signature": signature,
                                "X-JDY-DeliverId": uuid.uuid4().hex})


@pytest.fixture
def app_config():
    return {"PLATFORMS": {"jiandaoyun": "jdy-secret"}, "LANG": "en"}


def test_a_jiandaoyun_push_without_an_op_is_refused_where_its_op_is_missing(app):
    client = app.test_client()
    r = _jdy(client, {"data": {"_id": "r1"}, "opTime": 1})
    assert (r.status_code, r.json["error"]["code"], r.json["error"]["path"]) == (422, "schema_violation", "$.op")
    r = _jdy(client, {"op": "form_update", "data": {}})          # another op: acknowledged
    assert r.status_code == 200 and r.json["ignored"] == "form_update"


def test_a_meeting_body_is_read_through_its_model(app, org):
    client = as_admin(app.test_client())
    meeting = {"title": "Q3", "starts_at": "2026-08-14T10:00:00+08:00", "attendees": ["east.mgr"]}
    r = client.post("/v1/meetings", json={**meeting, "attendees": ["east.mgr", 5]}, headers=ADMIN_HEADERS)
    assert (r.status_code, r.json["error"]["path"]) == (422, "$.attendees[1]")
    r = client.post("/v1/meetings", json={**meeting, "region": None}, headers=ADMIN_HEADERS)
    assert (r.status_code, r.json["error"]["path"]) == (422, "$.region")
    r = client.post("/v1/meetings", json=meeting, headers=ADMIN_HEADERS)
    assert r.status_code == 201 and r.json["briefed_at"] is None


def test_the_dashboards_answer_what_the_document_says(app, org):
    hooks = Hooks(load_org(app))
    assert hooks.post("weekly_metrics", week(3, 3, 0.85)).status_code == 200
    client = as_admin(app.test_client())
    radar = client.get("/v1/dashboards/health-radar?rep=east.li")
    assert radar.status_code == 200 and radar.json["axes"][0]["axis"] == "effective_visits"
    for name in ("traffic-lights", "target-adjustments", "completion-range", "funnel", "account-heat"):
        assert client.get(f"/v1/dashboards/{name}").status_code == 200
    doc = build(app)
    axis = doc["components"]["schemas"]["Axis"]
    assert set(axis["required"]) == {"axis", "value", "reference", "ratio"}
