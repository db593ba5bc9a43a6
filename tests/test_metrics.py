"""/metrics is written by prometheus_client and counts every answer: 2xx, 4xx and 5xx per
route and form, alerts fired, the outbox by status, the rule set served."""
from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from serverkit import ADMIN_HEADERS, ORG, Hooks, as_admin, samples, value, week


@pytest.fixture(scope="module")
def db_kind():
    return "sqlite"


@pytest.fixture
def app_config():
    return {"LANG": "en"}


def test_every_status_is_counted_per_route_and_form(app, monkeypatch):
    client = as_admin(app.test_client())
    assert client.post("/v1/org/people", json=ORG, headers=ADMIN_HEADERS).status_code == 200
    hooks = Hooks(client)
    for n in (3, 4, 5):
        assert hooks.post("weekly_metrics", week(n, 2, 0.7)).status_code == 200
    assert hooks.post("weekly_metrics", week(6, 2, 0.7), secret="wrong").status_code == 401
    assert hooks.post("weekly_metrics", {**week(7, 2, 0.7), "pipeline_coverage": "x"}).status_code == 422
    assert hooks.post("no_such_form", week(8, 2, 0.7)).status_code == 400
    assert client.get("/no/such/path").status_code == 404

    def boom():
        raise RuntimeError("a bug")
    monkeypatch.setitem(app.view_functions, "api.forms", boom)
    assert client.get("/v1/forms").status_code == 500
    r = client.get("/metrics")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    scrape = samples(r.get_data(as_text=True))
    route = "/hooks/<form>"
    assert [value(scrape, "trimtab_http_requests_total", route=route, method="POST", status=s)
            for s in ("200", "401", "422", "400")] == [3, 1, 1, 1]
    assert value(scrape, "trimtab_webhooks_total", form="weekly_metrics", status="200") == 3
    assert value(scrape, "trimtab_webhooks_total", form="weekly_metrics", status="401") == 1
    assert value(scrape, "trimtab_webhooks_total", form="-", status="400") == 1   # not the name sent
    assert value(scrape, "trimtab_http_requests_total", route="-", method="GET", status="404") == 1
    assert value(scrape, "trimtab_http_requests_total", route="/v1/forms", method="GET",
                 status="500") == 1
    assert value(scrape, "trimtab_alerts_fired_total", rule="健康度黄灯") >= 1
    version = app.extensions["trimtab.rules"].current.version
    assert value(scrape, "trimtab_rules", version=version) == len(app.extensions["trimtab.rules"].current.rules)
    assert ("trimtab_outbox_messages" in {f.name for f in text_string_to_metric_families(
        r.get_data(as_text=True))})


def test_metrics_need_it_or_admin(app):
    assert app.test_client().get("/metrics").status_code == 401
    assert json.loads(app.test_client().get("/metrics").get_data())["error"]["code"] == "unauthenticated"


def test_a_history_cache_too_small_shows_in_its_whole_reads_and_changes_no_answer(fresh_app):
    """Two reps taking turns in a worker whose cache holds one period: one rep's history is read
    whole, webhook after webhook, and /metrics counts it — how an operator sees that the
    subjects' histories do not fit TRIMTAB_HISTORY_CACHE_ENTRIES.  The answers are the roomy
    cache's."""
    team = {"people": ORG["people"] + [{"id": "east.wu", "name": "吴东", "role": "rep", "region": "east",
                                        "manager": "east.mgr", "hrbp": "hr.east"}]}
    answers, whole_reads = [], []
    for name, config in (("small", {"HISTORY_CACHE_ENTRIES": 1}), ("roomy", {})):
        app, hooks = fresh_app(name, **config)
        assert hooks.client.post("/v1/org/people", json=team, headers=ADMIN_HEADERS).status_code == 200
        got = {}
        for n in (1, 2, 3, 4):
            for rep in ("east.li", "east.wu"):
                # conversion below 80% of the rep's baseline from week 3: 转化率下滑 needs two
                # such weeks, so week 4's answer needs week 3 from the history
                facts = {**week(n, 2, 0.7), "rep": rep, "conversion_rate": 0.25 if n <= 2 else 0.1}
                r = hooks.post("weekly_metrics", facts)
                assert r.status_code == 200, r.json
                got[rep, n] = {d["rule"]: (d["value"], d.get("explanation")) for d in r.json["decisions"]}
        answers.append(got)
        scrape = samples(hooks.client.get("/metrics").get_data(as_text=True))
        assert {("trimtab_history_whole_reads_total", ()), ("trimtab_history_evictions_total", ())} \
            <= set(scrape)                                            # counted, if only 0
        whole_reads.append(value(scrape, "trimtab_history_whole_reads_total"))
    assert answers[0] == answers[1]
    for rep in ("east.li", "east.wu"):
        assert [answers[0][rep, n]["转化率下滑"][0] for n in (1, 2, 3, 4)] == [False, False, False, True]
    # the small cache keeps one rep (the last subject held stays, past the limit if need be)
    # and reads the other's history whole from week 3 on; the roomy one reads none whole
    assert whole_reads == [2, 0], whole_reads
