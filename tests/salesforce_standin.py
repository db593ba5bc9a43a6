"""A local stand-in for Salesforce's OAuth token endpoint and REST query API on 127.0.0.1,
answering as the REST API Developer Guide shows: a query's first batch with `done: false` and
`nextRecordsUrl` (/services/data/vXX.X/query/01gD0000002HU6KIAW-2000), relationship fields as
nested objects with `attributes`, HTTP 401 [{message: "Session expired or invalid",
errorCode: INVALID_SESSION_ID}] and 403 [{errorCode: REQUEST_LIMIT_EXCEEDED}].  It pages
`batch` records at a time, expires the token once (the second query call) and answers the
rate limit once (the first nextRecordsUrl).  SOQL: the SELECT … FROM Opportunity WHERE a AND
b … ORDER BY f that the connector sends (=, >=, <; 'text', true, dates, date-times)."""
from __future__ import annotations

import datetime as dt
import re
import secrets

from directory_standin import JsonStandIn

CLIENT = ("3MVG9standin", "salesforce-secret-for-tests")
REFRESH = "5Aep861standin"
VERSION = "v59.0"
OWNERS = {"005RM000001a": "li@fintech.example", "005RM000001b": "zhaom@fintech.example"}


def opportunity(oid, owner, amount, close, stamp, won=True) -> dict:
    return {"Id": oid, "OwnerId": owner, "Amount": amount, "CloseDate": close, "IsWon": won,
            "StageName": "Closed Won" if won else "Negotiation/Review", "SystemModstamp": stamp}


DEALS = [opportunity("006RM00000A1", "005RM000001a", 180000, "2026-08-05", "2026-08-05T02:00:00.000+0000"),
         opportunity("006RM00000A2", "005RM000001a", 260000, "2026-08-12", "2026-08-12T03:30:00.000+0000"),
         opportunity("006RM00000A3", "005RM000001b", 90000, "2026-08-20", "2026-08-20T08:15:00.000+0000"),
         opportunity("006RM00000A4", "005RM000001a", 300000, "2026-09-30", "2026-08-25T09:00:00.000+0000",
                     won=False)]


def _time(text: str):
    text = text.strip("'")
    if "T" in text:
        return dt.datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return dt.date.fromisoformat(text)
    return {"true": True, "false": False}.get(text, text)


def _value(record, field):
    if field == "Owner.Email":
        return OWNERS.get(record["OwnerId"])
    return _time(str(record[field])) if field in ("SystemModstamp", "CloseDate") else record[field]


OPS = {"=": lambda a, b: a == b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b,
       ">": lambda a, b: a > b}


class SalesforceStandIn(JsonStandIn):
    def __init__(self, batch: int = 2):
        super().__init__()
        self.deals = [dict(d) for d in DEALS]
        self.batch, self.tokens, self.cursors = batch, set(), {}
        self.query_calls = self.expired = self.rate_limited = 0

    def answer(self, method, path, query, headers, body):
        if path == "/services/oauth2/token":
            if (body.get("client_id"), body.get("client_secret")) != CLIENT or \
                    body.get("grant_type") != "refresh_token" or body.get("refresh_token") != REFRESH:
                return 400, {"error": "invalid_grant", "error_description": "authentication failure"}
            token = "00DRM000000" + secrets.token_hex(12)
            self.tokens.add(token)
            return 200, {"access_token": token, "instance_url": self.url, "token_type": "Bearer",
                         "id": f"{self.url}/id/00DRM0000000001/005RM0000000001",
                         "issued_at": "1785000000000", "signature": "standin"}
        token = (headers.get("Authorization") or "")[7:]
        if token not in self.tokens:
            return 401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
        self.query_calls += 1
        if self.query_calls == 2 and not self.expired:
            self.expired += 1
            self.tokens.discard(token)
            return 401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
        base = f"/services/data/{VERSION}/query"
        if path == base:
            records = self._select(query["q"])
            return 200, self._batch(records, 0)
        if path.startswith(base + "/"):
            if not self.rate_limited:
                self.rate_limited += 1
                return 403, [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
            records, start = self.cursors.pop(path.rsplit("/", 1)[1])
            return 200, self._batch(records, start)
        return 404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]

    def _batch(self, records: list, start: int) -> dict:
        doc = {"totalSize": len(records), "done": start + self.batch >= len(records),
               "records": records[start:start + self.batch]}
        if not doc["done"]:
            locator = f"01gRM0000{secrets.token_hex(4)}-{start + self.batch}"
            self.cursors[locator] = (records, start + self.batch)
            doc["nextRecordsUrl"] = f"/services/data/{VERSION}/query/{locator}"
        return doc

    def _select(self, soql: str) -> list:
        m = re.fullmatch(r"SELECT (.+) FROM Opportunity WHERE (.+?)(?: ORDER BY (\w+))?", soql.strip())
        assert m, f"stand-in cannot read: {soql}"
        fields = [f.strip() for f in m.group(1).split(",")]
        conds = [re.fullmatch(r"([\w.]+) (=|>=|<|>) (\S+)", c.strip()) for c in m.group(2).split(" AND ")]
        assert all(conds), f"stand-in cannot read the WHERE of: {soql}"
        found = [d for d in self.deals
                 if all(OPS[c.group(2)](_value(d, c.group(1)), _time(c.group(3))) for c in conds)]
        if m.group(3):
            found.sort(key=lambda d: str(d[m.group(3)]))
        out = []
        for d in found:
            rec = {"attributes": {"type": "Opportunity",
                                  "url": f"/services/data/{VERSION}/sobjects/Opportunity/{d['Id']}"}}
            for f in fields:
                if f == "Owner.Email":
                    rec["Owner"] = {"attributes": {"type": "User", "url": f"/services/data/{VERSION}"
                                                   f"/sobjects/User/{d['OwnerId']}"}, "Email": OWNERS[d["OwnerId"]]}
                else:
                    rec[f] = d[f]
            out.append(rec)
        return out
