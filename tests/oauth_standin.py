"""A local stand-in for DingTalk's and Feishu's OAuth 2 endpoints, on 127.0.0.1 (a random
port, a thread), speaking the requests and answers their documentation gives:

DingTalk (under /dingtalk)
  GET  /oauth2/auth?client_id&redirect_uri&response_type=code&scope=openid&state&prompt
       → 302 redirect_uri?authCode=…&state=…
  POST /v1.0/oauth2/userAccessToken {clientId, clientSecret, code, grantType}
       → {accessToken, refreshToken, expireIn, corpId}; errors HTTP 400 {code, message, requestid}
  GET  /v1.0/contact/users/me, header x-acs-dingtalk-access-token
       → {nick, unionId, openId, mobile, stateCode, email, avatarUrl}
  POST /v1.0/oauth2/accessToken {appKey, appSecret} → {accessToken, expireIn}
  POST /topapi/user/getbyunionid?access_token= {unionid}
       → {errcode: 0, errmsg, result: {contact_type, userid}} or {errcode: 60121, …}
Feishu (under /feishu)
  GET  /open-apis/authen/v1/authorize?client_id&redirect_uri&state&scope
       → 302 redirect_uri?code=…&state=…
  POST /open-apis/authen/v2/oauth/token {grant_type, client_id, client_secret, code, redirect_uri}
       → {code: 0, access_token, expires_in, refresh_token, token_type, scope};
       errors HTTP 400 {code, error, error_description}
  GET  /open-apis/authen/v1/user_info, Authorization: Bearer → {code: 0, msg, data: {…}}

The authorize pages consent at once as `users[provider]`, the account the test set.  Codes are
single-use and bound to the client and redirect URI; every token endpoint checks the client's
id and secret and the grant type.  `seen` keeps each request (path, headers, query, body).
"""
from __future__ import annotations

import json
import secrets
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlencode, urlsplit

from localserver import LocalServer

CLIENTS = {"dingtalk": ("dingstandin0001", "dingtalk-secret-for-tests"),
           "feishu": ("cli_standin0001", "feishu-secret-for-tests")}


