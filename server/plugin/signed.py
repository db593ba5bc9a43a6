"""How each platform proves a push is its own: the secrets, the 简道云 signature, the 飞书
signature and encryption.  Shared by the intake adapters (routes.py) and the approval
callbacks (approval_events.py); a failed check is a 401 and nothing is read further."""
from __future__ import annotations

import base64
import hashlib
import time

from flask import current_app, request

from trimtab.server.config import PLATFORM_SECRETS
from trimtab.server.messages import msg
from trimtab.server.core.errors import DomainError
from trimtab.server.core.security import same
from trimtab.server.domain.validation import parse_json, parse_text


# The platforms' proofs as OpenAPI parameters (the routes' contracts).
def header_param(name: str, description: str, required: bool = True) -> dict:
    return {"name": name, "in": "header", "required": required, "schema": {"type": "string"},
            "description": description}


def query_param(name: str, description: str) -> dict:
    return {"name": name, "in": "query", "required": True, "schema": {"type": "string", "maxLength": 4000},
            "description": description}


JDY_SIGNED = (query_param("timestamp", "Unix seconds, within 5 minutes"), query_param("nonce", "the push's nonce"),
              header_param("X-JDY-Signature", "hex SHA-1 of nonce:body:secret:timestamp"))
LARK_SIGNED = (header_param("X-Lark-Signature", "hex SHA-256 of timestamp + nonce + encrypt key + body"),
               header_param("X-Lark-Request-Timestamp", "Unix seconds, within 5 minutes"),
               header_param("X-Lark-Request-Nonce", "the push's nonce"))


def platform_secret(platform: str) -> str:
    secret = current_app.config["PLATFORMS"].get(platform)
    if not secret:
        raise DomainError("platform_not_configured",
                          msg("{platform} pushes are not accepted: set {platform_secrets}",
                              platform=platform, platform_secrets=PLATFORM_SECRETS[platform]))
    return secret


def unauthorized(message: str, code: str = "signature_invalid"):
    raise DomainError(code, message)


def fresh(stamp: str) -> None:
    """The timestamp (seconds, or milliseconds as DingTalk sends) is within the tolerance."""
    try:
        value = int(stamp)
    except ValueError:
        unauthorized(msg("the timestamp is not a number of seconds"))
    seconds = value / 1000 if value > 10 ** 11 else value
    if abs(time.time() - seconds) > current_app.config["SIGNATURE_TOLERANCE_S"]:
        unauthorized(msg("the timestamp is more than 5 minutes away from now"), "signature_expired")


# ---------------------------------------------------------------------- 简道云
def jdy_signature(nonce: str, body: bytes, secret: str, timestamp: str) -> str:
    """简道云 data push: hex SHA-1 of `nonce:raw body:secret:timestamp`."""
    return hashlib.sha1(f"{nonce}:".encode() + body + f":{secret}:{timestamp}".encode()).hexdigest()


def verify_jdy(raw: bytes) -> None:
    """The query's nonce and timestamp and the X-JDY-Signature header match the raw body."""
    secret = platform_secret("jiandaoyun")
    nonce, stamp = request.args.get("nonce", ""), request.args.get("timestamp", "")
    given = request.headers.get("X-JDY-Signature", "")
    if not (nonce and stamp and given):
        unauthorized(msg("简道云 push without nonce, timestamp or X-JDY-Signature"), "signature_missing")
    fresh(stamp)
    if not same(given, jdy_signature(nonce, raw, secret, stamp)):
        unauthorized(msg("X-JDY-Signature does not match the body"))


# ---------------------------------------------------------------------- 飞书
def lark_signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """飞书 event: hex SHA-256 of timestamp + nonce + encrypt key + raw body."""
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode() + body).hexdigest()


def lark_decrypt(encrypted: str, encrypt_key: str) -> bytes:
    """{"encrypt": base64(iv + AES-256-CBC(plain))}, key = SHA-256 of the encrypt key."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    data = base64.b64decode(encrypted)
    key = hashlib.sha256(encrypt_key.encode()).digest()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(data[:16])).decryptor()
    padded = decryptor.update(data[16:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def open_lark(raw: bytes) -> tuple[dict, bytes]:
    """(the event, its clear bytes) of a 飞书 push: X-Lark-Signature checked, then an
    {"encrypt": …} body decrypted.  The clear bytes are what a retry repeats (飞书 may encrypt
    a retry afresh).  飞书 signs events but not the request-URL check ("安全校验 … 不包括请求
    网址校验", 接收事件 guide): an unsigned push is read only if it decrypts with this server's
    key to a url_verification, whose answer (the challenge) changes nothing."""
    key = platform_secret("feishu")
    stamp = request.headers.get("X-Lark-Request-Timestamp", "")
    nonce = request.headers.get("X-Lark-Request-Nonce", "")
    given = request.headers.get("X-Lark-Signature", "")
    signed = bool(stamp and nonce and given)
    if signed:
        fresh(stamp)
        if not same(given, lark_signature(stamp, nonce, key, raw)):
            unauthorized(msg("X-Lark-Signature does not match the body"))
    envelope, clear = _lark_clear(raw, key, signed)
    if not signed and not (isinstance(envelope, dict) and clear is not raw
                           and envelope.get("type") == "url_verification"):
        unauthorized(msg("飞书 event without X-Lark-Signature, -Request-Timestamp or -Request-Nonce"),
                     "signature_missing")
    if not isinstance(envelope, dict):
        raise DomainError("schema_violation", msg("a 飞书 event is a JSON object"), "$")
    return envelope, clear


def _lark_clear(raw: bytes, key: str, signed: bool):
    try:
        envelope = parse_json(raw)
    except DomainError:
        if not signed:
            unauthorized(msg("飞书 event without X-Lark-Signature"), "signature_missing")
        raise
    if not (isinstance(envelope, dict) and isinstance(envelope.get("encrypt"), str)):
        return envelope, raw
    try:
        clear = lark_decrypt(envelope["encrypt"], key)
        return parse_text(clear), clear
    # Another key's ciphertext unpads as valid about once in 256 and then is no JSON: it did
    # not decrypt with ours either (CI of efcc5c2: 400 malformed_json for a forged check).
    except (ValueError, TypeError, DomainError):
        if not signed:
            unauthorized(msg("飞书 event without X-Lark-Signature"), "signature_missing")
        raise DomainError("bad_encryption", msg("the `encrypt` field does not decrypt with this server's "
                                                "encrypt key"), "$.encrypt") from None
