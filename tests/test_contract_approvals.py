"""The contracts of approvals, delegations, targets and sign-in (server/web/approvals.py,
server/web/targets.py, server/auth/): bodies refused by their models at the field's path, what
the document promises of the answers, and the sign-in refusals a browser gets as a page."""
from __future__ import annotations

import pytest

from serverkit import ADMIN_HEADERS, bearer


@pytest.fixture(scope="module")
def db_kind():
    return "sqlite"         # contracts: what the models refuse is the same on both databases


@pytest.fixture
def app_config():
    return {"LANG": "en"}


@pytest.fixture
def world(app, org):
    """The server with the org chart, and a client without credentials."""
    return app, app.test_client()


def refused(r, status: int, code: str, path: str) -> None:
    assert r.status_code == status, (r.status_code, r.get_json(silent=True))
    assert r.json["error"]["code"] == code and r.json["error"]["path"] == path, r.json


@pytest.mark.parametrize("starts_on", ["2026-W27-1", "2026-07-6", "20260706", 20260706])
def test_a_delegation_day_is_a_calendar_date_written_yyyy_mm_dd(world, starts_on):
    """`2026-W27-1` (an ISO week date, 10 characters) was taken by date.fromisoformat."""
    app, client = world
    r = client.post("/v1/delegations", headers=bearer(app, "east.mgr"),
                    json={"delegate": "hr.east", "starts_on": starts_on, "ends_on": "2026-07-31",
                          "reason": "leave"})
    refused(r, 422, "schema_violation", "$.starts_on")


@pytest.mark.parametrize("body, path", [
    ({"subject": "east.li", "metric": "m" * 65, "value": 10}, "$.metric"),     # the column holds 64
    ({"subject": "east.li", "metric": "revenue", "value": "10"}, "$.value"),   # a text, not a number
    ({"subject": "east.li", "metric": "revenue", "value": True}, "$.value"),
    ({"subject": "east.li", "metric": "revenue", "value": -1}, "$.value"),
    ({"subject": "x" * 129, "metric": "revenue", "value": 10}, "$.subject"),
])
def test_a_first_target_the_model_refuses_is_422_at_its_field(world, body, path):
    _app, client = world
    refused(client.post("/v1/targets", json=body, headers=ADMIN_HEADERS), 422, "schema_violation", path)


@pytest.mark.parametrize("body, path", [
    ({"decision": "approve", "evidence": ""}, "$.evidence"),      # was read as no evidence
    ({"decision": "approve", "evidence": 0}, "$.evidence"),
    ({"decision": "maybe"}, "$.decision"),
])
def test_a_decision_the_model_refuses_is_422_before_the_approval_is_looked_up(world, body, path):
    app, client = world
    r = client.post("/v1/approvals/7/decision", json=body, headers=bearer(app, "east.mgr"))
    refused(r, 422, "schema_violation", path)


def test_a_history_that_is_not_a_list_of_periods_is_422(world):
    _app, client = world
    r = client.post("/v1/targets/suggest", json={"facts": {}, "history": [1]}, headers=ADMIN_HEADERS)
    refused(r, 422, "schema_violation", "$.history[0]")


def test_a_target_history_of_a_subject_longer_than_a_person_id_is_400(world):
    _app, client = world
    refused(client.get(f"/v1/targets/{'x' * 129}/history", headers=ADMIN_HEADERS), 400, "bad_request",
            "$.subject")
    r = client.get("/v1/targets/east.li/history", headers=ADMIN_HEADERS)
    assert r.status_code == 200 and r.json == {"subject": "east.li", "changes": []}


def test_the_document_describes_these_answers(world):
    app, client = world
    doc = client.get("/openapi.json").json
    schemas = doc["components"]["schemas"]

    def answer(path, method, status):
        content = doc["paths"][path][method]["responses"][status]["content"]
        return {media: c.get("schema") for media, c in content.items()}

    assert answer("/v1/me", "get", "200") == {"application/json": {"$ref": "#/components/schemas/Me"}}
    assert set(schemas["Me"]["required"]) >= {"person", "via", "sees", "csrf_token"}
    assert answer("/v1/approvals/{approval_id}", "get", "200")["application/json"] == \
        {"$ref": "#/components/schemas/ApprovalOut"}
    assert schemas["ApprovalOut"]["properties"]["before"]["anyOf"] == [{"type": "number"}, {"type": "string"}]
    assert schemas["DelegationBody"]["properties"]["starts_on"]["format"] == "date"
    assert schemas["TargetBody"]["properties"]["metric"]["maxLength"] == 64
    assert set(doc["paths"]["/v1/approvals/{approval_id}/links"]["post"]["responses"]) >= {"200", "201", "409"}
    # a sign-in refused to a browser is the sign-in page; to a program, the error body
    for status in ("401", "403"):
        assert answer("/auth/callback/{provider}", "get", status) == {
            "application/json": {"$ref": "#/components/schemas/ErrorBody"}, "text/html": {"type": "string"}}
    assert "text/html" in answer("/auth/login", "get", "200")
    # an empty subject filter is no filter, as it always was: the document admits it
    subject = next(p for p in doc["paths"]["/v1/approvals"]["get"]["parameters"] if p["name"] == "subject")
    assert subject["schema"]["minLength"] == 0
    r = client.get("/v1/approvals?subject=&status=pending", headers=ADMIN_HEADERS)
    assert r.status_code == 200 and r.json == {"items": [], "next": None}
