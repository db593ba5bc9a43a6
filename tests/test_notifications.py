"""A yellow alert from a webhook to a DingTalk-style receiver that checks the signature."""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import ROOT
from receivers import Receiver
from serverkit import ADMIN_HEADERS, ORG, Hooks, load_org, make_app, week
from trimtab.server.jobs.channels import ChannelError, load_channels
from trimtab.server.storage.models import OutboxMessage
from trimtab.server.jobs.outbox import MAX_ATTEMPTS, backoff, dispatch_due


@pytest.fixture
def receiver(receivers):
    return receivers(secret="SECtest")


@pytest.fixture
def app_config(tmp_path, monkeypatch, receiver):
    config = tmp_path / "channels.yaml"
    config.write_text("channels:\n"
                      "  dingtalk: {type: dingtalk, url_env: T_DT_URL, secret_env: T_DT_SECRET}\n"
                      "  broken: {type: dingtalk, url_env: T_MISSING_URL}\n"
                      "routes:\n  direct_manager: dingtalk\n  hrbp: dingtalk\n  regional_manager: broken\n",
                      encoding="utf-8")
    monkeypatch.setenv("T_DT_URL", receiver.url)
    monkeypatch.setenv("T_DT_SECRET", "SECtest")
    return {"CHANNELS_PATH": str(config), "LANG": "en"}


@pytest.fixture
def setup(app, client, receiver, app_config):
    return app, client, receiver, Path(app_config["CHANNELS_PATH"])


def outbox(app):
    with app.extensions["trimtab.sessions"]() as s:
        return s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_yellow_alert_reaches_the_signed_receiver_once(setup):
    app, client, receiver, _ = setup
    hooks = Hooks(client)
    weeks = [week(3, 3, 0.85), week(4, 3, 0.8), week(5, 2, 0.7)]
    for w in weeks:
        r = hooks.post("weekly_metrics", w)
    # direct_manager and hrbp read the same DingTalk group: one message there, not one per role
    assert r.json["notifications_queued"] == 1
    assert receiver.received == []                         # the webhook did not wait on it
    counts = dispatch_due(app.extensions["trimtab.sessions"], app.extensions["trimtab.channels"])
    assert counts == {"sent": 1, "retry": 0, "dead": 0, "digested": 0}
    assert receiver.rejected == [] and len(receiver.received) == 1
    got = receiver.received[0]["body"]
    assert got["msgtype"] == "actionCard" and got["actionCard"]["title"] == "[yellow] 健康度黄灯"
    assert "east.li" in got["actionCard"]["text"]
    ids = {m["headers"]["X-Trimtab-Message-Id"] for m in receiver.received}
    assert ids == {m.message_id for m in outbox(app)}
    assert dispatch_due(app.extensions["trimtab.sessions"], app.extensions["trimtab.channels"]) == \
        {"sent": 0, "retry": 0, "dead": 0, "digested": 0}   # nothing twice
    sent = client.get("/v1/notifications?status=sent").json["items"]
    assert [(m["role"], m["recipient"]) for m in sent] == [("direct_manager,hrbp", "east.mgr")]


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["HTTP 500", "ReadTimeout"])
def test_a_failing_receiver_is_retried_then_dead_lettered_then_retried_by_hand(setup, fault):
    """A receiver that answers 500, or hangs past the channel's timeout: retried with backoff,
    then dead-lettered with the reason, then sent by hand with the same message ids."""
    app, client, good, config = setup
    bad = Receiver(fail_with=500) if fault == "HTTP 500" else Receiver(stall_s=1.5)
    if fault == "ReadTimeout":
        config.write_text(config.read_text(encoding="utf-8").replace(
            "secret_env: T_DT_SECRET}", "secret_env: T_DT_SECRET, timeout_s: 0.3}"), encoding="utf-8")
    app.extensions["trimtab.channels"], app.extensions["trimtab.routes"] = load_channels(
        config, {"T_DT_URL": bad.url, "T_DT_SECRET": "SECtest"})
    hooks = Hooks(client)
    for w in [week(3, 3, 0.85), week(4, 3, 0.8), week(5, 2, 0.7)]:
        hooks.post("weekly_metrics", w)
    sessions, channels = app.extensions["trimtab.sessions"], app.extensions["trimtab.channels"]
    now = dt.datetime.utcnow()
    for _attempt in range(1, MAX_ATTEMPTS + 1):
        now += dt.timedelta(days=1)                        # past any backoff
        counts = dispatch_due(sessions, channels, now=now)
        assert counts["sent"] == 0
    assert [m.status for m in outbox(app)] == ["dead"]    # one message: the group of both roles
    assert all(fault in m.last_error and m.attempts == MAX_ATTEMPTS for m in outbox(app))
    assert len(bad.arrivals) == MAX_ATTEMPTS               # each attempt reached the receiver
    dead = client.get("/v1/notifications?status=dead").json["items"]
    assert len(dead) == 1
    bad.close()
    app.extensions["trimtab.channels"], _ = load_channels(config, {"T_DT_URL": good.url,
                                                                   "T_DT_SECRET": "SECtest"})
    for m in dead:
        assert client.post(f"/v1/notifications/{m['id']}/retry", headers=ADMIN_HEADERS).status_code == 200
    counts = dispatch_due(sessions, app.extensions["trimtab.channels"])
    assert counts["sent"] == 1 and len(good.received) == 1
    assert {r["headers"]["X-Trimtab-Message-Id"] for r in good.received} == {m["message_id"] for m in dead}


