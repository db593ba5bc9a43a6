"""Alert messages worth reading (issue #17, deliverable 3): one per receiver, @mentions of the
people concerned, the values that fired and their thresholds in the receiver's language, a card
with a link to the decision's why — counted at local receivers, every delivery."""
from __future__ import annotations

import copy
import datetime as dt

import pytest
from sqlalchemy import select

from receivers import Receiver
from serverkit import ORG, Hooks, load_org, week
from trimtab.server.jobs.channels import load_channels
from trimtab.server.jobs.outbox import dispatch_due
from trimtab.server.storage.models import Decision, OutboxMessage

PUBLIC = "https://trimtab.example"
# Week 5 of east.li: 5 effective visits (threshold 80% of the industry's 12 = 9.6), pipeline
# coverage 70% (< 75%): the yellow alert fires.
WEEKS = [week(3, 3, 0.85), week(4, 3, 0.8), dict(week(5, 2, 0.7), effective_visits=5)]
IDS = {"east.mgr": {"dingtalk_userid": "ding-mgr", "feishu_open_id": "ou_mgr"},
       "hr.east": {"mobile": "13800000001", "feishu_open_id": "ou_hr"}}


def chart(**langs) -> dict:
    people = copy.deepcopy(ORG)
    for person in people["people"]:
        person.update(IDS.get(person["id"], {}))
        if person["id"] in langs:
            person["lang"] = langs[person["id"]]
    return people


@pytest.fixture
def group(receivers):
    return receivers(secret="SECgroup")


@pytest.fixture
def own(receivers):
    return receivers(scheme="webhook")


@pytest.fixture
def app_config(tmp_path, monkeypatch, group, own):
    config = tmp_path / "channels.yaml"
    config.write_text("channels:\n"
                      "  group: {type: dingtalk, url_env: T_GROUP, secret_env: T_GROUP_SECRET}\n"
                      "  own: {type: webhook, url_env: T_OWN}\n"
                      "routes:\n  direct_manager: group\n  hrbp: group\n  default: own\n",
                      encoding="utf-8")
    monkeypatch.setenv("T_GROUP", group.url)
    monkeypatch.setenv("T_GROUP_SECRET", "SECgroup")
    monkeypatch.setenv("T_OWN", own.url)
    return {"CHANNELS_PATH": str(config), "LANG": "zh", "PUBLIC_URL": PUBLIC}


def send(app, now=None) -> dict:
    return dispatch_due(app.extensions["trimtab.sessions"], app.extensions["trimtab.channels"], now=now)


def yellow(received: list) -> list:
    return [m for m in received if "健康度黄灯" in str(m["body"])]


def rows(app, rule: str = "健康度黄灯") -> list:
    with app.extensions["trimtab.sessions"]() as s:
        return s.scalars(select(OutboxMessage).where(OutboxMessage.rule == rule)).all()


def decision_id(app, rule: str = "健康度黄灯") -> int:
    with app.extensions["trimtab.sessions"]() as s:
        return s.scalars(select(Decision.id).where(Decision.rule == rule, Decision.fired.is_(True))).one()


def test_a_group_two_roles_share_gets_one_message_with_mentions_values_and_the_why(app, group):
    client = load_org(app, chart())
    hooks = Hooks(client)
    for w in WEEKS:
        r = hooks.post("weekly_metrics", w)
    assert r.json["notifications_queued"] == 2          # 拜访频次不足 to east.li; and:
    assert [(m.role, m.channel) for m in rows(app)] == [("direct_manager,hrbp", "group")]
    send(app)
    assert group.rejected == []
    [got] = yellow(group.received)                      # every delivery counted
    assert len(group.received) == 1 and set(group.counts().values()) == {1}
    body = got["body"]
    card = body["actionCard"]
    assert body["msgtype"] == "actionCard" and card["title"] == "[yellow] 健康度黄灯"
    assert body["at"] == {"atUserIds": ["ding-mgr"], "atMobiles": ["13800000001"], "isAtAll": False}
    assert "@ding-mgr" in card["text"] and "@13800000001" in card["text"]   # DingTalk needs both
    text = card["text"]                                 # the group: the deployment's zh
    assert "本周有 3 项健康指标低于阈值" in text and "对象：李东（east.li）" in text
    assert "触发的数值" in text
    assert "effective_visits < 80% of industry.effective_visits: 5 < 9.6 成立" in text
    assert "pipeline_coverage < 75%: 70% < 75% 成立" in text
    assert "meeting_conversion" not in text            # what did not hold is not a reason
    why = f"{PUBLIC}/v1/decisions/{decision_id(app)}/why"
    assert card["singleURL"] == why and card["singleTitle"] == "查看详情"
    answer = client.get(why.removeprefix(PUBLIC)).json
    assert answer["rule"] == "健康度黄灯" and answer["fired"] is True


