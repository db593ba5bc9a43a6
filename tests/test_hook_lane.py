"""The webhook's lane (server/web/hook_lane.py) answers what Flask's route answers: the same
status, headers and bytes, the same rows stored and the same counts, for every kind of request
a platform (or someone else) sends to /hooks/<form> — and it does take the plain webhook."""
from __future__ import annotations

import io
import json
import time

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import OperationalError
from werkzeug.test import EnvironBuilder

from serverkit import CLIENT, SECRET, Hooks, load_org, make_app, migrated_database, samples, week
from trimtab.server.core.security import sign, signature_header
from trimtab.server.domain import submission

# Answers differ in these alone: the access log's id of each request, and the `Vary: Cookie`
# Flask-Login adds after reading a webhook's (empty) session.
IGNORED_HEADERS = {"X-Request-Id", "Vary"}


def body_of(facts) -> bytes:
    return facts if isinstance(facts, bytes) else json.dumps(facts, ensure_ascii=False).encode()


def signed(body: bytes, delivery: str, *, secret=SECRET, stamp=None, scheme="v2", lang="en") -> dict:
    # Stamped when signed, not when the module was imported: on a slow machine a module's
    # tests can start more than the 300 s the server tolerates after collection.
    stamp = str(int(time.time())) if stamp is None else stamp
    signature = signature_header(secret, stamp, delivery, body) if scheme == "v2" \
        else "sha256=" + sign(secret, stamp, body)
    return {"X-Trimtab-Client": CLIENT, "X-Trimtab-Timestamp": stamp, "X-Trimtab-Signature": signature,
            "X-Trimtab-Delivery": delivery, "Accept-Language": lang, "Content-Type": "application/json"}


def low(n: int) -> dict:
    return week(n, 1, 0.5)           # fires the shipped rules' alerts


# (name, method, path, body, headers): sent in this order to both apps.
def requests() -> list[tuple]:
    # One stamp for the whole list: a retry and a v1 replay must carry the very signature
    # sent before them.
    now = str(int(time.time()))

    def stamped(body, delivery, **kw):
        return signed(body, delivery, **{"stamp": now, **kw})

    first, alert = body_of(week(1, 5, 0.9)), body_of(low(2))
    v1 = body_of(week(3, 5, 0.9))
    bad_percent = body_of(dict(week(4, 5, 0.9), pipeline_coverage=70))
    unsigned = {k: v for k, v in stamped(first, "d-nodelivery").items() if k != "X-Trimtab-Delivery"}
    return [
        ("first", "POST", "/hooks/weekly_metrics", first, stamped(first, "d-1")),
        ("an alert, in Chinese", "POST", "/hooks/weekly_metrics", alert, stamped(alert, "d-2", lang="zh")),
        ("a retry", "POST", "/hooks/weekly_metrics", alert, stamped(alert, "d-2", lang="zh")),
        ("another body under a used id", "POST", "/hooks/weekly_metrics", first, stamped(first, "d-2")),
        ("a wrong signature", "POST", "/hooks/weekly_metrics", first, stamped(first, "d-3", secret="wrong")),
        ("an old stamp", "POST", "/hooks/weekly_metrics", first, stamped(first, "d-4", stamp="1000")),
        ("no delivery id", "POST", "/hooks/weekly_metrics", first, unsigned),
        ("not JSON", "POST", "/hooks/weekly_metrics", b"{nope", stamped(b"{nope", "d-5")),
        ("not UTF-8", "POST", "/hooks/weekly_metrics", b'{"rep": "\xff"}', stamped(b'{"rep": "\xff"}', "d-6")),
        ("a field refused", "POST", "/hooks/weekly_metrics", body_of(dict(week(4, 5, 0.9), effective_visits="x")),
         stamped(body_of(dict(week(4, 5, 0.9), effective_visits="x")), "d-7", lang="zh")),
        ("a percent as a number", "POST", "/hooks/weekly_metrics", bad_percent, stamped(bad_percent, "d-8")),
        ("a JSON array", "POST", "/hooks/weekly_metrics", b"[1]", stamped(b"[1]", "d-9")),
        ("empty", "POST", "/hooks/weekly_metrics", b"", stamped(b"", "d-10")),
        ("scheme v1", "POST", "/hooks/weekly_metrics", v1, stamped(v1, "d-11", scheme="v1")),
        ("v1 replayed under another id", "POST", "/hooks/weekly_metrics", v1, stamped(v1, "d-12", scheme="v1")),
        ("an unknown form", "POST", "/hooks/nope", first, stamped(first, "d-13")),
        ("a trailing slash", "POST", "/hooks/weekly_metrics/", first, stamped(first, "d-14")),
        ("a query", "POST", "/hooks/weekly_metrics?x=1", first, stamped(first, "d-15")),
        ("a query twice", "POST", "/hooks/weekly_metrics?x=1&x=2", first, stamped(first, "d-16")),
        ("too large", "POST", "/hooks/weekly_metrics", b" " * (1024 * 1024 + 1),
         stamped(b" " * (1024 * 1024 + 1), "d-17")),
        ("GET", "GET", "/hooks/weekly_metrics", b"", {}),
        ("a later week", "POST", "/hooks/weekly_metrics", body_of(low(5)), stamped(body_of(low(5)), "d-18")),
    ]