def test_a_misconfigured_channel_is_reported_and_others_still_deliver(setup):
    app, client, receiver, _ = setup
    hooks = Hooks(client)
    r = hooks.post("weekly_metrics", dict(week(1, 5, 0.9), negative_feedback=3))   # red: 3 roles
    assert r.json["notifications_queued"] == 2            # the group of two roles, the broken one
    counts = dispatch_due(app.extensions["trimtab.sessions"], app.extensions["trimtab.channels"])
    assert counts["sent"] == 1                             # direct_manager and hrbp, in one
    broken = [m for m in outbox(app) if m.role == "regional_manager"][0]
    assert broken.status == "pending" and "no URL (set T_MISSING_URL)" in broken.last_error
    listed = client.get("/v1/notifications").json["items"]
    assert any("T_MISSING_URL" in (m["last_error"] or "") for m in listed)


def test_backoff_grows_with_jitter():
    rng = random.Random(1)
    delays = [backoff(n, rng).total_seconds() for n in range(1, 6)]
    for n, d in enumerate(delays, 1):
        base = 30 * 2 ** (n - 1)
        assert 0.8 * base <= d <= 1.2 * base


@pytest.mark.parametrize("kind,url_suffix,secret", [("feishu", "", "fs-secret"), ("wecom", "&key=k-123", None)])
def test_feishu_and_wecom_formats(kind, url_suffix, secret):
    from trimtab.server.jobs.channels import Channel, ChannelError
    receiver = Receiver(secret=secret, scheme=kind)
    try:
        ch = Channel("c", kind, receiver.url + url_suffix, secret)
        ch.send("m-1", {"title": "[yellow] 健康度黄灯", "text": "east.li：2 项健康指标低于阈值"})
        assert receiver.rejected == [] and len(receiver.received) == 1
        body = receiver.received[0]["body"]
        if kind == "feishu":
            assert body["msg_type"] == "post"
            assert body["content"]["post"]["zh_cn"]["title"] == "[yellow] 健康度黄灯"
            with pytest.raises(ChannelError, match="refused"):
                Channel("c", kind, receiver.url, "wrong-secret").send("m-2", {"title": "t", "text": "x"})
        else:
            assert body["msgtype"] == "markdown" and "健康度黄灯" in body["markdown"]["content"]
            with pytest.raises(ChannelError, match="refused"):
                Channel("c", kind, receiver.url + "&key=wrong", None).send("m-2", {"title": "t", "text": "x"})
    finally:
        receiver.close()



