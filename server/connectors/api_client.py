"""One HTTP client for the platforms' JSON APIs (the org sync, the CRM pull, the approval
and notice senders): an app token fetched on first use, kept until shortly before it expires
and fetched again once when the platform says it is no longer good; a rate-limit answer
retried with backoff.  A platform says how it answers all three (`Protocol`: dingtalk.py,
feishu.py, salesforce.py).  Tokens and secrets are never logged nor put in an error: a
failure names the URL's path and the platform's code only."""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import urlsplit

import requests

log = logging.getLogger("trimtab.connectors")

RETRIES = 5                 # rate-limit answers in a row before giving up
BACKOFF_S = 1.0             # first wait; doubled each time
TIMEOUT_S = 30
TOKEN_MARGIN_S = 300        # a token is renewed this long before it expires …
TOKEN_LEAST_S = 60.0        # … but kept at least this long


class ConnectorError(Exception):
    """A platform refused a call for good: the message names the call and the code."""


class Protocol:
    """How a platform answers; a subclass fills these in."""
    name = "platform"

    def fetch_token(self, http: "ApiClient") -> tuple[str, float | None]:
        """A new app token and how many seconds it lasts (None: until the platform refuses it)."""
        raise NotImplementedError

    def authorize(self, url: str, token: str, headers: dict, params: dict) -> None:
        headers["Authorization"] = f"Bearer {token}"

    def expired(self, status: int, doc) -> bool:
        return status == 401

    def rate_limited(self, status: int, doc) -> bool:
        return status == 429

    def error(self, status: int, doc) -> str | None:
        """The platform's error code of a failed answer, None if it succeeded."""
        return None if status < 400 else str(status)


class ApiClient:
    """One app's client; safe to share between threads (one token for all of them).
    `session` None: a connection per call; `retries`: rate-limit answers waited out per call."""

    def __init__(self, protocol: Protocol, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, backoff_s: float | None = None,
                 timeout_s: float = TIMEOUT_S, retries: int = RETRIES,
                 clock: Callable[[], float] = time.monotonic):
        self.protocol, self.session, self.timeout_s, self.retries = protocol, session, timeout_s, retries
        self.sleep, self.backoff_s = sleep, BACKOFF_S if backoff_s is None else backoff_s
        self.clock, self.lock = clock, threading.Lock()
        self.token: str | None = None
        self.until: float | None = None         # clock() past which the token is renewed
        self.refreshes = self.rate_limit_waits = self.calls = 0

    def raw(self, method: str, url: str, **kwargs):
        """An unauthenticated call (a token endpoint) → (status, JSON document or None)."""
        self.calls += 1
        try:
            resp = (self.session.request if self.session else requests.request)(
                method, url, timeout=self.timeout_s, **kwargs)
        except requests.RequestException as err:     # its text holds the URL's query: not shown
            raise ConnectorError(f"{self.protocol.name} {method} {_path(url)}: "
                                 f"{err.__class__.__name__}") from None
        try:
            return resp.status_code, resp.json()
        except ValueError:
            return resp.status_code, None

    def access_token(self, refused: str | None = None) -> str:
        """The app's token: fetched when there is none, when it is about to expire, or when
        `refused` (the one the platform just turned down) is still the one held."""
        with self.lock:
            stale = self.until is not None and self.clock() > self.until
            if self.token is None or stale or (refused is not None and self.token == refused):
                token, expires_s = self.protocol.fetch_token(self)
                self.token = token
                self.until = (None if expires_s is None else
                              self.clock() + max(float(expires_s) - TOKEN_MARGIN_S, TOKEN_LEAST_S))
            return self.token

    def call(self, method: str, url: str, *, params: dict | None = None, json=None, data=None,
             accept: Iterable = ()):
        """An authenticated call → its JSON document; ConnectorError when refused, except
        for the platform codes in `accept`, whose answers are returned to the caller."""
        refreshed, waits, token = False, 0, self.access_token()
        while True:
            headers: dict = {}
            query = dict(params or {})
            self.protocol.authorize(url, token, headers, query)
            status, doc = self.raw(method, url, params=query, json=json, data=data, headers=headers)
            if self.protocol.expired(status, doc) and not refreshed:
                # A token can run out between two calls: fetch one new token, once per call.
                log.info("%s: token refused at %s; fetching a new one", self.protocol.name, _path(url))
                token, refreshed = self.access_token(refused=token), True
                self.refreshes += 1
                continue
            if self.protocol.rate_limited(status, doc) and waits < self.retries:
                wait = self.backoff_s * 2 ** waits
                log.info("%s: rate limited at %s; retrying in %.1fs", self.protocol.name, _path(url), wait)
                self.sleep(wait)
                waits += 1
                self.rate_limit_waits += 1
                continue
            code = self.protocol.error(status, doc)
            if code is None or code in {str(c) for c in accept}:
                return doc
            raise ConnectorError(f"{self.protocol.name} {method} {_path(url)}: HTTP {status}, "
                                 f"code {code}: {_message(doc)}")


def paged(fetch: Callable[[Any], tuple[Iterable, Any]]) -> Iterator:
    """Every item of a listing read page by page: `fetch(cursor)` → (the page's items, the
    next page's cursor, or None after the last); the first page is fetched with None."""
    cursor = None
    while True:
        items, cursor = fetch(cursor)
        yield from items
        if cursor is None:
            return


def token_failure(protocol: Protocol, path: str, status: int, doc, code_key: str, msg_key: str):
    """The ConnectorError of a token endpoint's refusal (its code and message, no secret)."""
    doc = doc if isinstance(doc, dict) else {}
    return ConnectorError(f"{protocol.name} {path}: HTTP {status}, code "
                          f"{doc.get(code_key)}: {str(doc.get(msg_key) or '')[:200]}")


def _path(url: str) -> str:
    return urlsplit(url).path           # never the query: DingTalk puts the token there


def _message(doc) -> str:
    if isinstance(doc, list) and doc and isinstance(doc[0], dict):
        doc = doc[0]
    if isinstance(doc, dict):
        return str(doc.get("errmsg") or doc.get("msg") or doc.get("message") or "")[:200]
    return ""