def answer(app, method: str, path: str, body: bytes, headers: dict):
    r = app.test_client().open(path, method=method, data=body, headers=headers)
    return r.status_code, {k: v for k, v in r.headers.items() if k not in IGNORED_HEADERS}, r.get_data()


def stored(app) -> dict:
    """Every table's rows, without the columns that hold the time they were written."""
    engine = app.extensions["trimtab.engine"]
    found = {}
    with engine.connect() as conn:
        for table in sorted(inspect(engine).get_table_names()):
            if table in ("alembic_version", "audit_log", "active_ruleset"):
                continue
            columns = [c["name"] for c in inspect(engine).get_columns(table)
                       if not (c["name"].endswith("_at") or c["name"] in ("hash", "prev_hash"))]
            rows = conn.execute(text(f'SELECT {", ".join(columns)} FROM "{table}" ORDER BY 1')).all()
            found[table] = [tuple(r) for r in rows]
    return found


def counted(app) -> dict:
    scrape = app.test_client().get("/metrics", headers={"Authorization": "Bearer admin-token-for-tests"})
    assert scrape.status_code == 200
    return {k: v for k, v in samples(scrape.get_data(as_text=True)).items()
            if k[0].startswith(("trimtab_http_requests", "trimtab_webhooks", "trimtab_alerts"))
            and not k[0].endswith("_created") and "/metrics" not in str(k[1])}


@pytest.fixture
def two_apps(db_kind, tmp_path):
    """The same server twice on fresh databases: with the lane, and with Flask alone."""
    made = []
    yield make_two(made, db_kind, tmp_path)
    for app, cleanup in made:
        app.extensions["trimtab.engine"].dispose()
        cleanup()


def make_two(made: list, db_kind: str, tmp_path, **config) -> tuple:
    for lane in (True, False):
        (tmp_path / str(lane)).mkdir()
        url, cleanup = migrated_database(db_kind, tmp_path / str(lane))
        app = make_app(url, HOOK_LANE=lane, AUDIT_KEY="same-key", **config)
        load_org(app)
        made.append((app, cleanup))
    return made[-2][0], made[-1][0]


def test_the_lane_answers_every_request_as_flask_does(two_apps):
    lane, flask_only = two_apps
    for name, method, path, body, headers in requests():
        assert answer(lane, method, path, body, headers) == answer(flask_only, method, path, body, headers), name
    assert stored(lane) == stored(flask_only)
    assert stored(lane)["decision_sets"], "the alerts stored decisions"
    assert counted(lane) == counted(flask_only)


def test_the_lane_takes_the_plain_webhook_and_flask_the_rest(two_apps, monkeypatch):
    lane, _ = two_apps
    dispatched = []
    real = lane.full_dispatch_request
    monkeypatch.setattr(lane, "full_dispatch_request", lambda: (dispatched.append(1), real())[1])
    hooks = Hooks(lane.test_client())
    r = hooks.post("weekly_metrics", week(1, 5, 0.9), delivery="plain")
    assert r.status_code == 200 and dispatched == []
    assert r.headers["X-Trimtab-Ruleset-Version"] == lane.extensions["trimtab.rules"].current.version
    r = hooks.post("weekly_metrics", week(1, 5, 0.9), delivery="plain")
    assert r.headers["X-Trimtab-Replayed"] == "true" and dispatched == []
    assert hooks.client.post("/hooks/weekly_metrics?x=1", data=b"{}").status_code == 401
    assert dispatched == [1]


def raw_environ(path: str, body: bytes, headers: dict, claimed: int) -> dict:
    environ = EnvironBuilder(path=path, method="POST", data=body, headers=headers).get_environ()
    environ["CONTENT_LENGTH"] = str(claimed)
    environ["wsgi.input"] = io.BytesIO(body)
    return environ


def call(app, environ) -> tuple:
    got = {}

    def start_response(status, headers, exc_info=None):
        got["status"], got["headers"] = status, [h for h in headers if h[0] not in IGNORED_HEADERS]
    body = b"".join(app(environ, start_response))
    return got["status"], got["headers"], body


def test_a_body_shorter_than_its_length_is_refused_alike(two_apps):
    body = body_of(week(1, 5, 0.9))
    answers = [call(app, raw_environ("/hooks/weekly_metrics", body, signed(body, "short"), len(body) + 10))
               for app in two_apps]
    assert answers[0] == answers[1]
    assert answers[0][0].startswith("400")


