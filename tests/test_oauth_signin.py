"""Signing in with DingTalk and Feishu, end to end against the local stand-in
(tests/oauth_standin.py), on SQLite and PostgreSQL.

trimtab is driven with Flask's test client, the stand-in with `requests`; the browser's
redirects are followed by hand, so each hop can be looked at."""
from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests

from oauth_standin import CLIENTS, StandIn
from serverkit import ADMIN_HEADERS, ORG, load_org, week

IDS = {"east.li": {"dingtalk_userid": "0150li", "email": "east.li@example.com"},
       "hr.east": {"mobile": "13800000003"},
       "east.mgr": {"feishu_open_id": "ou_mgr"},
       "sales.dir": {"feishu_union_id": "on_dir"}}
LI_ON_DINGTALK = {"unionId": "union-li", "openId": "open-li", "nick": "李东", "mobile": "13900000001"}
NOBODY = {"unionId": "union-nobody", "openId": "open-nobody", "mobile": "13000000000"}


@pytest.fixture(scope="module")
def standin():
    with StandIn() as s:
        s.corp["union-li"] = "0150li"
        yield s


@pytest.fixture
def app_config(standin):
    return {"OAUTH": standin.config(), "LANG": "en"}


@pytest.fixture
def app(app):
    """The server (conftest's `app`, signing in at the stand-in) with the org chart, each
    person's platform ids added."""
    client = load_org(app)
    people = [dict(p, **IDS.get(p["id"], {})) for p in ORG["people"]]
    r = client.post("/v1/org/people", json={"people": people}, headers=ADMIN_HEADERS)
    assert r.status_code == 200, r.json
    return app


class Browser:
    """One person's browser: trimtab's test client (no bearer token) and the stand-in."""

    def __init__(self, app, standin):
        self.client, self.standin = app.test_client(), standin

    def start(self, provider: str, as_user: dict, next_path: str = "/v1/me") -> str:
        """Open the sign-in link and consent: the URL the provider sends the browser back to."""
        self.standin.users[provider] = as_user
        r = self.client.get(f"/auth/login/{provider}?" + urlencode({"next": next_path}))
        assert r.status_code == 302, r.data
        self.authorize_url = r.headers["Location"]
        back = requests.get(self.authorize_url, allow_redirects=False, timeout=5)
        assert back.status_code == 302, back.text
        return back.headers["Location"]

    def back(self, url: str, **headers):
        parts = urlsplit(url)
        return self.client.get(urlunsplit(("", "", parts.path, parts.query, "")), headers=headers)

    def sign_in(self, provider: str, as_user: dict):
        return self.back(self.start(provider, as_user))

    def me(self):
        return self.client.get("/v1/me")


def with_query(url: str, **changes) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    query = {k: v for k, v in query.items() if v is not None}
    return urlunsplit(parts._replace(query=urlencode(query)))


