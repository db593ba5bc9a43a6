"""The workbench as the tests use it: fixtures for a rules repository the app serves from
(`repo`, `app_config`) and an org chart with four weeks of metrics (`bench`) — a test module
takes them by importing them — and its drafts: the file they change, the threshold they move,
a person's headers, a draft of alerts.rules opened, its text put."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from gitrepo import RulesRepo
from serverkit import ORG, Hooks, bearer, load_org, week

ALERTS = "rules/alerts.rules"
THRESHOLD = ("growth(contract_amount) < -20%", "growth(contract_amount) < 10%")


def rows(app, model, *where) -> list:
    """The stored rows of `model` that match `where`."""
    with app.extensions["trimtab.sessions"]() as session:
        return session.scalars(select(model).where(*where)).all()


def as_(app, person: str, **more) -> dict:
    return {**bearer(app, person), **more}


def open_alerts(app, client, person="hr.east") -> dict:
    r = client.post("/v1/drafts", json={"files": [ALERTS], "title": "合同额预警提前"},
                    headers=as_(app, person))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def put(app, client, draft_id, text, etag, person="hr.east"):
    return client.put(f"/v1/drafts/{draft_id}/file?path={ALERTS}", json={"text": text},
                      headers=as_(app, person, **{"If-Match": f'"{etag}"'}))


PEOPLE = {"people": [p if p["id"] != "hr.east" else {**p, "email": "chen.hr@example.com"}
                     for p in ORG["people"]] + [
    {"id": "hr.west", "name": "周HRBP", "role": "hrbp", "region": "west"},
    {"id": "hr.it", "name": "兼任IT的HRBP", "role": "hrbp", "region": "east", "grants": "it"},
    {"id": "it.1", "name": "IT 工程师", "role": "it_engineer", "grants": "it"}]}


@pytest.fixture
def repo(tmp_path):
    return RulesRepo(tmp_path / "repo")


@pytest.fixture
def app_config(repo):
    return {"RULES_PATH": str(repo.rules), "RULES_REV": "main", "LANG": "en"}


@pytest.fixture
def bench(app):
    """(test client, Hooks): the org chart loaded, four weeks of east.li's metrics recorded."""
    admin = load_org(app, PEOPLE)
    hooks = Hooks(admin)
    for n in range(1, 5):
        assert hooks.post("weekly_metrics", week(n, 3, 0.9)).status_code == 200
    return app.test_client(), hooks
