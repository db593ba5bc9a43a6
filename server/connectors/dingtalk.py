"""DingTalk's (钉钉) server APIs as one app sees them: its token, how its answers say the
token is no longer good or the call came too fast, and its two ways of paging.  Used by the
org sync (dingtalk_org.py) and by the approval and work-notice senders
(server/jobs/platform_api.py), through one ApiClient per app.

An internal app's AppKey/AppSecret give one access token, good for both generations of the API:
  GET  {oapi}/gettoken?appkey&appsecret → {errcode: 0, access_token, expires_in}
  POST {api}/v1.0/oauth2/accessToken {appKey, appSecret} → {accessToken, expireIn}
The newer endpoint is used where the app has the newer API's URL (`api_url`), else the older.
Calls to {oapi} carry the token as `?access_token=` and answer HTTP 200 with `errcode`;
calls to {api} (paths /v1.0/…) carry it in `x-acs-dingtalk-access-token` and fail with an HTTP
status and `{code, message}`.

The token is fetched again (once per call) on errcode 40014 (不合法的access_token) or 42001
(access_token超时) — or 88 with either as sub_code — and on HTTP 401 / InvalidAuthentication;
errcode -1 (系统繁忙) and 90002/90006/90018 (call frequency or concurrency over the limit) are
retried with backoff."""
from __future__ import annotations

import re
from typing import Iterator
from urllib.parse import urlsplit

from trimtab.server.connectors.api_client import ApiClient, Protocol, paged, token_failure

OAPI_URL = "https://oapi.dingtalk.com"
EXPIRED = {40014, 42001}
EXPIRED_NEW = {"InvalidAuthentication"}
BUSY = {-1, 90002, 90006, 90018}
NEW_PATH = re.compile(r"/v\d+\.\d+/")       # the newer API's paths (/v1.0/…), on {api}


class DingTalk(Protocol):
    name = "dingtalk"

    def __init__(self, app_key: str, app_secret: str, oapi_url: str = OAPI_URL,
                 api_url: str | None = None):
        self.app_key, self.app_secret = app_key, app_secret
        self.oapi_url = oapi_url.rstrip("/")
        self.api_url = api_url.rstrip("/") if api_url else None

    def fetch_token(self, http: ApiClient) -> tuple[str, float | None]:
        if self.api_url:
            status, doc = http.raw("POST", f"{self.api_url}/v1.0/oauth2/accessToken",
                                   json={"appKey": self.app_key, "appSecret": self.app_secret})
            if status != 200 or not isinstance(doc, dict) or not doc.get("accessToken"):
                raise token_failure(self, "/v1.0/oauth2/accessToken", status, doc, "code", "message")
            return doc["accessToken"], doc.get("expireIn", 7200)
        status, doc = http.raw("GET", f"{self.oapi_url}/gettoken",
                               params={"appkey": self.app_key, "appsecret": self.app_secret})
        if not isinstance(doc, dict) or doc.get("errcode") != 0 or not doc.get("access_token"):
            raise token_failure(self, "/gettoken", status, doc, "errcode", "errmsg")
        return doc["access_token"], doc.get("expires_in", 7200)

    def authorize(self, url, token, headers, params):
        if NEW_PATH.match(urlsplit(url).path):
            headers["x-acs-dingtalk-access-token"] = token
        else:
            params["access_token"] = token

    def expired(self, status, doc):
        return status == 401 or _code(doc) in EXPIRED or \
            (isinstance(doc, dict) and doc.get("code") in EXPIRED_NEW)

    def rate_limited(self, status, doc):
        return _code(doc) in BUSY

    def error(self, status, doc):
        if not isinstance(doc, dict):
            return str(status)
        if status >= 400:
            return str(doc.get("code") or doc.get("errcode") or status)
        return None if doc.get("errcode", 0) == 0 else str(doc.get("errcode"))


def _code(doc) -> int | None:
    if not isinstance(doc, dict):
        return None
    code = doc.get("errcode")
    if code == 88:                              # 鉴权异常: the reason is the sub_code
        try:
            return int(doc.get("sub_code"))
        except (TypeError, ValueError):
            return 88
    return code


def cursor_pages(http: ApiClient, url: str, body: dict, size: int) -> Iterator[dict]:
    """Every item of an {oapi} listing paged by `cursor` → result: {list, has_more, next_cursor}."""
    def page(cursor):
        got = http.call("POST", url, json={**body, "cursor": cursor or 0, "size": size})["result"]
        return got.get("list") or (), got["next_cursor"] if got.get("has_more") else None
    return paged(page)


def token_pages(http: ApiClient, url: str, body: dict) -> Iterator:
    """Every item of an {api} listing paged by `nextToken` → result: {list, nextToken}."""
    def page(token):
        got = http.call("POST", url, json={**body, "nextToken": token or 0}).get("result") or {}
        return got.get("list") or (), got.get("nextToken") or None
    return paged(page)
