"""Webhook signatures: HMAC-SHA256 over `timestamp + "." + raw body`, one secret per client.

Headers:  X-Trimtab-Client (client name), X-Trimtab-Timestamp (Unix seconds),
          X-Trimtab-Signature (hex digest, optionally prefixed "sha256="),
          X-Trimtab-Delivery (unique per delivery; a retry repeats it).
"""
from __future__ import annotations

import hashlib
import hmac
import time

from .errors import DomainError

CLIENT, TIMESTAMP, SIGNATURE, DELIVERY = ("X-Trimtab-Client", "X-Trimtab-Timestamp",
                                          "X-Trimtab-Signature", "X-Trimtab-Delivery")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(headers, body: bytes, clients: dict, tolerance_s: int, now: float | None = None) -> str:
    """The client name, or DomainError(401) — nothing about which part failed leaks beyond it."""
    client, stamp, given = headers.get(CLIENT), headers.get(TIMESTAMP), headers.get(SIGNATURE)
    if not client or not stamp or not given:
        raise DomainError(401, "signature_missing",
                          f"{CLIENT}, {TIMESTAMP} and {SIGNATURE} headers are required")
    secret = clients.get(client)
    if secret is None:
        raise DomainError(401, "signature_invalid", "unknown client or wrong signature")
    try:
        age = abs((now or time.time()) - int(stamp))
    except ValueError:
        raise DomainError(401, "signature_invalid", f"{TIMESTAMP} must be Unix seconds") from None
    if age > tolerance_s:
        raise DomainError(401, "signature_expired",
                          f"timestamp is {int(age)} s away from now (tolerance {tolerance_s} s)")
    given = given.removeprefix("sha256=").strip().lower()
    if not hmac.compare_digest(sign(secret, stamp, body), given):
        raise DomainError(401, "signature_invalid", "unknown client or wrong signature")
    return client
