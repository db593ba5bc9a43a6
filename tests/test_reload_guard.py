"""A reload that drops rules or files needs an explicit confirmation (issue 13, part 4).

Measured before: deleting alerts.rules (18 → 11 rules) was accepted silently by reload."""
from __future__ import annotations

import shutil

import pytest

from conftest import ROOT, SCHEMAS
from serverkit import ADMIN_HEADERS
from trimtab.server.domain.reload_guard import removals


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_deleting_a_rule_file_needs_allow_removals(fresh_app, tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    _app, hooks = fresh_app("server", RULES_PATH=str(rules), SCHEMAS_PATH=str(SCHEMAS))
    client = hooks.client
    before = client.get("/v1/rulesets/current").json
    alerts = {r["name"] for r in before["rules"] if r["file"].endswith("alerts.rules")}
    assert alerts
    (rules / "alerts.rules").unlink()

    r = client.post("/v1/rulesets/reload", headers=ADMIN_HEADERS)
    assert r.status_code == 409, r.json
    error = r.json["error"]
    assert error["code"] == "removals_need_confirmation"
    assert error["path"] == "$.allow_removals"
    assert set(error["removed"]["rules"]) == alerts
    assert [f.rsplit("/", 1)[-1] for f in error["removed"]["files"]] == ["alerts.rules"]
    assert client.get("/v1/rulesets/current").json["version"] == before["version"]

    r = client.post("/v1/rulesets/reload", json={"allow_removals": "yes"}, headers=ADMIN_HEADERS)
    assert r.status_code == 422 and r.json["error"]["path"] == "$.allow_removals"

    r = client.post("/v1/rulesets/reload", json={"allow_removals": True}, headers=ADMIN_HEADERS)
    assert r.status_code == 200
    assert r.json["rules"] == len(before["rules"]) - len(
        [x for x in before["rules"] if x["name"] in alerts])
    # Nothing removed now: a plain reload goes through.
    assert client.post("/v1/rulesets/reload", headers=ADMIN_HEADERS).status_code == 200


def test_removals_compares_names_and_files(shipped, schemas):
    from conftest import RULES
    from trimtab.dsl.ruleset import load_sources
    sources = [(str(p), p.read_text(encoding="utf-8")) for p in sorted(RULES.glob("*.rules"))
               if p.name != "cadence.rules"]
    smaller = load_sources(sources, schemas)
    gone = removals(shipped, smaller)
    assert gone["files"] == [str(RULES / "cadence.rules")]
    assert gone["schedules"] == sorted(s.name for s in shipped.schedules)
    assert removals(shipped, shipped) == {"rules": [], "schedules": [], "files": []}
    assert removals(None, shipped) == {"rules": [], "schedules": [], "files": []}


@pytest.mark.parametrize("body", [{"rev": None}, {"rev": ""}, {"rev": 7}])
def test_a_revision_that_is_not_text_is_refused(client, body):
    """Schemathesis found `{"rev": null}` taken as "no revision given" and answered 200; the
    schema admits a non-empty text or nothing at all."""
    before = client.get("/v1/rulesets/current", headers=ADMIN_HEADERS).json["version"]
    r = client.post("/v1/rulesets/reload", json=body, headers=ADMIN_HEADERS)
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "schema_violation" and r.json["error"]["path"] == "$.rev"
    assert client.get("/v1/rulesets/current", headers=ADMIN_HEADERS).json["version"] == before