class StandIn(LocalServer):
    def __init__(self):
        super().__init__(_Handler)
        self.users: dict[str, dict] = {"dingtalk": {}, "feishu": {}}
        self.corp: dict[str, str] = {}           # DingTalk unionId → the corporation's userid
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, tuple[str, dict]] = {}
        self.app_tokens: set[str] = set()

    def config(self) -> dict:
        """The app's OAUTH config pointing at this stand-in."""
        ding, fei = f"{self.url}/dingtalk", f"{self.url}/feishu/open-apis"
        return {
            "dingtalk": {"client_id": CLIENTS["dingtalk"][0], "client_secret": CLIENTS["dingtalk"][1],
                         "authorize_url": f"{ding}/oauth2/auth",
                         "token_url": f"{ding}/v1.0/oauth2/userAccessToken",
                         "userinfo_url": f"{ding}/v1.0/contact/users/me",
                         "app_token_url": f"{ding}/v1.0/oauth2/accessToken",
                         "userid_url": f"{ding}/topapi/user/getbyunionid"},
            "feishu": {"client_id": CLIENTS["feishu"][0], "client_secret": CLIENTS["feishu"][1],
                       "authorize_url": f"{fei}/authen/v1/authorize",
                       "token_url": f"{fei}/authen/v2/oauth/token",
                       "userinfo_url": f"{fei}/authen/v1/user_info"},
        }

    def requests_to(self, path_end: str) -> list[dict]:
        return [s for s in self.seen if s["path"].endswith(path_end)]

    # ------------------------------------------------------------ the protocol
    def authorize(self, provider: str, q: dict):
        if q.get("client_id") != CLIENTS[provider][0] or not q.get("redirect_uri"):
            return 400, {"error": "invalid client_id or redirect_uri"}
        if provider == "dingtalk" and (q.get("response_type") != "code"
                                       or "openid" not in q.get("scope", "").split()):
            return 400, {"error": "response_type=code and scope=openid are required"}
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = {"provider": provider, "redirect_uri": q["redirect_uri"],
                                "user": dict(self.users[provider]), "used": False}
        name = "authCode" if provider == "dingtalk" else "code"
        back = {name: code, **({"state": q["state"]} if "state" in q else {})}
        sep = "&" if "?" in q["redirect_uri"] else "?"
        return 302, q["redirect_uri"] + sep + urlencode(back)

    def redeem(self, provider: str, code: str | None, redirect_uri: str | None) -> dict | None:
        """The code's user, once: unknown, used or another client's codes give None."""
        with self.lock:
            grant = self.codes.get(code or "")
            if grant is None or grant["used"] or grant["provider"] != provider:
                return None
            if provider == "feishu" and redirect_uri != grant["redirect_uri"]:
                return None
            grant["used"] = True
            return grant["user"]

    def issue(self, provider: str, user: dict) -> str:
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = (provider, user)
        return token

    def user_for(self, provider: str, token: str | None) -> dict | None:
        found = self.tokens.get(token or "")
        return found[1] if found and found[0] == provider else None

    def dingtalk_token(self, body: dict):
        ding_error = lambda code, message: (400, {"code": code, "message": message,
                                                  "requestid": secrets.token_hex(8)})
        if (body.get("clientId"), body.get("clientSecret")) != CLIENTS["dingtalk"]:
            return ding_error("invalidClientIdOrSecret", "无效的clientId或clientSecret")
        if body.get("grantType") != "authorization_code":
            return ding_error("invalidParameter.grantType", "grantType不合法")
        user = self.redeem("dingtalk", body.get("code"), None)
        if user is None:
            return ding_error("invalidAuthCode", "不合法的临时授权码")
        return 200, {"accessToken": self.issue("dingtalk", user), "refreshToken": secrets.token_urlsafe(16),
                     "expireIn": 7200, "corpId": "dingcorpstandin"}

    def feishu_token(self, body: dict):
        fei_error = lambda code, error, text: (400, {"code": code, "error": error,
                                                     "error_description": text})
        if (body.get("client_id"), body.get("client_secret")) != CLIENTS["feishu"]:
            return fei_error(20002, "invalid_client", "The client secret is invalid.")
        if body.get("grant_type") != "authorization_code":
            return fei_error(20001, "unsupported_grant_type", "grant_type is not supported.")
        user = self.redeem("feishu", body.get("code"), body.get("redirect_uri"))
        if user is None:
            return fei_error(20003, "invalid_grant", "The authorization code is not found, "
                             "used or does not match the redirect_uri.")
        return 200, {"code": 0, "access_token": self.issue("feishu", user), "expires_in": 7200,
                     "refresh_token": secrets.token_urlsafe(16), "refresh_token_expires_in": 604800,
                     "token_type": "Bearer", "scope": ""}

    def dingtalk_me(self, headers):
        user = self.user_for("dingtalk", headers.get("x-acs-dingtalk-access-token"))
        if user is None:
            return 401, {"code": "InvalidAuthentication", "message": "不合法的access_token"}
        return 200, {"nick": user.get("nick", ""), "avatarUrl": "", "stateCode": "86", **user}

    def dingtalk_app_token(self, body: dict):
        if (body.get("appKey"), body.get("appSecret")) != CLIENTS["dingtalk"]:
            return 400, {"code": "invalidClientIdOrSecret", "message": "无效的appKey或appSecret"}
        token = secrets.token_urlsafe(16)
        self.app_tokens.add(token)
        return 200, {"accessToken": token, "expireIn": 7200}

    def dingtalk_userid(self, query: dict, body: dict):
        if query.get("access_token") not in self.app_tokens:
            return 200, {"errcode": 40014, "errmsg": "不合法的access_token"}
        userid = self.corp.get(body.get("unionid") or "")
        if userid is None:
            return 200, {"errcode": 60121, "errmsg": "找不到该用户"}
        return 200, {"errcode": 0, "errmsg": "ok", "result": {"contact_type": 0, "userid": userid},
                     "request_id": secrets.token_hex(8)}

    def feishu_me(self, headers):
        auth = headers.get("Authorization") or ""
        user = self.user_for("feishu", auth[7:] if auth.startswith("Bearer ") else None)
        if user is None:
            return 401, {"code": 99991668, "msg": "Invalid access token for authorization."}
        return 200, {"code": 0, "msg": "success", "data": {"name": "", "tenant_key": "t1", **user}}

    def answer(self, method: str, path: str, query: dict, headers, body: dict):
        routes = {
            ("GET", "/dingtalk/oauth2/auth"): lambda: self.authorize("dingtalk", query),
            ("POST", "/dingtalk/v1.0/oauth2/userAccessToken"): lambda: self.dingtalk_token(body),
            ("GET", "/dingtalk/v1.0/contact/users/me"): lambda: self.dingtalk_me(headers),
            ("POST", "/dingtalk/v1.0/oauth2/accessToken"): lambda: self.dingtalk_app_token(body),
            ("POST", "/dingtalk/topapi/user/getbyunionid"): lambda: self.dingtalk_userid(query, body),
            ("GET", "/feishu/open-apis/authen/v1/authorize"): lambda: self.authorize("feishu", query),
            ("POST", "/feishu/open-apis/authen/v2/oauth/token"): lambda: self.feishu_token(body),
            ("GET", "/feishu/open-apis/authen/v1/user_info"): lambda: self.feishu_me(headers),
        }
        route = routes.get((method, path))
        return route() if route else (404, {"error": "not found"})


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):            # quiet
        pass

    def _serve(self, method: str):
        standin = self.server.standin
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body, bad = {}, False
        if method == "POST":
            if not (self.headers.get("Content-Type") or "").startswith("application/json"):
                bad = True                   # both providers' token endpoints take JSON only
            else:
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    bad = True
        standin.seen.append({"path": parts.path, "query": query, "headers": dict(self.headers),
                             "body": body, "raw": raw})
        status, doc = (400, {"error": "the body must be JSON"}) if bad else \
            standin.answer(method, parts.path, query, self.headers, body)
        if status == 302:
            self.send_response(302)
            self.send_header("Location", doc)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = json.dumps(doc, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")
