"""Schemathesis on the workbench's operations (issue 16), on SQLite and PostgreSQL.

The campaign of test_schemathesis.py (schemathesiskit.py) covers every operation but reaches few of these past a
404: a draft id is a random number there.  Here the rules are a throwaway git repository, the
caller (an admin person, who may do what HRBPs and IT do) holds an open draft, a submitted one
is in the queue, and the ids in the paths are theirs — so checking, evaluating, replaying,
testing, submitting, accepting and sending back run on real drafts with generated bodies,
queries and headers.  No server error; every response documented and in its schema.
"""
from __future__ import annotations

import os

import pytest

import schemathesis

import schemathesiskit as campaign
from gitrepo import RulesRepo
from serverkit import ORG, bearer, running_app

CASES = int(os.environ.get("TRIMTAB_SCHEMATHESIS_WORKBENCH_CASES", "150"))
PREFIXES = ("/v1/drafts", "/v1/reviews", "/v1/replays", "/v1/facts", "/v1/rulesets/current/files",
            "/v1/decisions/{decision_id}/why")
ALERTS = "rules/alerts.rules"
AUTHOR = {"id": "hr.author", "name": "提交人", "role": "hrbp", "region": "east"}


def pinned(doc: dict, ids: dict) -> dict:
    """The workbench's operations only, their path ids pinned to the drafts made here.  A
    DELETE is left to random ids: pinned, its negative cases would be the other drafts."""
    doc["paths"] = {p: v for p, v in doc["paths"].items() if p.startswith(PREFIXES)}
    for ops in doc["paths"].values():
        for method, op in ops.items():
            for param in op.get("parameters", []):
                if method != "delete" and param.get("in") == "path" and param["name"] in ids:
                    param["schema"] = {"type": "integer", "enum": ids[param["name"]]}
    return doc


def world(app, client, admin_auth) -> dict:
    """An open draft of the admin person's, a submitted one of another HRBP's, a replay."""
    author = bearer(app, AUTHOR["id"])
    for _ in range(3):      # the small ids a random DELETE tries first are not the caller's
        assert client.post("/v1/drafts", json={"files": [ALERTS]}, headers=author).status_code == 201
    mine = client.post("/v1/drafts", json={"files": [ALERTS]}, headers=admin_auth).get_json()
    theirs = client.post("/v1/drafts", json={"files": [ALERTS]}, headers=author).get_json()
    text = client.get(f"/v1/drafts/{theirs['id']}/file?path={ALERTS}", headers=author).get_json()["text"]
    assert client.put(f"/v1/drafts/{theirs['id']}/file?path={ALERTS}", headers={
        **author, "If-Match": theirs["files"][0]["etag"]},
        json={"text": text.replace("days_late > 5 days", "days_late > 3 days")}).status_code == 200
    assert client.post(f"/v1/drafts/{theirs['id']}/submit", headers=author).status_code == 200
    job = client.post(f"/v1/drafts/{mine['id']}/replay", json={}, headers=admin_auth).get_json()
    return {"draft_id": [mine["id"], theirs["id"]], "job_id": [job["id"]]}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_schemathesis_on_the_workbench(kind, tmp_path):
    repo = RulesRepo(tmp_path / "repo")
    org = {"people": ORG["people"] + [campaign.ADMIN_PERSON, AUTHOR]}
    with running_app(kind, tmp_path, org, RULES_PATH=str(repo.rules), RULES_REV="main",
                     LANG="en", EVALUATE_LIMIT="100000/minute") as (app, hooks):
        client = app.test_client()          # no admin token: each request names its caller
        auth = bearer(app, campaign.ADMIN_PERSON["id"])
        ids = world(app, client, auth)
        schema = schemathesis.openapi.from_dict(pinned(campaign.campaign_document(client, auth), ids))
        schema.app = app
        figures = campaign._fuzz(schema, auth, CASES, campaign.SEED)
        print(campaign.report(kind, figures))
        assert figures["server_errors"] == 0, campaign.report(kind, figures)
        asserted = {k: n for k, n in figures["failures"].items()
                    if k.split(": ", 1)[1] not in campaign.REPORTED_ONLY}
        assert not asserted, campaign.report(kind, figures)
        assert figures["statuses"][200] > CASES // 10       # real drafts answered, not only 404s
