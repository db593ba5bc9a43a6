"""One HTTP client for the platforms' JSON APIs: an app token fetched on first use and
fetched again once when the platform says it expired; a rate-limit answer retried with
backoff.  A platform says how it answers both (`Protocol`).  Tokens and secrets are never
logged: a failure names the URL's path and the platform's code only."""
from __future__ import annotations

import logging
import time
from typing import Callable
from urllib.parse import urlsplit

import requests

log = logging.getLogger("trimtab.connectors")

RETRIES = 5                 # rate-limit answers in a row before giving up
BACKOFF_S = 1.0             # first wait; doubled each time (a Retry-After header wins)
TIMEOUT_S = 30


class ConnectorError(Exception):
    """A platform refused a call for good: the message names the call and the code."""


class Protocol:
    """How a platform answers; a subclass fills these in."""
    name = "platform"

    def fetch_token(self, http: "ApiClient") -> str:
        raise NotImplementedError

    def authorize(self, token: str, headers: dict, params: dict) -> None:
        headers["Authorization"] = f"Bearer {token}"

    def expired(self, status: int, doc) -> bool:
        return status == 401

    def rate_limited(self, status: int, doc) -> bool:
        return status == 429

    def error(self, status: int, doc) -> str | None:
        """The platform's error code of a failed answer, None if it succeeded."""
        return None if status < 400 else str(status)


class ApiClient:
    def __init__(self, protocol: Protocol, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, backoff_s: float | None = None):
        self.protocol, self.session = protocol, session or requests.Session()
        self.sleep, self.backoff_s = sleep, BACKOFF_S if backoff_s is None else backoff_s
        self.token: str | None = None
        self.refreshes = self.rate_limit_waits = self.calls = 0

    def raw(self, method: str, url: str, **kwargs):
        """An unauthenticated call (a token endpoint) → (status, JSON document or None)."""
        self.calls += 1
        resp = self.session.request(method, url, timeout=TIMEOUT_S, **kwargs)
        try:
            return resp.status_code, resp.json()
        except ValueError:
            return resp.status_code, None

    def call(self, method: str, url: str, *, params: dict | None = None, json=None, data=None):
        """An authenticated call → its JSON document; ConnectorError when refused."""
        refreshed, waits = False, 0
        while True:
            if self.token is None:
                self.token = self.protocol.fetch_token(self)
            headers, query = {}, dict(params or {})
            self.protocol.authorize(self.token, headers, query)
            status, doc = self.raw(method, url, params=query, json=json, data=data, headers=headers)
            if self.protocol.expired(status, doc) and not refreshed:
                # A token can run out between two pages: fetch one new token, once per call.
                log.info("%s: token expired at %s; fetching a new one", self.protocol.name, _path(url))
                self.token, refreshed = None, True
                self.refreshes += 1
                continue
            if self.protocol.rate_limited(status, doc) and waits < RETRIES:
                wait = self.backoff_s * 2 ** waits
                log.info("%s: rate limited at %s; retrying in %.1fs", self.protocol.name, _path(url), wait)
                self.sleep(wait)
                waits += 1
                self.rate_limit_waits += 1
                continue
            code = self.protocol.error(status, doc)
            if code is not None:
                raise ConnectorError(f"{self.protocol.name} {method} {_path(url)}: HTTP {status}, "
                                     f"code {code}: {_message(doc)}")
            return doc


def _path(url: str) -> str:
    return urlsplit(url).path           # never the query: DingTalk puts the token there


def _message(doc) -> str:
    if isinstance(doc, list) and doc and isinstance(doc[0], dict):
        doc = doc[0]
    if isinstance(doc, dict):
        return str(doc.get("errmsg") or doc.get("msg") or doc.get("message") or "")[:200]
    return ""