# ---------------------------------------------------------------- sign-ins that complete
def test_dingtalk_sign_in_completes(app, standin):
    browser = Browser(app, standin)
    back = browser.start("dingtalk", LI_ON_DINGTALK, next_path="/v1/targets")
    sent = parse_qs(urlsplit(browser.authorize_url).query)
    # Authlib adds a nonce to any `openid` scope; DingTalk, not OpenID Connect, ignores it
    assert {k: v[0] for k, v in sent.items() if k not in ("state", "nonce")} == {
        "client_id": CLIENTS["dingtalk"][0], "redirect_uri": "http://localhost/auth/callback/dingtalk",
        "response_type": "code", "scope": "openid", "prompt": "consent"}
    assert "authCode" in back and "state=" in back
    r = browser.back(back)
    assert r.status_code == 303 and r.headers["Location"] == "/v1/targets"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("trimtab_session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    me = browser.me().json
    assert (me["person"], me["via"], me["name"]) == ("east.li", "session", "李东")
    # the token request was DingTalk's JSON, and the user info carried DingTalk's header
    token_call = standin.requests_to("/v1.0/oauth2/userAccessToken")[-1]
    assert set(token_call["body"]) == {"clientId", "clientSecret", "code", "grantType"}
    assert "x-acs-dingtalk-access-token" in {h.lower() for h in standin.requests_to("/users/me")[-1]["headers"]}


def test_feishu_sign_in_completes(app, standin):
    browser = Browser(app, standin)
    r = browser.sign_in("feishu", {"open_id": "ou_mgr", "union_id": "on_mgr", "name": "王经理"})
    assert r.status_code == 303 and r.headers["Location"] == "/v1/me"
    assert "Secure" in r.headers["Set-Cookie"] and "SameSite=Lax" in r.headers["Set-Cookie"]
    assert browser.me().json["person"] == "east.mgr"
    token_call = standin.requests_to("/authen/v2/oauth/token")[-1]
    assert token_call["body"]["grant_type"] == "authorization_code"
    assert token_call["body"]["redirect_uri"] == "http://localhost/auth/callback/feishu"


@pytest.mark.parametrize("provider,user,person", [
    ("dingtalk", {"unionId": "union-hr", "mobile": "13800000003", "stateCode": "86"}, "hr.east"),
    ("dingtalk", {"unionId": "union-x", "email": "EAST.LI@example.com"}, "east.li"),
    ("feishu", {"open_id": "ou_unknown", "union_id": "on_dir"}, "sales.dir"),
    ("feishu", {"open_id": "ou_unknown", "union_id": "on_unknown", "mobile": "+8613800000003"}, "hr.east"),
], ids=["dingtalk-mobile", "dingtalk-email", "feishu-union_id", "feishu-mobile"])
def test_platform_users_map_through_their_ids(app, standin, provider, user, person):
    browser = Browser(app, standin)
    assert browser.sign_in(provider, user).status_code == 303
    assert browser.me().json["person"] == person


# ---------------------------------------------------------------- the session afterwards
def test_a_session_changes_only_with_its_csrf_token_and_ends_at_logout(app, standin):
    browser = Browser(app, standin)
    assert browser.sign_in("dingtalk", LI_ON_DINGTALK).status_code == 303
    facts = {"form": "weekly_metrics", "facts": week(3, 5, 0.9)}
    r = browser.client.post("/v1/evaluate", json=facts)
    assert r.status_code == 403 and r.json["error"]["code"] == "csrf_failed"
    csrf = browser.me().json["csrf_token"]
    assert browser.client.post("/v1/evaluate", json=facts, headers={"X-CSRFToken": csrf}).status_code == 200
    assert browser.client.post("/auth/logout").status_code == 403          # CSRF here too
    assert browser.client.post("/auth/logout", headers={"X-CSRFToken": csrf}).json == {"signed_out": True}
    assert browser.me().status_code == 401


# ---------------------------------------------------------------- refused, and nothing stored
def counts(app) -> tuple:
    from sqlalchemy import func, select

    from trimtab.server.storage.models import ApiToken, Person, PersonIdentity
    with app.extensions["trimtab.sessions"]() as db:
        return tuple(db.scalar(select(func.count()).select_from(m)) for m in (Person, PersonIdentity, ApiToken))


def assert_refused(browser, r, status, code):
    assert r.status_code == status, r.data
    assert r.json["error"]["code"] == code
    with browser.client.session_transaction() as kept:
        assert "_user_id" not in kept
    assert browser.me().status_code == 401


@pytest.mark.parametrize("state", ["wrong-state", None], ids=["wrong", "missing"])
def test_a_wrong_or_missing_state_is_refused(app, standin, state):
    before = counts(app)
    browser = Browser(app, standin)
    back = browser.start("feishu", {"open_id": "ou_mgr"})
    assert_refused(browser, browser.back(with_query(back, state=state)), 403, "oauth_state_mismatch")
    assert counts(app) == before


def test_a_callback_replayed_is_refused(app, standin):
    browser = Browser(app, standin)
    back = browser.start("dingtalk", LI_ON_DINGTALK)
    assert browser.back(back).status_code == 303
    other = Browser(app, standin)               # someone who got hold of the callback URL
    assert_refused(other, other.back(back), 403, "oauth_state_mismatch")


@pytest.mark.parametrize("provider,user", [("dingtalk", LI_ON_DINGTALK), ("feishu", {"open_id": "ou_mgr"})])
def test_a_used_code_is_refused(app, standin, provider, user):
    first = Browser(app, standin)
    used = first.start(provider, user)
    assert first.back(used).status_code == 303
    second = Browser(app, standin)
    fresh = second.start(provider, user)        # a state of their own, then the old code
    name = "authCode" if provider == "dingtalk" else "code"
    old_code = parse_qs(urlsplit(used).query)[name][0]
    before = counts(app)
    assert_refused(second, second.back(with_query(fresh, **{name: old_code})), 401, "oauth_refused")
    assert counts(app) == before


def test_a_platform_user_no_one_holds_is_refused(app, standin):
    before = counts(app)
    browser = Browser(app, standin)
    assert_refused(browser, browser.sign_in("dingtalk", NOBODY), 403, "oauth_unknown_person")
    assert counts(app) == before
    page = Browser(app, standin)                # a browser asking for HTML gets the sign-in page
    r = page.back(page.start("dingtalk", NOBODY), Accept="text/html")
    assert r.status_code == 403 and r.mimetype == "text/html"
    assert "no one in the organisation chart" in r.get_data(as_text=True)


def test_eleven_failures_in_a_minute_are_throttled(app, standin):
    browser = Browser(app, standin)
    back = browser.start("feishu", {"open_id": "ou_mgr"})
    for _ in range(10):
        assert browser.back(with_query(back, state="forged")).status_code == 403
    r = browser.back(back)                       # even the right one, now
    assert r.status_code == 429 and r.json["error"]["code"] == "too_many_attempts"


# ---------------------------------------------------------------- the edges
def test_next_is_only_ever_a_local_path(app, standin):
    browser = Browser(app, standin)
    back = browser.start("feishu", {"open_id": "ou_mgr"}, next_path="//evil.example/phish")
    assert browser.back(back).headers["Location"] == "/v1/me"


def test_the_sign_in_page_offers_configured_providers_only(app, standin):
    client = app.test_client()
    page = client.get("/auth/login?next=/v1/targets").get_data(as_text=True)
    assert "/auth/login/dingtalk?next=/v1/targets" in page and "/auth/login/feishu" in page
    assert client.get("/auth/login/wechat").status_code == 404


@pytest.mark.parametrize("db_kind", ["sqlite"])
@pytest.mark.app_config(OAUTH_REDIRECT_BASE="https://trimtab.example.com/")
def test_redirect_base_from_config(app):
    r = app.test_client().get("/auth/login/feishu")
    sent = parse_qs(urlsplit(r.headers["Location"]).query)
    assert sent["redirect_uri"] == ["https://trimtab.example.com/auth/callback/feishu"]


def test_providers_come_from_the_environment(tmp_path):
    from trimtab.server.config import from_env
    env = {"TRIMTAB_DINGTALK_CLIENT_ID": "dingabc", "TRIMTAB_DINGTALK_CLIENT_SECRET": "s1",
           "TRIMTAB_FEISHU_CLIENT_ID": "cli_abc", "TRIMTAB_FEISHU_CLIENT_SECRET": "s2",
           "TRIMTAB_FEISHU_TOKEN_URL": "https://open.feishu.example/token",
           "TRIMTAB_OAUTH_REDIRECT_BASE": "https://trimtab.example.com"}
    config = from_env(env, var_dir=str(tmp_path))
    assert config["OAUTH"] == {"dingtalk": {"client_id": "dingabc", "client_secret": "s1"},
                               "feishu": {"client_id": "cli_abc", "client_secret": "s2",
                                          "token_url": "https://open.feishu.example/token"}}
    assert config["OAUTH_REDIRECT_BASE"] == "https://trimtab.example.com"
    assert from_env({}, var_dir=str(tmp_path))["OAUTH"] == {}
    with pytest.raises(ValueError, match="go together"):
        from_env({"TRIMTAB_FEISHU_CLIENT_ID": "cli_abc"}, var_dir=str(tmp_path))
