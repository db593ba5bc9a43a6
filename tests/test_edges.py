"""Hostile input at the edge (issue 13's reproductions that the HTTP layer refuses): no 500,
no stall — a 4xx with code, message and path, and nothing stored."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from serverkit import Hooks, as_admin, week
from trimtab.server.storage.models import Fact


@pytest.fixture
def app_config():
    return {"LANG": "en", "PLATFORMS": {"jiandaoyun": "jdy", "mingdao": "md", "yida": "yd", "feishu": "lark"}}


@pytest.fixture
def world(app, hooks):
    return app, hooks


def facts(app) -> int:
    with app.extensions["trimtab.sessions"]() as s:
        return s.scalar(select(func.count()).select_from(Fact))


NON_ASCII = "中文".encode().decode("latin-1")      # what a header carrying UTF-8 bytes reads as


@pytest.mark.parametrize("header", ["Authorization", "X-Trimtab-Signature", "X-Api-Key",
                                    "X-JDY-Signature", "X-Lark-Signature"])
def test_a_non_ascii_secret_header_is_401_not_500(world, header):
    app, hooks = world
    client = app.test_client()
    body = b'{"rep": "east.li"}'
    targets = {"Authorization": "/v1/me", "X-Trimtab-Signature": "/hooks/weekly_metrics",
               "X-Api-Key": "/platforms/yida/hooks/weekly_metrics",
               "X-JDY-Signature": "/platforms/jiandaoyun/hooks/weekly_metrics?nonce=1&timestamp=1",
               "X-Lark-Signature": "/platforms/feishu/hooks/weekly_metrics"}
    headers = dict(Hooks(None).headers(body)) if header == "X-Trimtab-Signature" else {}
    headers[header] = NON_ASCII
    if header == "X-Lark-Signature":
        import time
        headers.update({"X-Lark-Request-Timestamp": str(int(time.time())), "X-Lark-Request-Nonce": "n"})
    method = client.get if header == "Authorization" else client.post
    r = method(targets[header], data=body, headers=headers)
    assert r.status_code == 401, (r.status_code, r.get_json(silent=True))
    assert facts(app) == 0


def test_a_non_ascii_mingdao_url_token_is_401(world):
    app, _ = world
    r = app.test_client().post("/platforms/mingdao/hooks/weekly_metrics/%E4%B8%AD", json={})
    assert r.status_code == 401


@pytest.mark.parametrize("path", ["/v1/approvals/99999999999999999999",
                                  "/v1/approvals/9223372036854775808/decision",
                                  "/v1/meetings/99999999999999999999/brief",
                                  "/v1/delegations/0"])
def test_ids_beyond_64_bits_are_404(world, path):
    app, _ = world
    client = as_admin(app.test_client())
    r = client.delete(path) if "delegations" in path else \
        client.post(path, json={"decision": "approve"}) if path.endswith("decision") else client.get(path)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/v1/decisions/9007199254740992/why", "/v1/decisions/99999999999999999999/why",
                                  "/v1/decisions/9007199254740991/why", "/v1/decisions/2147483648/why"])
def test_a_decision_id_beyond_its_bigint_range_or_unknown_is_404(world, path):
    """Decisions' ids are BIGINT up to 2^53 − 1 (migration 0022): beyond it, or none stored,
    is a 404 — never a database error."""
    app, _ = world
    r = as_admin(app.test_client()).get(path)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/v1/approvals/2147483648", "/v1/approvals/1237527313341548",
                                  "/v1/meetings/1627447588745227264/brief",
                                  "/v1/notifications/1237527313341548/retry",
                                  "/v1/delegations/2147483648"])
def test_ids_beyond_the_32_bit_columns_are_404(world, path):
    """Schemathesis found these 500 on PostgreSQL (integer out of range): the id columns are
    INTEGER, so an id the column cannot hold names nothing."""
    app, _ = world
    client = as_admin(app.test_client())
    r = client.delete(path) if "delegations" in path else \
        client.post(path) if path.endswith("retry") else client.get(path)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


@pytest.mark.parametrize("route, highest", [(r, 2 ** 31 - 1) for r in ("/v1/audit", "/v1/notifications",
                                                                       "/v1/meetings", "/v1/approvals")]
                         + [("/v1/decisions", 2 ** 53 - 1)])      # BIGINT, exact in JSON (migration 0022)
def test_a_cursor_beyond_the_id_columns_is_400(world, route, highest):
    """after=9999999999999 (schemathesis, 500 on PostgreSQL before)."""
    app, _ = world
    for beyond in (highest + 1, 10 ** 19):
        r = as_admin(app.test_client()).get(f"{route}?after={beyond}")
        assert r.status_code == 400 and r.json["error"]["path"] == "$.after"
    assert as_admin(app.test_client()).get(f"{route}?after={highest}").status_code == 200


@pytest.mark.parametrize("query", ["status=pending&status=approved", "subject=" + "x" * 4001,
                                   "status=-605"])
def test_query_parameters_the_openapi_forbids_are_400(world, query):
    """Schemathesis: a repeated parameter, one over 4,000 characters and a status outside the
    enum were answered 200 though the OpenAPI forbids them."""
    app, _ = world
    r = as_admin(app.test_client()).get(f"/v1/approvals?{query}")
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_request"


@pytest.mark.parametrize("route", ["/v1/targets", "/v1/decisions", "/v1/audit", "/v1/approvals",
                                   "/v1/dashboards/health-radar"])
def test_a_person_filter_over_128_characters_is_400(world, route):
    """Schemathesis: /v1/decisions?subject= of 200 characters was answered 200 though the
    OpenAPI (and the column) hold 128."""
    app, _ = world
    name = "rep" if "radar" in route else "subject"
    r = as_admin(app.test_client()).get(f"{route}?{name}={'x' * 129}")
    assert r.status_code == 400 and r.json["error"]["path"] == f"$.{name}"


@pytest.mark.parametrize("query", ["to=", "lang="])
def test_an_empty_report_date_or_language_is_400(world, query):
    """Schemathesis: `to=` (not a date-time) and `lang=` (not zh or en) were read as absent."""
    app, _ = world
    r = as_admin(app.test_client()).get(f"/v1/reports/weekly_actions?{query}")
    assert r.status_code in (400, 422) and r.json["error"]["path"] == "$." + query[:-1]


@pytest.mark.parametrize("route", ["/v1/audit", "/v1/decisions", "/v1/notifications", "/v1/meetings"])
def test_a_cursor_beyond_64_bits_or_nul_in_a_filter_is_400(world, route):
    app, _ = world
    client = as_admin(app.test_client())
    assert client.get(f"{route}?after=99999999999999999999").status_code == 400
    r = client.get(f"{route}?subject=a%00b&kind=a%00b")
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_request"


@pytest.mark.parametrize("route", ["/hooks/weekly_metrics", "/v1/evaluate"])
def test_deeply_nested_json_is_400(world, route):
    app, hooks = world
    body = b"[" * 100_000 + b"]" * 100_000
    if route.startswith("/hooks"):
        r = hooks.client.post(route, data=body, headers=Hooks(None).headers(body))
    else:
        r = as_admin(app.test_client()).post(route, data=body, content_type="application/json")
    assert r.status_code == 400 and r.json["error"]["code"] in ("too_deep", "malformed_json")
    assert facts(app) == 0


def test_a_method_not_allowed_says_which_are(world):
    app, _ = world
    r = app.test_client().delete("/healthz")
    assert r.status_code == 405 and set(r.headers["Allow"].split(", ")) >= {"GET"}


def test_a_chunked_body_over_the_limit_is_413_and_a_small_one_works(world):
    """Through a real server: the test client does not send chunked bodies."""
    import threading

    import requests
    from werkzeug.serving import make_server
    app, _ = world
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.port}/hooks/weekly_metrics"
        for body, status in ((b'{"rep": "' + b"x" * (2 * 1024 * 1024) + b'"}', 413),
                             (__import__("json").dumps(week(1, 5, 0.9)).encode(), 200)):
            chunks = (body[i:i + 65536] for i in range(0, len(body), 65536))
            r = requests.post(url, data=chunks, headers=Hooks(None).headers(body), timeout=30)
            assert r.status_code == status, r.text[:300]
    finally:
        server.shutdown()
    assert facts(app) == 1


# ---------------------------------------------------------------------- replays
def test_a_captured_request_under_a_new_delivery_id_is_refused(world):
    """Scheme v2 signs the delivery id: the same bytes under another id do not verify."""
    app, hooks = world
    body = json.dumps(week(1, 5, 0.9)).encode()
    headers = Hooks(None).headers(body, delivery="d-1")
    assert hooks.client.post("/hooks/weekly_metrics", data=body, headers=headers).status_code == 200
    again = dict(headers, **{"X-Trimtab-Delivery": "d-2"})
    r = hooks.client.post("/hooks/weekly_metrics", data=body, headers=again)
    assert r.status_code == 401 and r.json["error"]["code"] == "signature_invalid"
    assert facts(app) == 1
    same = hooks.client.post("/hooks/weekly_metrics", data=body, headers=headers)
    assert same.status_code == 200 and same.headers["X-Trimtab-Replayed"] == "true"


def test_a_legacy_signature_is_good_for_one_delivery_id(world):
    """Scheme v1 does not sign the delivery id: the signature is remembered with its delivery."""
    app, hooks = world
    body = json.dumps(week(1, 5, 0.9)).encode()
    headers = Hooks(None).headers(body, delivery="d-1", scheme="v1")
    assert hooks.client.post("/hooks/weekly_metrics", data=body, headers=headers).status_code == 200
    r = hooks.client.post("/hooks/weekly_metrics", data=body,
                          headers=dict(headers, **{"X-Trimtab-Delivery": "d-2"}))
    assert r.status_code == 409 and r.json["error"]["code"] == "replayed_request"
    assert facts(app) == 1


@pytest.mark.parametrize("db_kind", ["sqlite"])
@pytest.mark.app_config(SIGNATURE_V1_UNTIL=dt.date(2020, 1, 1))
def test_legacy_signatures_are_refused_after_their_date(hooks):
    body = json.dumps(week(1, 5, 0.9)).encode()
    r = hooks.client.post("/hooks/weekly_metrics", data=body, headers=Hooks(None).headers(body, scheme="v1"))
    assert r.status_code == 401 and r.json["error"]["code"] == "signature_scheme_retired"
    assert hooks.post("weekly_metrics", week(1, 5, 0.9)).status_code == 200


def test_a_captured_jiandaoyun_push_under_a_new_deliver_id_is_refused(world):
    from simulator import Simulator
    app, _ = world
    client = as_admin(app.test_client())
    sim = Simulator("jiandaoyun", client, "jdy", app.config["TZ"])
    assert sim.push("weekly_metrics", week(1, 5, 0.9), delivery="jdy-1").status_code == 200
    url, body, headers = sim.sent[-1]
    r = client.post(url, data=body, headers=dict(headers, **{"X-JDY-DeliverId": "jdy-2"}))
    assert r.status_code == 409 and r.json["error"]["code"] == "replayed_request"
    assert facts(app) == 1


@pytest.mark.parametrize("body, code", [
    (b"id,role\nsales.x\rsales.y,rep\n", "bad_rows"),            # a lone CR: a line end, row 3 lacks its role
    (b"id,role\n" + b"x" * 140_000 + b",rep\n", "bad_file")])    # a field over csv's field size limit
def test_an_org_csv_the_csv_module_raised_on_is_422(world, body, code):
    """Schemathesis (100,000-case run): a CSV that csv.reader raised on was a 500."""
    app, _ = world
    r = as_admin(app.test_client()).post("/v1/org/import", data=body, content_type="text/csv")
    assert r.status_code == 422 and r.json["error"]["code"] == code, r.json


def test_an_org_csv_with_cr_line_ends_imports(world):
    app, _ = world
    body = b"id,role\rcr.one,rep\rcr.two,rep\r"
    r = as_admin(app.test_client()).post("/v1/org/import", data=body, content_type="text/csv")
    assert r.status_code == 200 and r.json["stored"] == 2, r.json
    people = {p["id"] for p in as_admin(app.test_client()).get("/v1/org/people").json["people"]}
    assert {"cr.one", "cr.two"} <= people


MEETING = {"title": "t", "region": "east", "attendees": ["east.mgr"]}


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
                                   "0001-01-01T05:00:00", "9999-12-31T23:00:00Z",
                                   "9999-12-31T20:00:00", "1899-12-31T23:59:59Z"])
def test_a_meeting_time_beyond_the_calendar_is_422(world, stamp):
    """Schemathesis (100,000-case run): a time whose UTC (or local) form is off the calendar was
    a 500 when stored, or later when its brief was asked for."""
    app, _ = world
    client = as_admin(app.test_client())
    r = client.post("/v1/meetings", json={**MEETING, "starts_at": stamp})
    assert r.status_code == 422 and r.json["error"]["path"] == "$.starts_at", r.json
    assert client.get("/v1/meetings").json["items"] == []


@pytest.mark.parametrize("stamp", ["1900-01-01T00:00:00Z", "9998-12-31T23:59:59+08:00"])
def test_a_meeting_at_the_ends_of_the_range_is_stored_and_briefed(world, stamp):
    app, _ = world
    client = as_admin(app.test_client())
    r = client.post("/v1/meetings", json={**MEETING, "starts_at": stamp})
    assert r.status_code == 201, r.json
    assert client.get(f"/v1/meetings/{r.json['id']}/brief?lang=en").status_code == 200


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00%2B01:00", "0001-01-02T00:00:00Z",
                                   "9999-12-31T23:00:00-05:00"])
def test_a_report_end_beyond_the_calendar_is_422(world, stamp):
    app, _ = world
    r = as_admin(app.test_client()).get(f"/v1/reports/weekly_actions?to={stamp}")
    assert r.status_code == 422 and r.json["error"]["path"] == "$.to", r.json
