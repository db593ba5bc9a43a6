"""The workbench's routes declare their contracts (server/web/api_models/workbench.py): bodies
refused by the models at the field they name, and the document saying what the routes answer —
the drafts' ETag and If-Match, the replay's Location, and Draft, DraftList, ReplayJob and
Diagnostic as the models write them."""
from __future__ import annotations

import pytest

import workbenchkit as wb
from workbenchkit import ALERTS, as_, open_alerts

repo, app_config, bench = wb.repo, wb.app_config, wb.bench       # the workbench tests' fixtures


@pytest.fixture
def doc(app):
    return app.test_client().get("/openapi.json").get_json()


def refused(r, status: int, code: str, path: str):
    body = r.get_json()
    assert r.status_code == status, body
    assert (body["error"]["code"], body["error"]["path"]) == (code, path), body


def test_completion_refuses_a_negative_column_at_the_column(app, bench):
    client, _ = bench
    r = client.post("/workbench/api/complete", json={"text": "", "line": 0, "column": -1},
                    headers=as_(app, "hr.east"))
    refused(r, 422, "schema_violation", "$.column")
    assert r.get_json()["error"]["message"] == "`column` must be at least 0"


def test_format_refuses_a_path_that_is_not_a_text(app, bench):
    client, _ = bench
    r = client.post("/workbench/api/format", json={"text": "", "path": 5}, headers=as_(app, "hr.east"))
    refused(r, 422, "schema_violation", "$.path")


def test_a_file_text_over_the_limit_is_documented_and_still_file_too_large(app, bench, doc):
    """The models state a rule file's limit; the route keeps refusing it with its own code."""
    from trimtab.server.domain.drafts import MAX_FILE_CHARS
    for name in ("DraftFileText", "CompleteAt", "FormatText"):
        assert doc["components"]["schemas"][name]["properties"]["text"]["maxLength"] == MAX_FILE_CHARS
    client, _ = bench
    r = client.post("/workbench/api/format", json={"text": "#" * (MAX_FILE_CHARS + 1)},
                    headers=as_(app, "hr.east"))
    refused(r, 422, "file_too_large", "$.text")


def test_evaluate_refuses_facts_that_are_not_an_object_and_a_history_too_long(app, bench):
    client, _ = bench
    did = open_alerts(app, client)["id"]
    url, hr = f"/v1/drafts/{did}/evaluate", as_(app, "hr.east")
    refused(client.post(url, json={"form": "weekly_metrics", "facts": [1]}, headers=hr),
            422, "schema_violation", "$.facts")
    refused(client.post(url, json={"form": "weekly_metrics", "facts": {}, "history": [{}] * 521},
                        headers=hr), 422, "schema_violation", "$.history")
    refused(client.post(url, json={"form": "weekly_metrics", "subject": "east.li"}, headers=hr),
            422, "schema_violation", "$.period")


def test_the_document_states_the_drafts_etag_if_match_and_the_replays_location(doc):
    files = doc["paths"]["/v1/drafts/{draft_id}/file"]
    [if_match] = [p for p in files["put"]["parameters"] if p["name"] == "If-Match"]
    assert if_match["in"] == "header" and if_match["required"] is True
    for method, status in (("get", "200"), ("put", "200")):
        assert "ETag" in files[method]["responses"][status]["headers"]
    assert "ETag" in doc["paths"]["/v1/drafts/{draft_id}/files"]["post"]["responses"]["201"]["headers"]
    replay = doc["paths"]["/v1/drafts/{draft_id}/replay"]["post"]
    assert "Location" in replay["responses"]["202"]["headers"]
    assert replay["requestBody"]["required"] is False


def test_the_workbench_schemas_are_the_models(doc):
    schemas = doc["components"]["schemas"]
    draft = schemas["Draft"]
    assert draft["additionalProperties"] is False
    assert {"created_at", "updated_at", "files", "review"} <= set(draft["required"])
    assert schemas["DraftSummary"]["properties"]["tests"] == {"$ref": "#/components/schemas/TestsSummary"}
    assert schemas["DraftList"]["properties"]["items"]["items"] == {"$ref": "#/components/schemas/Draft"}
    assert schemas["ReplayJob"]["properties"]["status"]["enum"] == ["queued", "running", "done", "failed"]
    assert set(schemas["Diagnostic"]["required"]) == {"code", "message", "hint", "file", "line", "column"}
    check = doc["paths"]["/v1/drafts/{draft_id}/check"]["get"]["responses"]["200"]
    assert check["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/DraftCheck"}
    assert schemas["DraftCheck"]["properties"]["diagnostics"]["items"] == {"$ref": "#/components/schemas/Diagnostic"}


def test_a_submitted_draft_in_the_queue_carries_its_summary(app, bench):
    """The queue's answer is a DraftList (the suite's response check holds it too) whose items
    carry the typed summary: the diff in words, no replay yet, the tests."""
    from workbenchkit import THRESHOLD, put
    from trimtab.server.web.api_models.workbench import DraftList
    client, _ = bench
    draft = open_alerts(app, client)
    text = client.get(f"/v1/drafts/{draft['id']}/file?path={ALERTS}", headers=as_(app, "hr.east")).get_json()["text"]
    assert put(app, client, draft["id"], text.replace(*THRESHOLD), draft["files"][0]["etag"]).status_code == 200
    assert client.post(f"/v1/drafts/{draft['id']}/submit", headers=as_(app, "hr.east")).status_code == 200
    r = client.get("/v1/reviews", headers=as_(app, "it.1"))
    assert r.status_code == 200, r.get_json()
    [item] = DraftList.model_validate(r.get_json()).model_dump()["items"]
    assert item["summary"]["replay"] is None and item["summary"]["changes"]
    assert set(item["summary"]["tests"]) == {"passed", "failed", "rule_coverage"}
    refused(client.get("/v1/reviews?status=open", headers=as_(app, "it.1")), 400, "bad_request", "$.status")


@pytest.mark.parametrize("query", ["to=", "from=", "form=", "subject="])
def test_an_empty_filter_of_the_facts_export_is_400(app, bench, query):
    """Schemathesis: `to=` (not a date, as the document says) was answered 200, read as no filter."""
    client, _ = bench
    r = client.get(f"/v1/facts/export?{query}", headers=as_(app, "hr.east"))
    refused(r, 400, "bad_request", "$." + query[:-1])
