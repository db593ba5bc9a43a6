"""The Salesforce connector: won deals → deal_log facts through the webhooks' submission path,
pulled twice without a duplicate fact or decision (tests/salesforce_standin.py pages, expires
the token once and answers REQUEST_LIMIT_EXCEEDED once)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from salesforce_standin import CLIENT, REFRESH, SalesforceStandIn
from serverkit import load_org
from trimtab.server.connectors import salesforce
from trimtab.server.connectors.api_client import ApiClient
from trimtab.server.storage.models import Decision, Fact, SyncState

ORG = {"people": [
    {"id": "east.li", "name": "李东", "role": "rep", "region": "east", "manager": "east.mgr",
     "email": "li@fintech.example"},
    {"id": "east.mgr", "name": "王经理", "role": "regional_manager", "region": "east"},
    {"id": "south.zhao", "name": "赵敏", "role": "rep", "region": "south", "email": "zhaom@fintech.example"}]}


def counts(app) -> tuple[int, int]:
    with app.extensions["trimtab.sessions"]() as s:
        return (s.scalar(select(func.count()).select_from(Fact).where(Fact.form == "deal_log")),
                s.scalar(select(func.count()).select_from(Decision).where(Decision.form == "deal_log")))


def pull(app, standin, full=False):
    sf = salesforce.Salesforce(standin.url, *CLIENT, refresh_token=REFRESH, api_version="v59.0")
    http = ApiClient(sf, sleep=lambda s: None)
    got = salesforce.pull(app, app.extensions["trimtab.rules"].current, http, sf, full=full)
    return got, http


def test_deals_pulled_twice_store_nothing_twice(app):
    load_org(app, ORG)
    with SalesforceStandIn() as sfs:
        got, http = pull(app, sfs)
        assert (sfs.expired, sfs.rate_limited) == (1, 1) and http.refreshes == 1
        # 4 changed opportunities → (李东, 2026-08), (李东, 2026-09: none won), (赵敏, 2026-08).
        assert (got.changed, got.submitted, got.stored) == (4, 3, 3)
        assert got.watermark == "2026-08-25T09:00:00.000+0000"
        facts, decisions = counts(app)
        assert facts == 3 and decisions > 0
        with app.extensions["trimtab.sessions"]() as s:
            li = json.loads(s.scalars(select(Fact.payload).where(
                Fact.subject == "east.li", Fact.period == "2026-08")).one())
            score = s.scalars(select(Decision).where(Decision.subject == "east.li", Decision.period == "2026-08",
                                                     Decision.rule == "突破奖")).one()
            assert s.get(SyncState, "salesforce").watermark == got.watermark
        assert li["orders"] == [{"order_id": "006RM00000A1", "amount": 180000},
                                {"order_id": "006RM00000A2", "amount": 260000}]
        assert str(score.result["value"]) == "30"          # 10 + 10×2: the 26万 order doubled

        # Again by watermark: the last second's record is read again, and replays.
        again, _ = pull(app, sfs)
        assert (again.changed, again.stored) == (1, 0)
        # A full re-sync: every fact replays; nothing new is stored or decided.
        full, _ = pull(app, sfs, full=True)
        assert (full.submitted, full.stored) == (3, 0)
        assert counts(app) == (facts, decisions)

        # A new won deal for 李东 in August: that month's fact is sent again, whole.
        sfs.deals.append({"Id": "006RM00000A5", "OwnerId": "005RM000001a", "Amount": 120000,
                          "CloseDate": "2026-08-28", "IsWon": True, "StageName": "Closed Won",
                          "SystemModstamp": "2026-08-28T01:00:00.000+0000"})
        more, _ = pull(app, sfs)      # (the watermark's own record is read again and replays)
        assert (more.changed, more.submitted, more.stored) == (2, 2, 1)
        assert counts(app)[0] == facts + 1


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_an_owner_nobody_holds_is_reported_not_guessed(app):
    load_org(app, {"people": ORG["people"][:2]})
    with SalesforceStandIn() as sfs:
        got, _ = pull(app, sfs)
    assert got.skipped == ["zhaom@fintech.example"] and got.stored == 2