def test_dingtalk_action_card_and_feishu_interactive_card(tmp_path):
    """`format: actioncard` / `format: card` send a card whose button opens the platform; the
    receivers check the signature and every field the platforms require."""
    ding, lark = Receiver(secret="d-secret"), Receiver(secret="f-secret", scheme="feishu")
    try:
        config = tmp_path / "channels.yaml"
        link = "https://platform.example/alerts?msg={message_id}&rep={subject}"
        config.write_text(
            "channels:\n"
            f"  ding: {{type: dingtalk, url: '{ding.url}', secret_env: D, format: actioncard, link: '{link}'}}\n"
            f"  lark: {{type: feishu, url: '{lark.url}', secret_env: F, format: card, link: '{link}'}}\n"
            f"  nolink: {{type: feishu, url: '{lark.url}', secret_env: F, format: card}}\n"
            f"  typo: {{type: dingtalk, url: '{ding.url}', format: cards}}\n", encoding="utf-8")
        channels, _ = load_channels(config, {"D": "d-secret", "F": "f-secret"})
        payload = {"title": "[yellow] 健康度黄灯", "text": "east.li：2 项健康指标低于阈值",
                   "level": "yellow", "rule": "健康度黄灯", "subject": "east.li"}
        channels["ding"].send("m-1", payload)
        channels["lark"].send("m-2", payload)
        assert ding.rejected == [] and lark.rejected == []
        card = ding.received[0]["body"]
        assert card["msgtype"] == "actionCard"
        assert card["actionCard"]["singleURL"] == "https://platform.example/alerts?msg=m-1&rep=east.li"
        card = lark.received[0]["body"]
        assert card["msg_type"] == "interactive" and card["card"]["header"]["template"] == "yellow"
        assert card["card"]["header"]["title"]["content"] == "[yellow] 健康度黄灯"
        assert card["card"]["elements"][1]["actions"][0]["url"].endswith("msg=m-2&rep=east.li")
        assert "sign" in card and "timestamp" in card
        channels["nolink"].send("m-3", payload)        # no link anywhere: a plain post
        assert lark.received[-1]["body"]["msg_type"] == "post"
        channels["nolink"].send("m-3b", {**payload, "link": "https://trimtab.example/v1/decisions/7/why"})
        card = lark.received[-1]["body"]["card"]       # the message's own link: the why
        assert card["elements"][1]["actions"][0]["url"] == "https://trimtab.example/v1/decisions/7/why"
        with pytest.raises(ChannelError, match="format `cards` is not one of markdown, actioncard"):
            channels["typo"].send("m-4", payload)
        # A message the platform would refuse for a missing field is refused here too
        # (unsigned: this receiver stops checking the signature).
        from trimtab.server.jobs.channels import _post
        ding.secret = None
        with pytest.raises(ChannelError, match="缺少参数 actionCard.singleTitle"):
            _post(channels["ding"], ding.url, b'{"msgtype": "actionCard", "actionCard": {"title": "t", "text": "x"}}',
                  {}, ok=lambda r: r.json().get("errcode", 0) == 0)
    finally:
        ding.close()
        lark.close()


def test_a_burst_beyond_the_rate_limit_goes_out_as_a_digest(setup):
    """DingTalk takes 20 messages a minute: 25 due → 19 single messages and one digest of 6."""
    app, client, receiver, _ = setup
    from trimtab.server.storage.models import OutboxMessage, utcnow
    with app.extensions["trimtab.sessions"]() as s, s.begin():
        for i in range(25):
            s.add(OutboxMessage(message_id=f"m{i:02d}", rule="r", role="hrbp", recipient="hr.east",
                                channel="dingtalk", payload={"title": f"alert {i}", "text": "t"},
                                status="pending", attempts=0))
    sessions, channels = app.extensions["trimtab.sessions"], app.extensions["trimtab.channels"]
    counts = dispatch_due(sessions, channels)
    assert (counts["sent"], counts["digested"]) == (19, 6)
    assert len(receiver.received) == 20 and receiver.rejected == []
    digests = [m["body"]["markdown"] for m in receiver.received
               if m["body"]["markdown"]["title"].startswith("6 条预警汇总")]
    assert len(digests) == 1 and "alert 24" in digests[0]["text"] and "alert 18" not in digests[0]["text"]
    assert all(m.status == "sent" for m in outbox(app))
    with app.extensions["trimtab.sessions"]() as s, s.begin():
        s.add(OutboxMessage(message_id="late", rule="r", role="hrbp", recipient="hr.east",
                            channel="dingtalk", payload={"title": "late", "text": "t"},
                            status="pending", attempts=0))
    assert dispatch_due(sessions, channels)["sent"] == 0          # the minute's budget is spent
    later = utcnow() + dt.timedelta(minutes=3)
    assert dispatch_due(sessions, channels, now=later)["sent"] == 1


