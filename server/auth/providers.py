"""What differs between DingTalk's and Feishu's OAuth 2: their endpoints, the shape of their
token requests and answers, and which of their user fields name a person of the org chart.

Authlib speaks the protocol (state, the code exchange, the session); this module adapts each
provider's documented, non-standard parts to it:

- DingTalk (new OAuth 2): authorize at login.dingtalk.com/oauth2/auth (scope openid,
  prompt=consent; it calls back with `authCode`); the token request is JSON in camelCase
  {clientId, clientSecret, code, grantType} → {accessToken, refreshToken, expireIn}; user
  info GET /v1.0/contact/users/me with header `x-acs-dingtalk-access-token` →
  {nick, unionId, openId, mobile, stateCode, email}.  The user info has no userid, the id an
  org chart holds: the app's own token (POST /v1.0/oauth2/accessToken {appKey, appSecret})
  and POST topapi/user/getbyunionid {unionid} → {errcode, result: {userid}} find it.
- Feishu: authorize at accounts.feishu.cn/open-apis/authen/v1/authorize; the token request
  is JSON {grant_type, client_id, client_secret, code, redirect_uri} → {code: 0,
  access_token, expires_in, refresh_token, token_type, scope} (errors: {code, error,
  error_description}); user info GET /open-apis/authen/v1/user_info with a Bearer token →
  {code: 0, data: {name, open_id, union_id, user_id, email, mobile, …}}.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

TITLES = {"dingtalk": "钉钉", "feishu": "飞书"}

DEFAULT_URLS = {
    "dingtalk": {"authorize_url": "https://login.dingtalk.com/oauth2/auth",
                 "token_url": "https://api.dingtalk.com/v1.0/oauth2/userAccessToken",
                 "userinfo_url": "https://api.dingtalk.com/v1.0/contact/users/me",
                 "app_token_url": "https://api.dingtalk.com/v1.0/oauth2/accessToken",
                 "userid_url": "https://oapi.dingtalk.com/topapi/user/getbyunionid"},
    "feishu": {"authorize_url": "https://accounts.feishu.cn/open-apis/authen/v1/authorize",
               "token_url": "https://open.feishu.cn/open-apis/authen/v2/oauth/token",
               "userinfo_url": "https://open.feishu.cn/open-apis/authen/v1/user_info"},
}
TIMEOUT_S = 10


class ProviderError(Exception):
    """The provider refused or answered something unusable (never carries a secret)."""


@dataclass
class Identity:
    """Who the provider says signed in: (kind, value) candidates, best first."""
    label: str                                   # for logs: a platform id, never a token
    candidates: list[tuple[str, str]] = field(default_factory=list)


def configured_providers(app) -> list[tuple[str, str]]:
    configured = app.config.get("OAUTH") or {}
    return [(name, title) for name, title in TITLES.items() if name in configured]


def settings(app, provider: str) -> dict | None:
    """The provider's config with the documented URLs filled in, or None if not configured."""
    given = (app.config.get("OAUTH") or {}).get(provider)
    if provider not in TITLES or not given:
        return None
    return {**DEFAULT_URLS[provider], **{k: v for k, v in given.items() if v}}


def client_options(provider: str, conf: dict) -> dict:
    """Keyword arguments for Authlib's `OAuth.register`."""
    json_body = DINGTALK_BODY if provider == "dingtalk" else FEISHU_BODY
    options = {
        "client_id": conf["client_id"], "client_secret": conf["client_secret"],
        "authorize_url": conf["authorize_url"], "access_token_url": conf["token_url"],
        "client_auth_methods": [(f"{provider}_json", json_token_request(json_body))],
        "client_kwargs": {"token_endpoint_auth_method": f"{provider}_json",
                          "default_timeout": TIMEOUT_S},
        "compliance_fix": dingtalk_fix if provider == "dingtalk" else feishu_fix,
    }
    if provider == "dingtalk":
        options["client_kwargs"]["scope"] = "openid"
        options["authorize_params"] = {"prompt": "consent"}
    elif conf.get("scope"):
        options["client_kwargs"]["scope"] = conf["scope"]
    return options


# ---------------------------------------------------------------- the token request and answer
# Authlib builds a form body for the token endpoint; both providers want JSON.  A client
# authentication method sees the prepared request last, so it rewrites the body there.
DINGTALK_BODY = {"client_id": "clientId", "client_secret": "clientSecret", "code": "code",
                 "grant_type": "grantType", "refresh_token": "refreshToken"}
FEISHU_BODY = {k: k for k in ("grant_type", "client_id", "client_secret", "code",
                              "redirect_uri", "code_verifier", "refresh_token")}


def json_token_request(names: dict):
    def encode(client, method, uri, headers, body):
        form = dict(parse_qsl(body or "", keep_blank_values=True))
        form.update(client_id=client.client_id, client_secret=client.client_secret)
        doc = {names[k]: v for k, v in form.items() if k in names}
        headers = {**(headers or {}), "Content-Type": "application/json; charset=utf-8"}
        return uri, headers, json.dumps(doc)
    return encode


