"""Routes' contracts (server/web/contract.py): bodies and queries parsed through their models,
refusals located and in the reader's language, the OpenAPI document built from the contracts,
and the suite-wide check of answers against them (server/web/response_check.py)."""
from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from flask import jsonify

from trimtab.server.app import create_app
from trimtab.server.auth import requires
from trimtab.server.web.api_models.common import Answer, Number, Page, number, PersonId, Request, text
from trimtab.server.web.contract import body_as, contract, query_as
from trimtab.server.web.openapi_build import build


class Change(Request):
    subject: PersonId
    value: Number
    share: number(0, 1) = None      # type: ignore[valid-type]
    reason: text(200) = None        # type: ignore[valid-type]


class Changed(Answer):
    subject: str
    value: str


@pytest.fixture
def app(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/c.db", "RULES_PATH": "rules",
                      "AUDIT_KEY": "k", "CHECK_RESPONSES": True, "LANG": "en"})

    @app.post("/t/change")
    @requires("public")
    @contract("a change", body=Change, answers={200: Changed}, errors=(422,))
    def change():
        data = body_as(Change)
        wrong = data.reason == "answer-wrong"
        return jsonify({"subject": data.subject, "value": 1 if wrong else str(data.value)})

    @app.get("/t/page")
    @requires("public")
    @contract("a page", query=Page, answers={200: Changed})
    def page():
        q = query_as(Page)
        return jsonify({"subject": str(q.limit), "value": str(q.after)}), (201 if q.limit == 7 else 200)

    yield app
    app.extensions["trimtab.engine"].dispose()


def test_a_body_is_parsed_through_its_model_with_exact_numbers(app):
    r = app.test_client().post("/t/change", json={"subject": "east.li", "value": 0.1})
    assert r.status_code == 200 and r.json == {"subject": "east.li", "value": "0.1"}
    assert Decimal(r.json["value"]) == Decimal("0.1")


@pytest.mark.parametrize("body, path, en, zh", [
    ({"value": 1}, "$.subject", "`subject` is required", "缺少"),
    ({"subject": 5, "value": 1}, "$.subject", "`subject` must be a text", "文本"),
    ({"subject": "x" * 129, "value": 1}, "$.subject", "`subject` is longer than 128 characters", "128"),
    ({"subject": "a", "value": "1"}, "$.value", "`value` must be a number", "数"),
    ({"subject": "a", "value": True}, "$.value", "`value` must be a number", "数"),
    ({"subject": "a", "value": 1, "share": 1.5}, "$.share", "`share` must be at most 1", "不能大于 1"),
])
def test_a_body_the_model_refuses_is_422_at_its_path_in_both_languages(app, body, path, en, zh):
    client = app.test_client()
    r = client.post("/t/change", json=body)
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "schema_violation" and r.json["error"]["path"] == path
    assert r.json["error"]["message"].startswith(en)
    r = client.post("/t/change", json=body, headers={"Accept-Language": "zh"})
    assert zh in r.json["error"]["message"] and r.json["error"]["path"] == path


def test_a_body_that_is_not_an_object_is_400(app):
    r = app.test_client().post("/t/change", json=[1])
    assert r.status_code == 400 and r.json["error"]["path"] == "$"


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=+5", "limit=%205", "limit=1_0", "after=-1"])
def test_a_query_number_is_digits_within_its_range(app, query):
    r = app.test_client().get(f"/t/page?{query}")
    assert r.status_code == 400 and r.json["error"]["path"] == "$." + query.split("=")[0]


def test_an_answer_that_breaks_its_contract_is_caught(app, caplog):
    client = app.test_client()
    with caplog.at_level(logging.ERROR, "trimtab.contract"):
        r = client.post("/t/change", json={"subject": "a", "value": 1, "reason": "answer-wrong"})
    assert r.status_code == 500
    assert "at $.value: 1 is not of type 'string'" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.ERROR, "trimtab.contract"):
        r = client.get("/t/page?limit=7")          # 201: not documented
    assert r.status_code == 500 and "status 201 is not documented" in caplog.text


