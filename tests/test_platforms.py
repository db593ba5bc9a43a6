"""The fintech Q3 case through each platform's adapter, played by the platform simulator;
the decisions are the same as through the generic webhook."""
from __future__ import annotations

import pytest

from conftest import ROOT
from serverkit import bearer, set_target, CLIENT, ORG, week
from platformkit import SECRETS, platforms_config, signed_jdy
from simulator import Simulator

WEEKS = [(5, 0.9), (5, 0.88), (3, 0.85), (3, 0.8), (2, 0.7), (4, 0.9)]


@pytest.fixture(scope="module")
def db_kind() -> str:
    return "sqlite"


@pytest.fixture
def app_config() -> dict:
    return platforms_config()


def answer(r) -> dict:
    """A submission's answer: a 飞书 record event answers per record action (one here)."""
    body = r.json
    if "actions" in body:
        [body] = body["actions"]
    return body


def play_fintech_q3(sim: Simulator, app, client) -> list:
    """Weeks 1–6 → yellow at week 5 → 80 → 70 approved by manager then HRBP → audit →
    a second change in the cycle refused.  Returns every decision the platform was shown."""
    shown = []
    for n, (opportunities, coverage) in enumerate(WEEKS, 1):
        r = sim.push("weekly_metrics", week(n, opportunities, coverage))
        assert r.status_code == 200, r.json
        shown.append(answer(r)["decisions"])
    yellow = [next(d for d in ds if d["rule"] == "健康度黄灯")["value"] for ds in shown]
    assert yellow == [False, False, False, False, True, False]
    set_target(app, "east.li", "new_customers", 80)
    change = sim.fill("target_change", rep="east.li", date="2026-08-12", metric="new_customers",
                      current_target=80, proposed_target=70, reason="竞品低价套餐冲击",
                      evidence=["校准会纪要 2026-08-12"], meeting="calibration", requested_by="east.li")
    r = sim.push("target_change", change)
    assert r.status_code == 200, r.json
    shown.append(answer(r)["decisions"])
    final = sim.follow(answer(r)["approval"], workflow="目标变更",
                       credentials=lambda person: bearer(app, person))
    assert final["status"] == "approved"
    assert [s["approver"] for s in final["steps"]] == ["east.mgr", "hr.east"]
    assert client.get("/v1/targets?subject=east.li").json["targets"][0]["value"] == 70
    [entry] = client.get("/v1/audit?subject=east.li&action=target_changed").json["items"]
    assert (entry["before"], entry["after"], entry["reason"]) == (80, 70, "竞品低价套餐冲击")
    assert entry["ruleset_version"] == client.get("/v1/rulesets/current").json["version"]
    again = dict(change, date="2026-08-20", current_target=70, proposed_target=65, reason="再调")
    r = sim.push("target_change", again)
    refused = next(d for d in answer(r)["decisions"] if d["rule"] == "目标变更")
    assert refused["value"] is False and answer(r)["approval"] is None
    assert "每个校准周期只能正式调整一次目标" in refused["explanation"]
    shown.append(answer(r)["decisions"])
    return shown


@pytest.mark.parametrize("platform", ["jiandaoyun", "mingdao", "yida", "feishu"])
def test_fintech_q3_through_a_platform_matches_the_generic_webhook(platform, fresh_app):
    results = {}
    for name in ("generic", platform):
        app, hooks = fresh_app(name)
        client = hooks.client
        sim = Simulator(name, client, SECRETS[name], app.config["TZ"], client_name=CLIENT)
        results[name] = play_fintech_q3(sim, app, client)
    assert results[platform] == results["generic"]


def facts_count(app) -> int:
    from sqlalchemy import func, select
    from trimtab.server.storage.models import Fact
    with app.extensions["trimtab.sessions"]() as s:
        return s.scalar(select(func.count()).select_from(Fact))


@pytest.mark.parametrize("platform", ["jiandaoyun", "mingdao", "yida", "feishu"])
def test_a_wrong_secret_in_any_scheme_is_401_and_stores_nothing(platform, app, client):
    sim = Simulator(platform, client, "not-the-secret", app.config["TZ"])
    r = sim.push("weekly_metrics", week(1, 5, 0.9))
    assert r.status_code == 401 and r.json["error"]["code"].startswith("signature_"), r.json
    assert facts_count(app) == 0


@pytest.mark.parametrize("db_kind", ["sqlite", "postgresql"])
def test_jiandaoyun_retries_unknown_widgets_and_other_ops(app, client):
    sim = Simulator("jiandaoyun", client, SECRETS["jiandaoyun"], app.config["TZ"])
    first = sim.push("weekly_metrics", week(1, 5, 0.9), delivery="jdy-1")
    again = sim.retry_last()                             # 简道云 retries with the same id
    assert first.status_code == again.status_code == 200
    assert again.json == first.json and again.headers["X-Trimtab-Replayed"] == "true"
    assert facts_count(app) == 1
    # A field the mapping file does not know: 422 naming the widget; nothing stored.
    url, body, headers = sim.sent[-1]
    bad = body.replace(b'"_widget_', b'"_widget_9', 1)
    r = signed_jdy(client, url.split("?")[0], bad, "jdy-2")
    assert r.status_code == 422 and r.json["error"]["code"] == "unknown_widget"
    assert r.json["error"]["path"].startswith("$.data._widget_9")
    assert facts_count(app) == 1
    # A push that carries no record (a form's change) is acknowledged and ignored.
    changed = body.replace(b'"op": "data_create"', b'"op": "form_update"')
    r = signed_jdy(client, url.split("?")[0], changed, "jdy-3")
    assert r.status_code == 200 and r.json["ignored"] == "form_update" and r.json["reason"]
    assert facts_count(app) == 1


