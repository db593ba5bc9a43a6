"""The contracts of server/web/api.py's routes (issue 17, part 5): bodies and queries parsed
through their models (server/web/api_models/api.py), refusals located where the document says,
and answers that the document describes (the suite's response check holds every answer to it)."""
from __future__ import annotations

import pytest

from serverkit import set_target
from trimtab.server.web.openapi_build import document


def operation(app, path: str, method: str) -> dict:
    return document(app)["paths"][path][method]


def schema_of(app, name: str) -> dict:
    return document(app)["components"]["schemas"][name]


# ---------------------------------------------------------------------- the document
@pytest.mark.parametrize("path, method, body, answer", [
    ("/v1/evaluate", "post", "EvaluateBody", "Evaluation"),
    ("/v1/org/people", "post", "PeopleBody", "StoredPeople"),
    ("/v1/org/people", "get", None, "People"),
    ("/v1/targets", "get", None, "Targets"),
    ("/v1/decisions", "get", None, "Decisions"),
    ("/v1/audit", "get", None, "AuditPage"),
    ("/v1/notifications", "get", None, "Notifications"),
    ("/v1/notifications/{message_id}/retry", "post", None, "Requeued"),
    ("/v1/forms", "get", None, "Forms"),
    ("/v1/forms/{form}", "get", None, "FormSchema"),
    ("/v1/workflows", "get", None, "Workflows"),
    ("/v1/workflows/{name}", "get", None, "Workflow"),
    ("/v1/rulesets/current", "get", None, "LiveRuleset"),
    ("/v1/rulesets/reload", "post", "ReloadBody", "Reloaded"),
])
def test_each_operation_names_its_body_and_answer_models(app, path, method, body, answer):
    op = operation(app, path, method)
    ok = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": f"#/components/schemas/{answer}"}
    if body:
        assert op["requestBody"]["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{body}"}


