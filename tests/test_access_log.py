"""The access log and `trimtab send`'s address (issue 17, part 8).

Measured before: webhooks refused with 401/409/422 left nothing in the server's output, and
`trimtab send` posted to port 8000 whatever port the server ran on."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from conftest import ROOT
from gunicornkit import free_port
from serverkit import ADMIN, CLIENT, SECRET
from trimtab.server.core import access_log

WEEK = {"rep": "rep_001", "region": "east", "week_start": "2026-06-08", "effective_visits": 12}


@pytest.fixture
def lines():
    """The access log's lines while the test runs."""
    stream = io.StringIO()
    handler = access_log.logging.StreamHandler(stream)
    access_log.log.addHandler(handler)
    level = access_log.log.level
    access_log.log.setLevel(access_log.logging.INFO)
    yield lambda: [json.loads(x) for x in stream.getvalue().splitlines()]
    access_log.log.removeHandler(handler)
    access_log.log.setLevel(level)


def test_a_refused_webhook_leaves_a_line_with_its_code_and_no_secret(client, hooks, lines):
    body = json.dumps(WEEK).encode()
    headers = hooks.headers(body, secret="not-the-secret")
    headers["X-Request-Id"] = "probe-1"
    r = client.post("/hooks/weekly_metrics", data=body, headers=headers)
    assert r.status_code == 401 and r.headers["X-Request-Id"] == "probe-1"
    [line] = [x for x in lines() if x["path"] == "/hooks/weekly_metrics"]
    assert line["status"] == 401 and line["code"] == "signature_invalid"
    assert line["request_id"] == "probe-1" and line["client"] == CLIENT and line["method"] == "POST"
    assert line["ms"] >= 0 and line["bytes"] > 0
    text = json.dumps(lines())
    assert headers["X-Trimtab-Signature"] not in text and SECRET not in text


def test_signed_in_callers_are_named_and_query_strings_and_url_tokens_are_not_logged(
        client, lines):
    r = client.get("/v1/rulesets/current?code=oauth-code-123", headers={"X-Request-Id": "no spaces!"})
    assert r.status_code == 200
    client.post("/platforms/mingdao/hooks/weekly_metrics/token-in-the-url", json={})
    current, mingdao = [x for x in lines() if x["path"].startswith(("/v1/", "/platforms/"))]
    assert current["person"] and current["status"] == 200
    assert current["request_id"] != "no spaces!" and len(current["request_id"]) == 32
    assert mingdao["path"] == "/platforms/mingdao/hooks/weekly_metrics/***"
    text = json.dumps(lines())
    assert "oauth-code-123" not in text and "token-in-the-url" not in text


@pytest.mark.slow
@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_serve_logs_each_request_and_send_finds_it_on_its_configured_port(database, tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database, "TRIMTAB_RULES": str(ROOT / "rules"),
           "TRIMTAB_CLIENTS": f"{CLIENT}:{SECRET}", "TRIMTAB_ADMIN_TOKEN": ADMIN,
           "TRIMTAB_PORT": str(port), "TRIMTAB_LANG": "en"}
    trimtab = str(Path(sys.executable).parent / "trimtab")
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen([trimtab, "serve"], env=env, cwd=tmp_path, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        facts = tmp_path / "week.json"
        facts.write_text(json.dumps(WEEK))          # too few fields: refused with a 422
        sent = subprocess.run([trimtab, "send", "--form", "weekly_metrics", "--facts", str(facts)],
                              env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        # It reached the server (which refused the facts), not a closed port 8000.
        assert "cannot reach" not in sent.stderr and "schema_violation" in sent.stdout, sent
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    log.seek(0)
    entries = [json.loads(x) for x in log.read().splitlines() if x.startswith("{")]
    hook = [e for e in entries if e["path"] == "/hooks/weekly_metrics"]
    assert [(e["status"], e["code"], e["client"]) for e in hook] == [(422, "schema_violation", CLIENT)]
    assert any(e["path"] == "/healthz" and e["status"] == 200 for e in entries)
    assert SECRET not in json.dumps(entries)


@pytest.fixture
def loggers():
    """The `trimtab` and `trimtab.access` loggers as they were, put back after the test."""
    import logging
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate)
             for lg in (logging.getLogger("trimtab"), access_log.log)]
    yield
    for lg, handlers, level, propagate in saved:
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate


@pytest.mark.parametrize("access_on", [False, True])
def test_the_servers_events_are_written_with_time_and_process_and_the_access_log_stays_its_own(
        loggers, access_on):
    """`configure_events()` as gunicorn's workers call it, with the access log off
    (TRIMTAB_ACCESS_LOG=0) or on: events come out as plain lines; access lines only when on,
    only as JSON on their own stream, and none is even built when off."""
    import logging
    events, access = io.StringIO(), io.StringIO()
    access_log.configure_events(events)
    if access_on:
        access_log.configure(access)
    logging.getLogger("trimtab.rulesets").info("rule set: generation %d loaded", 2)
    access_log.log.info("%s", json.dumps({"path": "/healthz"}))
    line, = events.getvalue().splitlines()
    assert f"[{os.getpid()}] INFO trimtab.rulesets: rule set: generation 2 loaded" in line
    assert line[:4].isdigit()                            # the time comes first
    assert access_log.log.isEnabledFor(logging.INFO) is access_on
    assert [json.loads(x) for x in access.getvalue().splitlines()] == ([{"path": "/healthz"}] if access_on else [])
