"""Salesforce → `deal_log` facts: signed deals (won Opportunities) pulled by modification time.

  POST {login}/services/oauth2/token  grant_type=refresh_token (or client_credentials),
       client_id, client_secret[, refresh_token]     → {access_token, instance_url, …}
  GET  {instance_url}/services/data/vXX.X/query?q=SOQL  (Authorization: Bearer)
       → {totalSize, done, nextRecordsUrl?, records: [{attributes, Id, …}]}; while `done` is
       false, GET {instance_url}{nextRecordsUrl} gives the next batch.
  HTTP 401 [{errorCode: INVALID_SESSION_ID}]: the token expired — a new one, once.
  HTTP 403 [{errorCode: REQUEST_LIMIT_EXCEEDED}] (and 429/503): retried with backoff.

One pull: the Opportunities whose SystemModstamp is at or after the stored watermark name the
(owner, month) pairs that changed; each pair's won deals of that month are read whole and
submitted as one `deal_log` fact (rep = the owner's person, by e-mail; month = CloseDate's;
orders = [{order_id: Id, amount: Amount}]) through the webhooks' submission path.  The
delivery id is the pair plus a digest of the fact: the same deals give the same delivery, so
pulling again — or a change to a field the fact does not carry — stores and decides nothing
new.  The watermark moves only after every pair was submitted.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import NamedTuple

from sqlalchemy import select

from trimtab.server.connectors.api_client import ApiClient, ConnectorError, Protocol
from trimtab.server.storage.models import PersonIdentity, SyncState, utcnow

API_VERSION = "v59.0"
CLIENT = "salesforce"                           # the facts' client, as a webhook client's name
STATE = "salesforce"                            # its row in sync_state
FORM = "deal_log"
FIRST_SINCE = "2000-01-01T00:00:00Z"
BUSY_CODES = {"REQUEST_LIMIT_EXCEEDED"}


class Salesforce(Protocol):
    name = "salesforce"

    def __init__(self, login_url: str, client_id: str, client_secret: str,
                 refresh_token: str | None = None, api_version: str = API_VERSION):
        self.login_url, self.client_id, self.client_secret = login_url.rstrip("/"), client_id, client_secret
        self.refresh_token, self.api_version = refresh_token, api_version
        self.instance_url: str | None = None

    def fetch_token(self, http: ApiClient) -> tuple[str, float | None]:
        form = {"grant_type": "refresh_token" if self.refresh_token else "client_credentials",
                "client_id": self.client_id, "client_secret": self.client_secret}
        if self.refresh_token:
            form["refresh_token"] = self.refresh_token
        status, doc = http.raw("POST", f"{self.login_url}/services/oauth2/token", data=form)
        if status != 200 or not isinstance(doc, dict) or not doc.get("access_token"):
            raise ConnectorError(f"salesforce /services/oauth2/token: HTTP {status}, "
                                 f"{(doc or {}).get('error', '')}: {(doc or {}).get('error_description', '')}")
        self.instance_url = (doc.get("instance_url") or self.login_url).rstrip("/")
        return doc["access_token"], None           # no lifetime given: kept until refused

    def expired(self, status, doc):
        return status == 401 and _code(doc) == "INVALID_SESSION_ID"

    def rate_limited(self, status, doc):
        return status in (429, 503) or (status == 403 and _code(doc) in BUSY_CODES)

    def error(self, status, doc):
        return None if status < 400 else (_code(doc) or str(status))


def _code(doc) -> str | None:
    if isinstance(doc, list) and doc and isinstance(doc[0], dict):
        return doc[0].get("errorCode")
    return None


def query(http: ApiClient, sf: Salesforce, soql: str) -> list[dict]:
    """Every record of a SOQL query, following nextRecordsUrl until `done`."""
    if sf.instance_url is None:
        http.access_token()                         # the token's answer names the instance
    doc = http.call("GET", f"{sf.instance_url}/services/data/{sf.api_version}/query",
                    params={"q": soql})
    records = list(doc.get("records") or ())
    while not doc.get("done", True):
        doc = http.call("GET", f"{sf.instance_url}{doc['nextRecordsUrl']}")
        records += doc.get("records") or ()
    return records


class Pulled(NamedTuple):
    changed: int                    # Opportunities modified since the watermark
    submitted: int                  # (rep, month) facts sent to the submission path
    stored: int                     # … of which stored as new (the rest were replays)
    skipped: list[str]              # owners nobody in the chart holds (by e-mail)
    watermark: str


def _soql_time(stamp: str) -> str:
    """SystemModstamp as Salesforce writes it (2026-08-03T10:00:00.000+0000) → a SOQL literal,
    to the second (records of that second are read again: harmless, they replay)."""
    when = dt.datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _month_range(month: str) -> tuple[str, str]:
    year, mon = map(int, month.split("-"))
    nxt = (year + mon // 12, mon % 12 + 1)
    return f"{month}-01", f"{nxt[0]:04d}-{nxt[1]:02d}-01"


def pull(app, ruleset, http: ApiClient, sf: Salesforce, *, full: bool = False) -> Pulled:
    """One pull (module docstring); `full` ignores the watermark (a re-sync: it replays)."""
    from trimtab.server.domain import submission
    from trimtab.server.domain.validation import parse_json
    sessions = app.extensions["trimtab.sessions"]
    with sessions() as session:
        state = session.get(SyncState, STATE)
        previous = state.watermark if state is not None else None
    since = FIRST_SINCE if full or not previous else _soql_time(previous)
    changed = query(http, sf, "SELECT Id, OwnerId, Owner.Email, CloseDate, SystemModstamp "
                              f"FROM Opportunity WHERE SystemModstamp >= {since} ORDER BY SystemModstamp")
    pairs = sorted({(r["OwnerId"], (r.get("Owner") or {}).get("Email") or "", r["CloseDate"][:7])
                    for r in changed if r.get("CloseDate")})
    submitted = stored = 0
    skipped: list[str] = []
    with sessions() as session:
        by_email = dict(session.execute(select(PersonIdentity.value, PersonIdentity.person_id)
                                        .where(PersonIdentity.kind == "email")).all())
    for owner, email, month in pairs:
        rep = by_email.get(email.lower())
        if rep is None:
            skipped.append(email or owner)
            continue
        start, end = _month_range(month)
        deals = query(http, sf, "SELECT Id, Amount, CloseDate FROM Opportunity WHERE IsWon = true "
                                f"AND OwnerId = '{owner}' AND CloseDate >= {start} AND CloseDate < {end} "
                                "ORDER BY Id")
        facts = {"rep": rep, "month": month,
                 "orders": [{"order_id": d["Id"], "amount": d.get("Amount") or 0} for d in deals]}
        text = json.dumps(facts, ensure_ascii=False, sort_keys=True)
        delivery = f"sf:{owner}:{month}:{hashlib.sha256(text.encode()).hexdigest()[:24]}"
        decoded = _decoded(ruleset, text)
        answer = submission.submit(app, ruleset, submission.Submission(
            FORM, decoded if decoded is not None else parse_json(text.encode()), text.encode(), text, CLIENT,
            delivery, None, app.config.get("LANG", "zh"), checked=decoded is not None))
        if answer.status >= 400:
            raise ConnectorError(f"deal_log for {rep} {month} refused: {answer.text[:300]}")
        submitted += 1
        stored += not answer.replayed
    top = max((r["SystemModstamp"] for r in changed), default=None)
    if top is not None:
        with sessions() as session, session.begin():
            state = session.get(SyncState, STATE) or SyncState(name=STATE)
            if not state.watermark or top > state.watermark:
                state.watermark = top
            state.updated_at = utcnow()
            session.add(state)
    return Pulled(len(changed), submitted, stored, sorted(set(skipped)), max(top or "", previous or ""))


def _decoded(ruleset, text: str):
    """The facts as a webhook's are (numbers exact), or None when the form refuses them:
    then the submission path says why, as it does for a webhook."""
    from trimtab.server.domain.validation import decode
    return decode(ruleset.schemas[FORM], text.encode())