def test_the_document_is_built_from_the_contracts(app):
    doc = build(app)
    op = doc["paths"]["/t/change"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Change"}
    change = doc["components"]["schemas"]["Change"]
    assert change["required"] == ["subject", "value"]
    assert change["properties"]["subject"]["maxLength"] == 128
    assert change["properties"]["value"] == {"type": "number", "minimum": -999999999999999,
                                             "maximum": 999999999999999}
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Changed"}
    assert set(op["responses"]) == {"200", "400", "413", "422", "503"}
    params = {p["name"]: p for p in doc["paths"]["/t/page"]["get"]["parameters"]}
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 500}
    assert params["limit"]["in"] == "query" and params["limit"]["required"] is False


def test_a_whole_number_may_be_written_with_a_zero_fraction(app):
    """JSON Schema's `integer` counts 5.0; the body's parser gives it as a Decimal, which strict
    mode refused (schemathesis: `examples: 5.0` on a replay, "schema-valid request rejected")."""
    from trimtab.server.web.api_models.common import whole
    from trimtab.server.web.contract import checked

    class Count(Request):
        n: whole(0, 10)             # type: ignore[valid-type]
    assert checked(Count, {"n": Decimal("5.0")}, "schema_violation").n == 5
    for wrong in (Decimal("5.5"), True, "5", 11):
        with pytest.raises(Exception) as refused:
            checked(Count, {"n": wrong}, "schema_violation")
        assert refused.value.code == "schema_violation" and refused.value.path == "$.n"


def test_the_choices_of_a_refused_enum_are_listed_in_the_readers_language(app):
    from typing import Literal

    from trimtab.server.web.contract import checked

    class Pick(Request):
        status: Literal["open", "closed"]
    with pytest.raises(Exception) as refused:
        checked(Pick, {"status": "x"}, "bad_request")
    message = refused.value.message
    assert message.render("en") == "`status` must be one of `open`, `closed`"
    assert message.render("zh") == "`status` 只能是 `open`、`closed` 之一"


def test_every_operation_of_the_server_says_what_it_takes_and_answers(tmp_path):
    """The whole document: every JSON body and every JSON answer has a schema (the old
    hand-written document had `application/json: {}` on every answer), every operation lists
    its refusals, and a route without a contract cannot be served a document at all."""
    from trimtab.server.web.openapi_build import MissingContract
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/d.db", "RULES_PATH": "rules", "AUDIT_KEY": "k"})
    try:
        doc = build(app)
        untyped = []
        for path, ops in doc["paths"].items():
            for method, op in ops.items():
                for media, content in op.get("requestBody", {}).get("content", {}).items():
                    if media == "application/json" and not content.get("schema"):
                        untyped.append(f"{method} {path} body")
                for status, answer in op["responses"].items():
                    if "$ref" in answer:
                        continue
                    for media, content in answer.get("content", {}).items():
                        if media == "application/json" and not content.get("schema"):
                            untyped.append(f"{method} {path} {status}")
                    if status.startswith("2") and not answer.get("content") and status != "204":
                        untyped.append(f"{method} {path} {status} has no content")
                assert "400" in op["responses"] and any(s.startswith("2") or s.startswith("3")
                                                        for s in op["responses"]), (method, path)
        assert not untyped, untyped
        assert len(doc["paths"]) >= 70
        # two models of one name are told apart by pydantic with their module paths: a name an
        # integrator should never read (one model per thing, or distinct names)
        assert not [name for name in doc["components"]["schemas"] if "__" in name]

        @app.get("/t/undeclared")
        def undeclared():
            return "x"
        with pytest.raises(MissingContract, match="/t/undeclared"):
            build(app)
    finally:
        app.extensions["trimtab.engine"].dispose()
