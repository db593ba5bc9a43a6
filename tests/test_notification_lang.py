"""Notifications in the receiver's language: the org chart's `lang` for a channel that reaches
the person, the deployment's (TRIMTAB_LANG) for a group's and for people without one — in the
server's own dispatcher and in `trimtab worker`."""
from __future__ import annotations

import json

import copy
import datetime as dt

import pytest

from serverkit import ORG, Hooks, load_org, week
from workerkit import eventually
from trimtab.server.jobs.dispatcher import start_dispatcher

CHANNELS = ("channels:\n"
            "  own: {type: webhook, url_env: T_LANG_OWN}\n"              # reaches one person
            "  group: {type: dingtalk, url_env: T_LANG_GROUP}\n"         # a group's robot
            "routes:\n  direct_manager: own\n  hrbp: group\n  default: own\n")


def org(**langs) -> dict:
    chart = copy.deepcopy(ORG)
    for person in chart["people"]:
        if person["id"] in langs:
            person["lang"] = langs[person["id"]]
    return chart


@pytest.fixture
def robots(tmp_path, monkeypatch, receivers):
    """(one person's webhook, a group's DingTalk robot), and the channels that reach them."""
    own, group = receivers(scheme="webhook"), receivers()
    (tmp_path / "channels.yaml").write_text(CHANNELS, encoding="utf-8")
    monkeypatch.setenv("T_LANG_OWN", own.url)
    monkeypatch.setenv("T_LANG_GROUP", group.url)
    return own, group


def english(text: str) -> bool:
    return "fired:" in text and "已触发" not in text


@pytest.fixture
def app_config(request, tmp_path, default, robots) -> dict:
    """The deployment's language `default`; the channels the receivers wrote (before the app
    reads them); deliveries through RQ when the test has a Redis (`private_redis`)."""
    config = {"CHANNELS_PATH": str(tmp_path / "channels.yaml"), "LANG": default}
    if "private_redis" in request.fixturenames:
        config["REDIS_URL"] = request.getfixturevalue("private_redis").url
    return config


@pytest.mark.parametrize("db_kind,default,manager,expected", [
    ("sqlite", "zh", "en", "en"), ("sqlite", "en", None, "en"), ("sqlite", "en", "zh-CN", "zh"),
    ("postgresql", "zh", "en", "en")])
@pytest.mark.slow
def test_the_servers_dispatcher_writes_in_each_receivers_language(app, default, manager, expected,
                                                                   robots):
    own, group = robots
    stopping = None
    try:
        client = load_org(app, org(**{"east.mgr": manager, "hr.east": "en"}))
        people = {p["id"]: p["lang"] for p in client.get("/v1/org/people").json["people"]}
        assert people["east.mgr"] == (manager[:2] if manager else None)
        hooks = Hooks(client)
        for w in [week(3, 3, 0.85), week(4, 3, 0.8), week(5, 2, 0.7)]:
            r = hooks.post("weekly_metrics", w, lang="zh")     # the submitter's language: not this
        assert r.json["notifications_queued"] == 2
        stopping = start_dispatcher(app, interval_s=0.1)
        # The yellow alert (the silence rule also finds these July weeks long past: not this),
        # waited for itself: the silence's message may reach a receiver first.
        yellow = lambda: [m for m in own.received if m["body"].get("rule") == "健康度黄灯"]
        not_silence = lambda: [m for m in group.received
                               if "周报断更" not in json.dumps(m["body"], ensure_ascii=False)]
        assert eventually(lambda: yellow() and not_silence())
        [mine], [ours] = yellow(), not_silence()
        assert mine["body"]["recipient"] == "east.mgr" and mine["body"]["lang"] == expected
        assert english(mine["body"]["text"]) == (expected == "en")
        assert english(mine["body"]["explanation"]) == (expected == "en")
        assert "texts" not in mine["body"]                  # one language per message
        text = ours["body"]["actionCard"]["text"]           # hr.east reads English, the group not
        assert ("本周有 2 项健康指标低于阈值" in text) and (english(text) == (default == "en"))
    finally:
        if stopping is not None:
            stopping.set()


@pytest.mark.slow
@pytest.mark.parametrize("db_kind,default", [("postgresql", "zh")])  # the web server's: not this
def test_the_worker_writes_alerts_and_reports_in_each_receivers_language(app, robots, private_redis,
                                                                         workers):
    """TRIMTAB_LANG=en for `trimtab worker`; east.mgr reads Chinese, everyone else the default:
    the weekly report to east.mgr is in Chinese, the one to headquarters in English."""
    from trimtab.server.storage.models import ScheduleRun, utcnow
    own, group = robots
    client = load_org(app, org(**{"east.mgr": "zh"}))
    with app.extensions["trimtab.sessions"]() as s, s.begin():
        s.add(ScheduleRun(name="周一行动建议", last_run_at=utcnow() - dt.timedelta(weeks=2), runs=1))
    hooks = Hooks(client)
    for w in [week(3, 3, 0.85), week(4, 3, 0.8), week(5, 2, 0.7)]:
        hooks.post("weekly_metrics", w)
    workers("--sweep-s", "1", TRIMTAB_LANG="en")
    assert eventually(lambda: len(own.received) >= 3 and group.received, timeout_s=40)
    by = {(m["body"]["recipient"], m["body"].get("rule") or m["body"]["report"]["report"]): m["body"]
          for m in own.received}
    alert = by[("east.mgr", "健康度黄灯")]
    assert alert["lang"] == "zh" and not english(alert["text"])
    report = by[("east.mgr", "weekly_actions")]
    assert report["lang"] == "zh" and report["title"] == "本周行动建议"
    hq = by[("hq.1", "resource_hints")]
    assert hq["lang"] == "en" and hq["title"] == "Cross-region resource hints"
    assert english(group.received[0]["body"]["actionCard"]["text"])    # the group: en
