"""Feishu's (飞书) open API as one custom app sees it: its tenant token, how its answers say
the token is no longer good or the call came too fast, and its paging.  Used by the org sync
(feishu_org.py) and by the approval and message senders (server/jobs/platform_api.py),
through one ApiClient per app.

  POST {api}/open-apis/auth/v3/tenant_access_token/internal {app_id, app_secret}
       → {code: 0, tenant_access_token, expire}
Calls carry `Authorization: Bearer <tenant_access_token>` and answer {code: 0, data} (or
another code, with HTTP 200 or 4xx).  Codes 99991661 (no token), 99991663 and 99991668
(invalid token) and 99991677 (expired) fetch a new token, once per call; 99991400 (request
frequency over the limit) and HTTP 429 are retried with backoff."""
from __future__ import annotations

from typing import Iterator

from trimtab.server.connectors.api_client import ApiClient, Protocol, paged, token_failure

API_URL = "https://open.feishu.cn"
EXPIRED = {99991661, 99991663, 99991668, 99991677}
BUSY = {99991400}


class Feishu(Protocol):
    name = "feishu"

    def __init__(self, app_id: str, app_secret: str, api_url: str = API_URL):
        self.app_id, self.app_secret, self.api_url = app_id, app_secret, api_url.rstrip("/")

    def fetch_token(self, http: ApiClient) -> tuple[str, float | None]:
        status, doc = http.raw("POST", f"{self.api_url}/open-apis/auth/v3/tenant_access_token/internal",
                               json={"app_id": self.app_id, "app_secret": self.app_secret})
        if not isinstance(doc, dict) or doc.get("code") != 0 or not doc.get("tenant_access_token"):
            raise token_failure(self, "tenant_access_token", status, doc, "code", "msg")
        return doc["tenant_access_token"], doc.get("expire", 7200)

    def expired(self, status, doc):
        return isinstance(doc, dict) and doc.get("code") in EXPIRED

    def rate_limited(self, status, doc):
        return status == 429 or (isinstance(doc, dict) and doc.get("code") in BUSY)

    def error(self, status, doc):
        if not isinstance(doc, dict):
            return str(status)
        return None if doc.get("code") == 0 and status < 400 else str(doc.get("code", status))


def pages(http: ApiClient, url: str, params: dict, page_size: int, items: str = "items") -> Iterator:
    """Every entry of `data[items]` of a listing paged by `page_token`/`has_more`."""
    def page(token):
        query = {**params, "page_size": page_size, **({"page_token": token} if token else {})}
        data = http.call("GET", url, params=query).get("data") or {}
        more = data.get("has_more") and data.get("page_token")
        return data.get(items) or (), more or None
    return paged(page)