@pytest.mark.parametrize("failure", [OperationalError("SELECT 1", {}, Exception("down")),
                                     RuntimeError("a bug")])
def test_a_failure_inside_is_answered_alike(two_apps, monkeypatch, failure):
    def failing(*args, **kwargs):
        raise failure
    monkeypatch.setattr(submission, "submit", failing)
    body = body_of(week(1, 5, 0.9))
    answers = [answer(app, "POST", "/hooks/weekly_metrics", body, signed(body, "fails")) for app in two_apps]
    assert answers[0] == answers[1]
    assert answers[0][0] == (503 if isinstance(failure, OperationalError) else 500)
    assert counted(two_apps[0]) == counted(two_apps[1])


class Resetting(io.BytesIO):
    """A client that resets the connection mid-body, however the stream is read."""
    def read(self, *args):
        raise ConnectionResetError("the client reset the connection")

    read1 = readinto = readline = read


def test_a_client_gone_mid_body_is_refused_alike(two_apps):
    """The stream fails (a reset), or ends early where the server says the body ends
    (gunicorn's wsgi.input_terminated): Flask's 400, and Flask's reading of what came."""
    body = body_of(week(1, 5, 0.9))
    for delivery, terminated, stream in (("reset", False, Resetting(body)),
                                         ("cut", True, io.BytesIO(body[: len(body) // 2]))):
        answers = []
        for app in two_apps:
            environ = raw_environ("/hooks/weekly_metrics", body, signed(body, delivery), len(body))
            environ["wsgi.input"], environ["wsgi.input_terminated"] = stream, terminated
            stream.seek(0)
            answers.append(call(app, environ))
        assert answers[0] == answers[1], delivery
        assert answers[0][0][:3] == ("400" if delivery == "reset" else "401"), answers[0]
    assert counted(two_apps[0]) == counted(two_apps[1])


def test_a_path_that_is_not_utf8_is_flasks_even_when_its_latin1_reading_names_a_form(two_apps):
    """PATH_INFO carries the path's bytes as latin-1: b"caf\\xe9" reads as "café" that way,
    and as no form at all to Flask (its routing reads UTF-8)."""
    body = body_of(week(1, 5, 0.9))
    answers = []
    for app in two_apps:
        schemas = app.extensions["trimtab.rules"].current.schemas
        schemas["café"] = schemas["weekly_metrics"]
        try:
            environ = raw_environ("/hooks/x", body, signed(body, "latin"), len(body))
            environ["PATH_INFO"] = "/hooks/caf\xe9"
            answers.append(call(app, environ))
        finally:
            del schemas["café"]
    assert answers[0] == answers[1]
    assert answers[0][0].startswith("400"), answers[0]


@pytest.fixture
def two_unchecked_apps(db_kind, tmp_path):
    """two_apps without the suite's check of every answer against the contract: it turns any
    500 into the same `http_error`, which would hide how each way answered."""
    made = []
    yield make_two(made, db_kind, tmp_path, CHECK_RESPONSES=False)
    for app, cleanup in made:
        app.extensions["trimtab.engine"].dispose()
        cleanup()


def test_a_failing_rule_set_check_and_a_cookie_are_answered_alike(two_unchecked_apps, monkeypatch):
    two_apps = two_unchecked_apps
    body = body_of(week(1, 5, 0.9))
    answers = []
    for n, app in enumerate(two_apps):      # a browser's session, which Flask refreshes
        session = app.session_interface.get_signing_serializer(app).dumps(
            {"_permanent": True, "_user_id": "nobody", "_fresh": True})
        client = app.test_client()
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], session)
        r = client.post("/hooks/weekly_metrics", data=body, headers=signed(body, f"cookie-{n}"))
        answers.append((r.status_code, "Set-Cookie" in r.headers))
    assert answers == [(200, True), (200, True)]
    for app in two_apps:
        def failing():
            raise OSError("git is gone")
        monkeypatch.setattr(app.extensions["trimtab.rules_follower"], "check", failing)
    answers = [answer(app, "POST", "/hooks/weekly_metrics", body, signed(body, "check")) for app in two_apps]
    assert answers[0] == answers[1] and answers[0][0] == 500
    assert "X-Trimtab-Ruleset-Version" not in answers[0][1]


def test_an_answer_outside_the_contract_is_caught_both_ways(two_apps, monkeypatch):
    """The suite checks every answer against the route's contract (CHECK_RESPONSES): the
    lane's answers too."""
    assert all(app.extensions.get("trimtab.response_check") for app in two_apps)
    monkeypatch.setattr(submission, "submit", lambda *a, **k: submission.Answer('{"not": "a decision"}'))
    body = body_of(week(1, 5, 0.9))
    answers = [answer(app, "POST", "/hooks/weekly_metrics", body, signed(body, "off-contract"))
               for app in two_apps]
    assert answers[0] == answers[1] and answers[0][0] == 500, answers[0]