def test_the_statuses_are_the_ones_each_route_can_answer(app):
    statuses = {(p, m): sorted(operation(app, p, m)["responses"]) for p, m in [
        ("/v1/evaluate", "post"), ("/v1/notifications/{message_id}/retry", "post"),
        ("/v1/rulesets/reload", "post"), ("/v1/org/import", "post"), ("/v1/workflows/{name}", "get")]}
    assert statuses == {
        # 429 on every route for people (too many bad tokens from an address); 403 also on a
        # person's change (a session without its CSRF token)
        ("/v1/evaluate", "post"): ["200", "400", "401", "403", "413", "422", "429", "503"],
        ("/v1/notifications/{message_id}/retry", "post"): ["200", "400", "401", "403", "404", "409", "429", "503"],
        ("/v1/rulesets/reload", "post"): ["200", "400", "401", "403", "409", "413", "422", "429", "503"],
        ("/v1/org/import", "post"): ["200", "400", "401", "403", "413", "422", "429", "503"],
        ("/v1/workflows/{name}", "get"): ["200", "400", "401", "404", "429", "503"]}
    reload = operation(app, "/v1/rulesets/reload", "post")["requestBody"]
    assert reload["required"] is False            # an empty body reloads the configured revision
    imported = operation(app, "/v1/org/import", "post")["requestBody"]["content"]
    assert set(imported) == {"text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def test_the_limits_of_the_old_document_carry_over(app):
    evaluate = schema_of(app, "EvaluateBody")
    assert evaluate["required"] == ["form", "facts"]
    assert evaluate["properties"]["history"]["maxItems"] == 520
    assert evaluate["properties"]["as_of"]["format"] == "date"
    person = schema_of(app, "PersonIn")
    assert person["required"] == ["id", "role"] and person["properties"]["id"]["maxLength"] == 128
    params = {p["name"]: p["schema"] for p in operation(app, "/v1/decisions", "get")["parameters"]}
    assert params["subject"]["maxLength"] == 128 and params["limit"] == {"type": "integer", "minimum": 1,
                                                                         "maximum": 500}
    assert params["fired"]["enum"] == ["true", "false"]
    params = {p["name"]: p["schema"] for p in operation(app, "/v1/notifications", "get")["parameters"]}
    assert params["status"]["enum"] == ["pending", "sending", "sent", "dead"]
    target = schema_of(app, "Target")
    assert target["properties"]["value"]["type"] == ["number", "string"]
    assert set(target["required"]) == {"subject", "metric", "value", "updated_at", "source", "set_by",
                                       "ruleset_version"}


# ---------------------------------------------------------------------- refusals the models give
@pytest.mark.parametrize("body, path", [
    ({"form": "behavior_log"}, "$.facts"),                                   # facts left out
    ({"form": "behavior_log", "facts": []}, "$.facts"),
    ({"form": "behavior_log", "facts": {}, "as_of": "2026-02-30"}, "$.as_of"),
    ({"form": "behavior_log", "facts": {}, "as_of": "next week"}, "$.as_of"),
    ({"form": "behavior_log", "facts": {}, "history": [1]}, "$.history[0]"),
])
def test_an_evaluation_the_model_refuses_is_422_at_its_path(client, body, path):
    r = client.post("/v1/evaluate", json=body)
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "schema_violation" and r.json["error"]["path"] == path


def test_a_date_that_is_not_in_the_calendar_is_named_in_both_languages(client):
    body = {"form": "behavior_log", "facts": {}, "as_of": "2026-02-30"}
    en = client.post("/v1/evaluate", json=body, headers={"Accept-Language": "en"}).json["error"]["message"]
    zh = client.post("/v1/evaluate", json=body, headers={"Accept-Language": "zh"}).json["error"]["message"]
    assert en == "`2026-02-30` is not a date of the calendar" and "日历" in zh


@pytest.mark.parametrize("person, path", [
    ({"id": "x", "role": "rep", "region": "r" * 65}, "$.people[0].region"),
    ({"id": "x", "role": "rep", "email": "a@" + "b" * 253}, "$.people[0].email"),
    ({"id": "x", "role": "r" * 65}, "$.people[0].role"),
])
def test_a_person_beyond_the_columns_is_422_at_the_field(client, person, path):
    """The chart's columns hold 64 characters of a region, 254 of an e-mail …: beyond them,
    PostgreSQL refused the row (a 500) and SQLite stored it."""
    r = client.post("/v1/org/people", json={"people": [person]})
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "schema_violation" and r.json["error"]["path"] == path
    assert "x" not in {p["id"] for p in client.get("/v1/org/people").json["people"]}


@pytest.mark.parametrize("query, path", [("fired=yes", "$.fired"), ("current=1", "$.current"),
                                         ("fired=", "$.fired")])
def test_a_decision_filter_outside_its_enumeration_is_400(client, query, path):
    """`fired=yes` was read as no filter at all: every decision, fired or not."""
    r = client.get(f"/v1/decisions?{query}")
    assert r.status_code == 400 and r.json["error"]["path"] == path
    assert client.get("/v1/decisions?fired=false&current=true").status_code == 200


def test_a_notification_status_outside_the_states_is_400(client):
    r = client.get("/v1/notifications?status=bogus")
    assert r.status_code == 400 and r.json["error"]["path"] == "$.status"
    assert client.get("/v1/notifications?status=dead").json == {"items": [], "next": None}


# ---------------------------------------------------------------------- answers
def test_a_target_too_long_for_a_double_is_answered_as_its_exact_text(app, client):
    """What plain() writes for a NUMERIC(20,4) of 16 digits: the document says number or text."""
    value = schema_of(app, "Target")["properties"]["value"]
    assert value["type"] == ["number", "string"] and "exact decimal text" in value["description"]
    set_target(app, "east.li", "sales_amount", "999999999999.5")
    set_target(app, "east.li", "new_customers", 12)
    values = {t["metric"]: t["value"] for t in client.get("/v1/targets?subject=east.li").json["targets"]}
    assert values == {"sales_amount": "999999999999.5", "new_customers": 12}
