"""Webhook signatures, one secret per client.

Headers:  X-Trimtab-Client (client name), X-Trimtab-Timestamp (Unix seconds),
          X-Trimtab-Signature, X-Trimtab-Delivery (unique per delivery; a retry repeats it).

Scheme v2 (current): `X-Trimtab-Signature: v2=<hex HMAC-SHA256 of
"v2:" + timestamp + "." + delivery id + "." + raw body>` — the delivery id is signed, so a
captured request sent again under another id does not verify.
Scheme v1 (accepted until config SIGNATURE_V1_UNTIL, then refused): `sha256=<hex HMAC-SHA256
of timestamp + "." + raw body>` or the bare hex.  Its delivery id is not signed; every accepted
signature is kept with its delivery (`deliveries.proof`, unique per client), so the same
signature under another delivery id is refused (409 replayed_request) and stores nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time

from trimtab.server.core.errors import DomainError
from trimtab.server.messages import msg

CLIENT, TIMESTAMP, SIGNATURE, DELIVERY = ("X-Trimtab-Client", "X-Trimtab-Timestamp",
                                          "X-Trimtab-Signature", "X-Trimtab-Delivery")


def same(given, expected) -> bool:
    """Constant-time equality of a secret someone sent and ours.  As bytes: `compare_digest`
    raises on non-ASCII text, and a header or a URL may carry any character."""
    def raw(value) -> bytes:
        return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")
    return hmac.compare_digest(raw(given), raw(expected))


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Scheme v1 (legacy): the delivery id is not covered."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def sign_v2(secret: str, timestamp: str, delivery: str, body: bytes) -> str:
    base = b"v2:" + timestamp.encode() + b"." + delivery.encode("utf-8", "surrogatepass") + b"." + body
    return hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: str, delivery: str, body: bytes) -> str:
    return "v2=" + sign_v2(secret, timestamp, delivery, body)


def verify(headers, body: bytes, clients: dict, tolerance_s: int, now: float | None = None,
           v1_until: dt.date | None = None) -> tuple[str, str]:
    """(the client name, the signature as sent — kept against replays), or DomainError(401):
    nothing about which part failed leaks beyond it."""
    client, stamp, given = headers.get(CLIENT), headers.get(TIMESTAMP), headers.get(SIGNATURE)
    if not client or not stamp or not given:
        raise DomainError("signature_missing",
                          msg("{client}, {timestamp} and {signature} headers are required",
                              client=CLIENT, timestamp=TIMESTAMP, signature=SIGNATURE))
    secret = clients.get(client)
    if secret is None:
        raise DomainError("signature_invalid", msg("unknown client or wrong signature"))
    try:
        age = abs((now or time.time()) - int(stamp))
    except ValueError:
        raise DomainError("signature_invalid", msg("{timestamp} must be Unix seconds", timestamp=TIMESTAMP)) from None
    if age > tolerance_s:
        raise DomainError("signature_expired",
                          msg("timestamp is {age} s away from now (tolerance {tolerance_s} s)",
                              age=int(age), tolerance_s=tolerance_s))
    given = given.strip()
    if given.startswith("v2="):
        expected = sign_v2(secret, stamp, headers.get(DELIVERY) or "", body)
        if not same(given[3:].lower(), expected):
            raise DomainError("signature_invalid", msg("unknown client or wrong signature"))
        return client, given.lower()
    if v1_until is not None and dt.date.today() > v1_until:
        raise DomainError("signature_scheme_retired", msg("signatures without the delivery id were accepted "
                                                          "until {v1_until}; sign with scheme v2",
                                                          v1_until=v1_until))
    if not same(given.removeprefix("sha256=").lower(), sign(secret, stamp, body)):
        raise DomainError("signature_invalid", msg("unknown client or wrong signature"))
    return client, "v1=" + given.removeprefix("sha256=").lower()
