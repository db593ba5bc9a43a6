"""No input makes a 500: seeded junk at every route, signed and unsigned."""
from __future__ import annotations

import collections
import json
import random

import pytest

from serverkit import ADMIN_HEADERS, Hooks, load_org, week

JUNK = [None, True, 0, -1, 1e308, "", "x" * 300, [], {}, [1, "a"], {"a": {"b": []}},
        "2026-13-45", "NaN", 12.5, {"$ref": "#"}, "中文", "\u0000"]


def junk_value(rng):
    return rng.choice(JUNK)


def mutate(facts: dict, rng) -> dict:
    out = dict(facts)
    for _ in range(rng.randint(1, 4)):
        action = rng.randrange(3)
        key = rng.choice(list(out) or ["x"])
        if action == 0:
            out[key] = junk_value(rng)
        elif action == 1:
            out.pop(key, None)
        else:
            out[f"extra{rng.randint(0, 9)}"] = junk_value(rng)
    return out


@pytest.fixture(scope="module")
def db_kind():
    return "sqlite"


@pytest.fixture(scope="module")
def module_config() -> dict:
    return {"LANG": "en"}


@pytest.fixture(scope="module")
def client(shared_server):
    """One app for the module's junk (it keeps what it accepted), the org chart loaded:
    conftest's `shared_server`."""
    return shared_server[1].client


PLATFORM_SECRETS = {"jiandaoyun": "jdy", "mingdao": "md", "yida": "yd", "feishu": "fs"}


@pytest.fixture
def app_config() -> dict:
    """The `app` of the adapters' test (the others share the module's `client`): the
    platforms' secrets it signs its pushes with."""
    return {"PLATFORMS": PLATFORM_SECRETS}


def assert_not_500(r):
    assert r.status_code < 500, (r.status_code, r.get_data(as_text=True)[:300])
    if r.status_code >= 400:
        body = r.get_json()
        assert set(body["error"]) >= {"code", "message", "path"}


def test_junk_webhooks(client):
    rng = random.Random(2026)
    hooks = Hooks(client)
    samples = {"weekly_metrics": week(1, 5, 0.9),
               "target_change": {"rep": "east.li", "date": "2026-08-12", "metric": "m", "current_target": 80,
                                 "proposed_target": 70, "reason": "r", "meeting": "calibration",
                                 "requested_by": "east.mgr"},
               "target_plan": {"region": "s", "quarter": "2026-Q3", "total_target": 100, "provinces": [
                   {"name": "a", "market_potential": 1, "staffing_strength": 1, "strategic_priority": 1}]}}
    for i in range(150):
        form = rng.choice(list(samples))
        facts = mutate(samples[form], rng)
        body = json.dumps(facts).encode() if rng.random() < 0.9 else bytes(rng.randrange(256) for _ in range(40))
        assert_not_500(hooks.post(form, body, delivery=f"fuzz-{i}"))


def test_junk_api_bodies(client):
    rng = random.Random(7)
    routes = [("post", "/v1/evaluate"), ("post", "/v1/org/people"), ("post", "/v1/approvals/1/decision"),
              ("post", "/v1/targets/suggest"), ("post", "/v1/splits"), ("post", "/v1/rulesets/reload"),
              ("post", "/v1/org/import")]
    for _ in range(200):
        method, path = rng.choice(routes)
        payload = {k: junk_value(rng) for k in rng.sample(["form", "facts", "history", "people", "decision",
                                                           "actor", "rev", "rule", "evidence"], 3)}
        data = json.dumps(payload).encode() if rng.random() < 0.8 else b"\xff\xfe{"
        assert_not_500(getattr(client, method)(path, data=data, headers={**ADMIN_HEADERS,
                                                                          "Content-Type": "application/json"}))
    for path in ("/v1/decisions?limit=abc", "/v1/decisions?limit=0", "/v1/audit?after=-5",
                 "/v1/dashboards/health-radar", "/v1/forms/%00", "/v1/workflows/%E4", "/v1/approvals/999",
                 "/v1/targets?subject=%00"):
        assert_not_500(client.get(path))


def test_junk_through_every_platform_adapter(app):
    """Correctly signed pushes carrying junk values, junk records and junk envelopes: a clear
    4xx, never a 500."""
    import hashlib
    import time
    from simulator import Simulator
    secrets = PLATFORM_SECRETS
    c = load_org(app)
    rng = random.Random(11)
    samples = {"weekly_metrics": week(1, 5, 0.9),
               "target_plan": {"region": "s", "quarter": "2026-Q3", "total_target": 100, "provinces": [
                   {"name": "a", "market_potential": 1, "staffing_strength": 1, "strategic_priority": 1}]}}
    sent, unshaped = collections.Counter(), collections.Counter()
    for i in range(160):
        platform = rng.choice(list(secrets))
        sim = Simulator(platform, c, secrets[platform], app.config["TZ"])
        form = rng.choice(list(samples))
        facts = mutate(samples[form], rng)
        try:
            r = sim.push(form, facts, delivery=f"pf-{i}")
        except (KeyError, TypeError, ValueError, AttributeError):
            unshaped[platform] += 1         # the simulator cannot even shape this junk
            continue
        assert_not_500(r)
        sent[platform] += 1
    # Most junk reaches the server, through every adapter: the skips above stay the exception.
    print(f"\njunk pushes sent per platform {dict(sent)}, not shaped {dict(unshaped)}")
    assert sum(sent.values()) >= 120 and all(sent[p] >= 20 for p in secrets), (sent, unshaped)
    # Envelopes that are not what the platform sends, correctly signed.
    for body in (b"[]", b'{"op": "data_create", "data": []}', b'{"encrypt": "not base64!"}',
                 b'{"encrypt": "AAAA"}', b'{"schema": "2.0", "header": {}, "event": {"fields": 3}}', b"\xff"):
        stamp, nonce = str(int(time.time())), "n"
        jdy = hashlib.sha1(f"{nonce}:".encode() + body + f":jdy:{stamp}".encode()).hexdigest()
        assert_not_500(c.post(f"/platforms/jiandaoyun/hooks/weekly_metrics?timestamp={stamp}&nonce={nonce}",
                              data=body, headers={"X-JDY-Signature": jdy, "X-JDY-DeliverId": "x"}))
        lark = hashlib.sha256((stamp + nonce + "fs").encode() + body).hexdigest()
        assert_not_500(c.post("/platforms/feishu/hooks/weekly_metrics", data=body, headers={
            "X-Lark-Signature": lark, "X-Lark-Request-Timestamp": stamp, "X-Lark-Request-Nonce": nonce}))
        assert_not_500(c.post("/platforms/mingdao/hooks/weekly_metrics/md", data=body))
        assert_not_500(c.post("/platforms/yida/hooks/weekly_metrics", data=body, headers={"X-Api-Key": "yd"}))


def test_junk_meetings_and_reports(client):
    rng = random.Random(5)
    for _ in range(80):
        doc = {k: junk_value(rng) for k in rng.sample(["kind", "title", "starts_at", "region", "attendees"], 4)}
        assert_not_500(client.post("/v1/meetings", data=json.dumps(doc),
                                   headers={**ADMIN_HEADERS, "Content-Type": "application/json"}))
    for path in ("/v1/meetings?limit=x", "/v1/meetings/1/brief?lang=fr", "/v1/reports/weekly_actions?to=%00",
                 "/v1/reports/%E4", "/platforms/%00/forms/x"):
        assert_not_500(client.get(path))
