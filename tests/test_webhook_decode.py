"""A webhook's body is decoded and checked in one pass (dsl/decode.py through
server/domain/validation.decode), and so are the history entries read back; a body the decoder
refuses goes the passes' way, so refusals are worded as before (tests/test_decode.py holds the
two to the same verdicts)."""
from __future__ import annotations

import pytest

from serverkit import week
from trimtab.server.domain import history, submission


def counting(monkeypatch, module, name) -> list:
    calls = []
    real = getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a, **k: (calls.append(a), real(*a, **k))[1])
    return calls


def test_valid_bodies_and_history_take_one_pass(app, hooks, monkeypatch):
    validated = counting(monkeypatch, submission, "validate")
    parsed = counting(monkeypatch, history, "parse")
    for n in (1, 2, 3):
        r = hooks.post("weekly_metrics", week(n, 5, 0.9))
        assert r.status_code == 200, r.json
    assert validated == [] and parsed == []
    r = hooks.post("weekly_metrics", dict(week(4, 5, 0.9), effective_visits="many"))
    assert r.status_code == 422 and r.json["error"]["code"] == "schema_violation"
    assert r.json["error"]["path"] == "$.effective_visits"
    assert len(validated) == 1


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_a_request_without_a_cookie_builds_no_session_signer(app, hooks, monkeypatch):
    """Sessions look for their cookie first (server/auth CookieFirstSessions): a webhook carries
    none, so the signing serializer is not built; a request with one is read as before."""
    built = counting(monkeypatch, app.session_interface, "get_signing_serializer")
    r = hooks.post("weekly_metrics", week(1, 5, 0.9))
    assert r.status_code == 200, r.json
    assert built == []
    hooks.client.set_cookie(app.config["SESSION_COOKIE_NAME"], "not-a-signed-session")
    assert hooks.client.get("/healthz").status_code == 200
    assert len(built) >= 1