def test_a_person_who_reads_english_gets_english(app, tmp_path, own):
    config = tmp_path / "channels.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("direct_manager: group", "direct_manager: own"),
                      encoding="utf-8")
    app.extensions["trimtab.channels"], app.extensions["trimtab.routes"] = load_channels(config)
    hooks = Hooks(load_org(app, chart(**{"east.mgr": "en"})))
    for w in WEEKS:
        hooks.post("weekly_metrics", w)
    send(app)
    [got] = [m["body"] for m in yellow(own.received) if m["body"]["recipient"] == "east.mgr"]
    assert got["lang"] == "en" and got["link"] == f"{PUBLIC}/v1/decisions/{decision_id(app)}/why"
    assert "What made it fire:" in got["text"] and "Subject: 李东 (east.li)" in got["text"]
    assert "effective_visits < 80% of industry.effective_visits: 5 < 9.6 holds" in got["text"]
    assert "成立" not in got["text"] and "触发" not in got["text"]
    assert [m["person"] for m in got["mentions"]] == ["east.mgr"]


def test_the_feishu_card_mentions_by_open_id_and_links_the_why(app, tmp_path, monkeypatch):
    lark = Receiver(secret="SEClark", scheme="feishu")
    try:
        config = tmp_path / "lark.yaml"
        config.write_text("channels:\n  lark: {type: feishu, url_env: T_LARK, secret_env: T_LARK_SECRET}\n"
                          "routes:\n  default: lark\n", encoding="utf-8")
        app.extensions["trimtab.channels"], app.extensions["trimtab.routes"] = load_channels(
            config, {"T_LARK": lark.url, "T_LARK_SECRET": "SEClark"})
        hooks = Hooks(load_org(app, chart()))
        for w in WEEKS:
            hooks.post("weekly_metrics", w)
        send(app)
        assert lark.rejected == []
        [got] = yellow(lark.received)
        body = got["body"]
        assert body["msg_type"] == "interactive" and "sign" in body
        card = body["card"]
        assert card["header"] == {"template": "yellow",
                                  "title": {"tag": "plain_text", "content": "[yellow] 健康度黄灯"}}
        markdown = card["elements"][0]
        assert markdown["tag"] == "markdown"
        assert "<at id=ou_mgr></at>" in markdown["content"] and "<at id=ou_hr></at>" in markdown["content"]
        assert "5 < 9.6 成立" in markdown["content"]
        [button] = card["elements"][1]["actions"]
        assert button["tag"] == "button" and button["url"] == f"{PUBLIC}/v1/decisions/{decision_id(app)}/why"
    finally:
        lark.close()


def test_retries_do_not_duplicate(app, tmp_path, group):
    """The webhook delivered again, the receiver failing first, the decision queued again: the
    group still takes the alert once."""
    from trimtab.server.domain.approval_flow import resolve_role
    from trimtab.server.domain.alert_notices import enqueue_alert
    bad = Receiver(fail_with=500)
    config = tmp_path / "channels.yaml"
    app.extensions["trimtab.channels"], app.extensions["trimtab.routes"] = load_channels(
        config, {"T_GROUP": bad.url, "T_GROUP_SECRET": "SECgroup", "T_OWN": "http://127.0.0.1:9/"})
    hooks = Hooks(load_org(app, chart()))
    for w in WEEKS[:-1]:
        hooks.post("weekly_metrics", w)
    first = hooks.post("weekly_metrics", WEEKS[-1], delivery="week-5")
    again = hooks.post("weekly_metrics", WEEKS[-1], delivery="week-5")     # the platform retries
    assert first.json == again.json
    assert again.status_code == 200 and len(rows(app)) == 1     # the stored answer, nothing new
    assert send(app)["retry"] >= 1 and len(bad.arrivals) == 1
    bad.close()
    app.extensions["trimtab.channels"], routes = load_channels(config)
    channels = app.extensions["trimtab.channels"]
    ruleset = app.extensions["trimtab.rules"].current
    with app.extensions["trimtab.sessions"]() as s, s.begin():      # the same decision queued again
        row = s.get(Decision, decision_id(app))
        [d] = [d for d in ruleset.evaluate("weekly_metrics", WEEKS[-1], WEEKS[:-1], trace=True)
               if d.rule == "健康度黄灯"]
        assert enqueue_alert(s, d, row.fact_id, WEEKS[-1], routes, channels, resolve_role,
                             "raised", row.id, PUBLIC) == 0
    send(app, now=dt.datetime.utcnow() + dt.timedelta(days=1))      # past the backoff
    assert len(yellow(group.received)) == 1 and set(group.counts().values()) == {1}
    assert [(r.channel, r.status, r.attempts) for r in rows(app)] == [("group", "sent", 2)]
