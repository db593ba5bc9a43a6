"""DingTalk's encrypted HTTP event push (事件订阅 "HTTP推送"): signature, decryption, and the
encrypted "success" it must receive back.

Followed: DingTalk's published callback crypto library, open-dingtalk/DingTalk-Callback-Crypto
(DingCallbackCrypto.java: getSignature, encrypt, decrypt, PKCS7Padding), and its README's
request handling (query `msg_signature` — older pushes say `signature` — `timestamp`/`timeStamp`
and `nonce`, body `{"encrypt": …}`, answer `getEncryptedMap("success")`):

- signature: hex SHA-1 of the four texts token, timestamp, nonce, encrypt, sorted, joined;
- key: base64-decode(aes_key + "="), the aes_key being the 43-character EncodingAESKey;
  IV: the key's first 16 bytes; AES-256-CBC, PKCS#7 padding to 32-byte blocks;
- plaintext: 16 random bytes + the message length (4 bytes, big-endian) + the message + the
  owner key (the app key of an internal app's event subscription, or the corp id);
- the answer: {msg_signature, timeStamp, nonce, encrypt} of "success".
"""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
import struct

BLOCK = 32                      # DingTalk pads to 32 bytes, not AES's 16


class CryptoError(ValueError):
    pass


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()


def _key(aes_key: str) -> bytes:
    if len(aes_key) != 43:
        raise CryptoError("the DingTalk EncodingAESKey has 43 characters")
    return base64.b64decode(aes_key + "=")


def _cipher(key: bytes):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def decrypt(encrypt: str, aes_key: str, owner_key: str) -> bytes:
    """The message, or CryptoError when it does not decrypt or names another owner."""
    key = _key(aes_key)
    try:
        data = base64.b64decode(encrypt, validate=True)
        decryptor = _cipher(key).decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
    except ValueError:
        raise CryptoError("not AES-CBC ciphertext of this key") from None
    pad = plain[-1] if plain else 0
    if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise CryptoError("bad padding")
    plain = plain[:-pad]
    if len(plain) < 20:
        raise CryptoError("too short")
    (length,) = struct.unpack(">I", plain[16:20])
    message, owner = plain[20:20 + length], plain[20 + length:]
    if len(message) != length or owner != owner_key.encode():
        raise CryptoError("the message is not for this app")
    return message


def encrypt(message: bytes, aes_key: str, owner_key: str) -> str:
    plain = os.urandom(16) + struct.pack(">I", len(message)) + message + owner_key.encode()
    pad = BLOCK - len(plain) % BLOCK
    plain += bytes([pad]) * pad
    encryptor = _cipher(_key(aes_key)).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def envelope(message: bytes, token: str, aes_key: str, owner_key: str, timestamp: str,
             nonce: str | None = None) -> dict:
    """The signed, encrypted answer DingTalk expects: {msg_signature, timeStamp, nonce, encrypt}."""
    nonce = nonce or secrets.token_hex(8)
    encrypted = encrypt(message, aes_key, owner_key)
    return {"msg_signature": signature(token, timestamp, nonce, encrypted), "timeStamp": timestamp,
            "nonce": nonce, "encrypt": encrypted}
