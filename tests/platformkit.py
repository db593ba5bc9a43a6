"""The platforms as the tests configure them: each one's secret (the generic webhook client's
too), the app configuration with every platform on, and 简道云's request signing."""
from __future__ import annotations

import hashlib
import time

from serverkit import SECRET

SECRETS = {"generic": SECRET, "jiandaoyun": "jdy-secret", "mingdao": "md-token-123",
           "yida": "yida-key", "feishu": "lark-encrypt-key"}


def platforms_config() -> dict:
    """An app's configuration with every platform configured, answering in Chinese."""
    return {"LANG": "zh", "PLATFORMS": {k: v for k, v in SECRETS.items() if k != "generic"}}


def signed_jdy(client, url, body: bytes, delivery: str):
    """POST `body` to `url` signed as 简道云 signs a data push."""
    stamp, nonce = str(int(time.time())), "n0nce"
    sig = hashlib.sha1(f"{nonce}:".encode() + body + f":{SECRETS['jiandaoyun']}:{stamp}".encode()).hexdigest()
    return client.post(f"{url}?timestamp={stamp}&nonce={nonce}", data=body,
                       headers={"X-JDY-Signature": sig, "X-JDY-DeliverId": delivery,
                                "Content-Type": "application/json"})