def test_email_channel_over_smtp(tmp_path):
    from email import message_from_bytes, policy
    from receivers import SmtpSink
    from trimtab.server.jobs.channels import ChannelError
    sink = SmtpSink()
    try:
        config = tmp_path / "channels.yaml"
        config.write_text("channels:\n  mail: {type: email, url_env: T_SMTP, from: trimtab@example.invalid,"
                          " to: [hr-alerts@example.invalid]}\n  nomail: {type: email, url_env: T_SMTP}\n",
                          encoding="utf-8")
        channels, _ = load_channels(config, {"T_SMTP": sink.url})
        channels["mail"].send("m-9", {"title": "[red] 合同额下滑", "text": "east.li：负面反馈集中出现"})
        assert len(sink.messages) == 1
        mail = message_from_bytes(sink.messages[0]["data"].encode("utf-8"), policy=policy.default)
        assert sink.messages[0]["rcpt"] == ["<hr-alerts@example.invalid>"]
        assert mail["Message-ID"] == "<m-9@trimtab>"
        assert mail["Subject"] == "[red] 合同额下滑"
        assert "负面反馈集中出现" in mail.get_content()
        with pytest.raises(ChannelError, match="needs `from`"):
            channels["nomail"].send("m-10", {"title": "t", "text": "x"})
    finally:
        sink.close()
    closed, _ = load_channels(config, {"T_SMTP": "smtp://127.0.0.1:9"})
    with pytest.raises(ChannelError, match="SMTP"):
        closed["mail"].send("m-11", {"title": "t", "text": "x"})


@pytest.mark.slow
def test_people_get_alerts_by_their_own_route_and_address(database, tmp_path, monkeypatch):
    """channels.yaml routes a person before their role; an e-mail channel without `to` writes
    to the recipient's address from the organisation chart, and a recipient without one is a
    dead message with the reason — the other recipient still gets theirs."""
    from receivers import SmtpSink
    sink = SmtpSink()
    config = tmp_path / "channels.yaml"
    config.write_text("channels:\n  personal: {type: email, url_env: T_SMTP, from: trimtab@example.invalid}\n"
                      "  group: {type: webhook, url: http://127.0.0.1:9/unused}\n"
                      "routes:\n  default: group\n"
                      "people:\n  hr.east: personal\n  east.mgr: personal\n", encoding="utf-8")
    monkeypatch.setenv("T_SMTP", sink.url)
    app = make_app(database, CHANNELS_PATH=str(config), LANG="en")
    try:
        people = [dict(p, email="hr.east@example.invalid") if p["id"] == "hr.east" else p
                  for p in ORG["people"]]
        client = load_org(app, {"people": people})
        hooks = Hooks(client)
        for w in [week(3, 3, 0.85), week(4, 3, 0.8), week(5, 2, 0.7)]:
            hooks.post("weekly_metrics", w)
        counts = dispatch_due(app.extensions["trimtab.sessions"], app.extensions["trimtab.channels"])
        assert counts["sent"] == 1
        assert [m["rcpt"] for m in sink.messages] == [["<hr.east@example.invalid>"]]
        dead = client.get("/v1/notifications?status=dead").json["items"]
        assert [(m["recipient"], m["channel"]) for m in dead] == [("east.mgr", "personal")]
        assert "no e-mail address for `east.mgr`" in dead[0]["last_error"]
    finally:
        sink.close()
        app.extensions["trimtab.engine"].dispose()


def test_the_shipped_channels_example_loads_clean():
    """rules/channels.example.yaml is a working starting point once its variables are set."""
    import re
    path = ROOT / "rules" / "channels.example.yaml"
    names = set(re.findall(r"(TRIMTAB_[A-Z_]+)", path.read_text(encoding="utf-8")))
    env = {n: ("smtp://127.0.0.1:25" if n == "TRIMTAB_SMTP_URL" else f"https://example.invalid/{n}")
           for n in names}
    channels, routes = load_channels(path, env)
    assert {c.name: c.problem for c in channels.values()} == {c: None for c in channels}
    assert set(routes.values()) <= set(channels)
    assert load_channels(path, {})[0]["lark-hq"].problem == "channel `lark-hq`: no URL (set TRIMTAB_FEISHU_HQ_URL)"