def test_feishu_url_verification_and_an_unconfigured_platform(app, client):
    import hashlib
    import json
    import time
    from simulator import lark_encrypt
    key = SECRETS["feishu"]
    body = json.dumps({"encrypt": lark_encrypt(json.dumps(
        {"type": "url_verification", "challenge": "c-42", "token": "t"}).encode(), key)}).encode()
    stamp, nonce = str(int(time.time())), "abc"
    sig = hashlib.sha256((stamp + nonce + key).encode() + body).hexdigest()
    r = client.post("/platforms/feishu/hooks/weekly_metrics", data=body, headers={
        "X-Lark-Signature": sig, "X-Lark-Request-Timestamp": stamp, "X-Lark-Request-Nonce": nonce})
    assert r.status_code == 200 and r.json == {"challenge": "c-42"}
    app.config["PLATFORMS"].pop("yida")
    r = Simulator("yida", client, SECRETS["yida"], app.config["TZ"]).push("weekly_metrics", week(1, 5, 0.9))
    assert r.status_code == 401 and "TRIMTAB_YIDA_API_KEY" in r.json["error"]["message"]


@pytest.mark.parametrize("platform", ["jiandaoyun", "feishu", "yida"])
def test_a_sub_form_split_through_a_platform_matches_the_generic_webhook(platform, fresh_app):
    """Seed 004's weighted split: a sub-form of provinces, each with its own widget keys."""
    import json
    demo = json.loads((ROOT / "rules" / "demo" / "medical_split.json").read_text(encoding="utf-8"),
                      parse_float=__import__("decimal").Decimal)
    shown = {}
    for name in ("generic", platform):
        app, hooks = fresh_app(name)
        sim = Simulator(name, hooks.client, SECRETS[name], app.config["TZ"], client_name=CLIENT)
        r = sim.push(demo["form"], demo["facts"])
        assert r.status_code == 200, r.json
        shown[name] = answer(r)["decisions"]
        if name == "jiandaoyun":          # the provinces went as widget-keyed records
            record = json.loads(sim.sent[-1][1])["data"]
            rows = next(v for v in record.values() if isinstance(v, list))
            assert rows and all(k.startswith("_widget_") for row in rows for k in row)
    split = next(d for d in shown[platform] if d["kind"] == "split")
    assert split["value"] and shown[platform] == shown["generic"]


def test_a_feishu_retry_encrypted_afresh_is_the_same_delivery(app, client):
    """飞书 may encrypt a retried event with a new IV: the delivery is recognised by its event
    id and decrypted body, answered as before, and stored once."""
    import hashlib
    import json
    import time
    from simulator import lark_encrypt
    key = SECRETS["feishu"]
    sim = Simulator("feishu", client, key, app.config["TZ"])
    first = sim.push("weekly_metrics", week(1, 5, 0.9), delivery="evt-1")
    assert first.status_code == 200, first.json
    url, body, _ = sim.sent[-1]
    from trimtab.server.plugin.signed import lark_decrypt
    clear = lark_decrypt(json.loads(body)["encrypt"], key)
    again = json.dumps({"encrypt": lark_encrypt(clear, key)}).encode()
    assert again != body
    stamp, nonce = str(int(time.time())), "n2"
    sig = hashlib.sha256((stamp + nonce + key).encode() + again).hexdigest()
    r = client.post(url, data=again, headers={"X-Lark-Signature": sig, "X-Lark-Request-Timestamp": stamp,
                                              "X-Lark-Request-Nonce": nonce})
    assert r.status_code == 200 and r.headers["X-Trimtab-Replayed"] == "true"
    assert r.json == first.json and facts_count(app) == 1


@pytest.mark.parametrize("platform,column,platform_id", [
    ("feishu", "feishu_open_id", "ou_7d8a6e6df7621556ce0d21922b676706"),
    ("jiandaoyun", "jiandaoyun_username", "lidong"),
    ("yida", "dingtalk_userid", "0112345678901234")])
def test_a_member_field_with_the_platforms_user_id_maps_to_the_person(platform, column, platform_id, app, client):
    """The trust issue's reproduction: a 飞书 person field carrying an open_id was 422
    unknown_subject; the org chart's platform-id columns now map it to the person."""
    from sqlalchemy import select
    from trimtab.server.storage.models import Fact
    sim = Simulator(platform, client, SECRETS[platform], app.config["TZ"])
    r = sim.push("weekly_metrics", dict(week(1, 5, 0.9), rep=platform_id))
    assert r.status_code == 422, r.json          # no one holds that id yet
    people = [dict(p, **{column: platform_id}) if p["id"] == "east.li" else p for p in ORG["people"]]
    assert client.post("/v1/org/people", json={"people": people}).status_code == 200
    r = sim.push("weekly_metrics", dict(week(1, 5, 0.9), rep=platform_id))
    assert r.status_code == 200, r.json
    with app.extensions["trimtab.sessions"]() as s:
        [fact] = s.scalars(select(Fact)).all()
    assert (fact.subject, fact.rep) == ("east.li", "east.li") and platform_id not in fact.payload


def test_an_unmapped_feishu_open_id_is_named_as_such(app, client):
    sim = Simulator("feishu", client, SECRETS["feishu"], app.config["TZ"])
    r = sim.push("weekly_metrics", dict(week(1, 5, 0.9), rep="ou_nobody"))
    assert r.status_code == 422 and r.json["error"]["code"] == "unknown_platform_user"
    assert "feishu_open_id" in r.json["error"]["message"]