def _rewrite_json(resp, doc: dict):
    resp._content = json.dumps(doc).encode()
    resp.headers["Content-Type"] = "application/json"
    return resp


def dingtalk_fix(session) -> None:
    """{accessToken, refreshToken, expireIn} → the standard token; {code, message} → error."""
    def standard(resp):
        try:
            doc = resp.json()
        except ValueError:
            return resp
        if not isinstance(doc, dict):
            return resp
        if doc.get("accessToken"):
            return _rewrite_json(resp, {"access_token": doc["accessToken"], "token_type": "Bearer",
                                        "expires_in": doc.get("expireIn"),
                                        "refresh_token": doc.get("refreshToken")})
        return _rewrite_json(resp, {"error": str(doc.get("code") or "no_access_token"),
                                    "error_description": doc.get("message")})
    session.register_compliance_hook("access_token_response", standard)


def feishu_fix(session) -> None:
    """Feishu answers `code` beside the standard fields; a non-zero code is an error."""
    def standard(resp):
        try:
            doc = resp.json()
        except ValueError:
            return resp
        if isinstance(doc, dict) and doc.get("code") not in (0, "0", None) and "error" not in doc:
            return _rewrite_json(resp, {"error": str(doc["code"]),
                                        "error_description": doc.get("msg")})
        return resp
    session.register_compliance_hook("access_token_response", standard)


# ---------------------------------------------------------------- who signed in
def identify(provider: str, client, conf: dict, token: dict) -> Identity:
    return (dingtalk_identity if provider == "dingtalk" else feishu_identity)(client, conf, token)


def _json(resp, what: str) -> dict:
    try:
        doc = resp.json()
    except ValueError:
        doc = None
    if resp.status_code != 200 or not isinstance(doc, dict):
        code = doc.get("code") if isinstance(doc, dict) else None
        raise ProviderError(f"{what} answered HTTP {resp.status_code} ({code or 'no JSON'})")
    return doc


def _maybe_json(resp) -> dict:
    try:
        doc = resp.json() if resp.status_code == 200 else {}
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def dingtalk_identity(client, conf: dict, token: dict) -> Identity:
    me = _json(client.get(conf["userinfo_url"], withhold_token=True,
                          headers={"x-acs-dingtalk-access-token": token["access_token"]}),
               "DingTalk user info")
    union_id = me.get("unionId")
    userid = dingtalk_userid(client, conf, union_id) if union_id else None
    found = [("dingtalk_userid", userid)] if userid else []
    found += [("mobile", m) for m in mobile_forms(me.get("mobile"), me.get("stateCode"))]
    found += [("email", me["email"].strip().lower())] if me.get("email") else []
    return Identity(label=f"dingtalk unionId {union_id or '-'}", candidates=found)


def dingtalk_userid(client, conf: dict, union_id: str) -> str | None:
    """The corporation's userid for a unionId, or None when the app may not look it up (no
    contact permission) or the person is not in the corporation."""
    app = client.post(conf["app_token_url"], withhold_token=True,
                      json={"appKey": conf["client_id"], "appSecret": conf["client_secret"]})
    app_token = _maybe_json(app).get("accessToken")
    if not app_token:
        return None
    found = client.post(conf["userid_url"], withhold_token=True,
                        params={"access_token": app_token}, json={"unionid": union_id})
    doc = _maybe_json(found)
    if doc.get("errcode") != 0:
        return None
    return (doc.get("result") or {}).get("userid") or None


def feishu_identity(client, conf: dict, token: dict) -> Identity:
    doc = _json(client.get(conf["userinfo_url"], token=token), "Feishu user info")
    if doc.get("code") not in (0, "0"):
        raise ProviderError(f"Feishu user info refused ({doc.get('code')})")
    me = doc.get("data") or {}
    found = [(kind, me[key]) for kind, key in (("feishu_open_id", "open_id"),
                                                ("feishu_union_id", "union_id")) if me.get(key)]
    for key in ("email", "enterprise_email"):
        if me.get(key):
            found.append(("email", me[key].strip().lower()))
    found += [("mobile", m) for m in mobile_forms(me.get("mobile"), None)]
    return Identity(label=f"feishu open_id {me.get('open_id') or '-'}", candidates=found)


def mobile_forms(mobile: str | None, country: str | None) -> list[str]:
    """A mobile number as an org chart may hold it: as given, without and with +86."""
    if not mobile:
        return []
    bare = mobile.strip().replace(" ", "").replace("-", "")
    forms = [bare]
    if bare.startswith("+86"):
        forms.append(bare[3:])
    elif not bare.startswith("+") and country in (None, "", "86", "+86"):
        forms.append("+86" + bare)
    return forms
