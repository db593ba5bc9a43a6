"""A low-code platform, simulated: it reads a plugin manifest, fills forms from their schemas,
pushes them in the platform's own format and signing, and follows the returned approval
through the workflow definition, acting as each approver through the manifest's actions.

It talks HTTP through a `post(url, body, headers)` / `get(url)` pair, so the same simulator
drives the in-process test client or a server on a port."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import time
import uuid
from decimal import Decimal
from pathlib import Path

from trimtab.server.plugin.fields import field_kind
from trimtab.server.core.security import signature_header

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = ROOT / "plugin_manifests"


class Simulator:
    def __init__(self, platform: str, client, secret: str, tz, client_name: str = "platform"):
        self.manifest = json.loads((MANIFESTS / f"{platform}.json").read_text(encoding="utf-8"))
        self.platform, self.client, self.secret, self.tz = platform, client, secret, tz
        self.client_name = client_name
        self.hooks = {h["form"]: h for h in self.manifest["webhooks"]}
        self.actions = {a["id"]: a for a in self.manifest["actions"]}
        self.sent: list = []            # (url, body, headers) of every push, for retries
        self.records: dict = {}         # form → the platform record ids sent, in order

    # ------------------------------------------------------------------ forms
    def schema(self, form: str) -> dict:
        return self.client.get(self.hooks[form]["schema"]).json

    def fill(self, form: str, **values) -> dict:
        """A submission: the given values, the rest of the required fields filled from the
        form's schema (first option, minimum, today)."""
        schema = self.schema(form)
        facts = dict(values)
        for name in schema.get("required", []):
            if name not in facts:
                facts[name] = _example(schema["properties"][name])
        return facts

    # ------------------------------------------------------------------ pushes
    def push(self, form: str, facts: dict, delivery: str | None = None):
        """Send `facts` as this platform sends a new record of `form`."""
        hook = self.hooks[form]
        url = hook["url"].replace("{token}", self.secret)
        delivery = delivery or uuid.uuid4().hex
        body, headers = getattr(self, f"_{self.platform}")(form, facts, delivery)
        query = headers.pop("?", "")
        self.sent.append((url + query, body, headers))
        return self.client.post(url + query, data=body, headers=headers)

    def retry_last(self):
        url, body, headers = self.sent[-1]
        return self.client.post(url, data=body, headers=headers)

    def _generic(self, form, facts, delivery):
        body = _dumps(facts)
        stamp = str(int(time.time()))
        return body, {"Content-Type": "application/json", "X-Trimtab-Client": self.client_name,
                      "X-Trimtab-Timestamp": stamp,
                      "X-Trimtab-Signature": signature_header(self.secret, stamp, delivery, body),
                      "X-Trimtab-Delivery": delivery}

    def _jiandaoyun(self, form, facts, delivery, op="data_create", record_id=None):
        mapping = self._mapping(form)
        record = {"_id": record_id or uuid.uuid4().hex[:24], "appId": "app-trimtab",
                  "entryId": f"entry-{form}", "creator": {"username": "platform-admin"}}
        self.records.setdefault(form, []).append(record["_id"])
        record.update(self._record(form, facts, mapping["fields"], mapping["subforms"]))
        body = _dumps({"op": op, "data": record,
                       "opTime": int(time.time() * 1000)})
        stamp, nonce = str(int(time.time())), uuid.uuid4().hex[:12]
        signature = hashlib.sha1(f"{nonce}:".encode() + body + f":{self.secret}:{stamp}".encode()).hexdigest()
        return body, {"Content-Type": "application/json", "X-JDY-Signature": signature,
                      "X-JDY-DeliverId": delivery, "?": f"?timestamp={stamp}&nonce={nonce}"}

    def _mingdao(self, form, facts, delivery):
        return _dumps({"delivery_id": delivery, "data": facts}), {"Content-Type": "application/json"}

    def _yida(self, form, facts, delivery):
        return _dumps({"formInstId": f"FINST-{delivery}", "formData": facts}), \
            {"Content-Type": "application/json", "X-Api-Key": self.secret, "X-Yida-Request-Id": delivery}

    def _feishu(self, form, facts, delivery, action="record_added", record_id=None):
        """A 飞书多维表格 record event as 飞书 documents it (drive.file.bitable_record_changed_v1:
        field ids, field values JSON-serialised)."""
        mapping = self._mapping(form)
        record = self._record(form, facts, mapping["fields"], mapping["subforms"])
        record_id = record_id or "rec" + uuid.uuid4().hex[:10]
        self.records.setdefault(form, []).append(record_id)
        values = [{"field_id": k, "field_value": json.dumps(v, ensure_ascii=False, default=_plain)}
                  for k, v in record.items()]
        change = {"record_id": record_id, "action": action}
        change["before_value" if action == "record_deleted" else "after_value"] = values
        return self._lark({"schema": "2.0", "header": {
            "event_id": delivery, "token": "verification-token", "create_time": str(int(time.time() * 1000)),
            "event_type": "drive.file.bitable_record_changed_v1", "tenant_key": "tenant", "app_id": "cli_trimtab"},
            "event": {"file_token": "bascnTrimtab", "file_type": "bitable", "table_id": mapping["table_id"],
                      "revision": 1, "operator_id": {"open_id": "ou_operator", "union_id": "on_operator",
                                                     "user_id": "operator"},
                      "action_list": [change], "subscriber_id_list": [], "update_time": int(time.time())}})

    def lark_event(self, event: dict):
        """Send a 飞书 event (a fixture, say) signed and encrypted as 飞书 does."""
        url = "/platforms/feishu/events"
        body, headers = self._lark(event)
        self.sent.append((url, body, headers))
        return self.client.post(url, data=body, headers=headers)

    def _lark(self, event: dict):
        body = _dumps({"encrypt": lark_encrypt(_dumps(event), self.secret)})
        stamp, nonce = str(int(time.time())), uuid.uuid4().hex[:12]
        signature = hashlib.sha256((stamp + nonce + self.secret).encode() + body).hexdigest()
        return body, {"Content-Type": "application/json", "X-Lark-Signature": signature,
                      "X-Lark-Request-Timestamp": stamp, "X-Lark-Request-Nonce": nonce}

    def remove(self, form: str, facts: dict, record_id: str, delivery: str | None = None):
        """The platform deletes a record it sent: 飞书 record_deleted, 简道云 data_remove."""
        delivery = delivery or uuid.uuid4().hex
        if self.platform == "feishu":
            body, headers = self._feishu(form, facts, delivery, "record_deleted", record_id)
        else:
            body, headers = self._jiandaoyun(form, facts, delivery, "data_remove", record_id)
        url = self.hooks[form]["url"] + headers.pop("?", "")
        self.sent.append((url, body, headers))
        return self.client.post(url, data=body, headers=headers)

    def _mapping(self, form: str) -> dict:
        return json.loads((MANIFESTS / self.hooks[form]["mapping"]).read_text(encoding="utf-8"))

    def _record(self, form, facts, keys, subforms, props=None) -> dict:
        """Facts as the platform's widgets hold them: widget keys, members and departments as
        objects, dates as UTC date-times or millisecond stamps, uploads as file objects."""
        props = props if props is not None else self.schema(form)["properties"]
        widget = {field: key for key, field in keys.items() if key.startswith(("_widget_", "fld"))}
        out = {}
        for name, value in facts.items():
            spec = props.get(name, {})
            kind = field_kind(name, spec)
            if kind == "subform":
                item_props = spec["items"].get("properties", {})
                value = [self._record(form, item, subforms.get(name, {}), {}, item_props) for item in value]
            elif kind == "member" and self.platform == "feishu":
                value = [{"id": value, "name": value, "en_name": value}]
            elif kind == "member":
                value = {"username": value, "name": value}
            elif kind == "department" and self.platform == "feishu":     # Bitable: a text field
                value = [{"type": "text", "text": value}]
            elif kind == "department":
                value = {"dept_no": abs(hash(value)) % 1000, "name": value}
            elif kind == "date":
                local = dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), self.tz)
                utc = local.astimezone(dt.timezone.utc)
                value = utc.strftime("%Y-%m-%dT%H:%M:%S.000Z") if self.platform == "jiandaoyun" \
                    else int(utc.timestamp() * 1000)
            elif kind == "attachment":
                value = [{"name": v, "url": f"https://files.example/{i}", "size": 1024, "mime": "application/pdf"}
                         for i, v in enumerate(value)]
            if self.platform == "feishu" and kind == "subform":      # no sub-tables: a JSON text
                value = [{"type": "text", "text": json.dumps(value, ensure_ascii=False, default=_plain)}]
            elif self.platform == "feishu" and kind == "text":
                value = [{"type": "text", "text": value}]
            out[widget.get(name, name)] = value
        return out

    # ------------------------------------------------------------------ approvals
    def follow(self, approval: dict, workflow: str, credentials, verdicts: dict | None = None) -> dict:
        """Walk the approval through its workflow definition: at each step the resolved
        approver acts with their own `credentials(person)` headers (approve unless `verdicts`
        says otherwise for the role)."""
        definition = self.client.get(f"/v1/workflows/{workflow}").json
        roles_in_order = [role for step in definition["steps"] for role in step["roles"]]
        verdicts = verdicts or {}
        state = approval
        while state["status"] == "pending":
            step = next(s for s in state["steps"] if s["status"] == "waiting"
                        and s["position"] == state["position"])
            assert step["role"] in roles_in_order, (step, roles_in_order)   # the definition's own
            action = self.actions["reject" if verdicts.get(step["role"]) == "reject" else "approve"]
            body = dict(action["body"], comment=f"{step['role']} via {self.platform}")
            r = self.client.post(action["url"].replace("{approval_id}", str(state["id"])),
                                 data=_dumps(body), headers={"Content-Type": "application/json",
                                                             **credentials(step["approver"])})
            assert r.status_code == 200, r.json
            state = r.json
        return state


def lark_encrypt(plain: bytes, encrypt_key: str) -> str:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    key = hashlib.sha256(encrypt_key.encode()).digest()
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(data) + encryptor.finalize()).decode()


def dingtalk_encrypt(message: bytes, aes_key: str, owner_key: str) -> str:
    """DingTalk's callback encryption as its published library does it: AES-256-CBC with
    key = base64(aes_key + "="), IV = key[:16], plaintext = 16 random bytes + 4-byte big-endian
    length + message + owner key (app key or corp id), PKCS#7 padded to 32 bytes."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    key = base64.b64decode(aes_key + "=")
    plain = os.urandom(16) + len(message).to_bytes(4, "big") + message + owner_key.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def dingtalk_decrypt(encrypted: str, aes_key: str) -> tuple[bytes, bytes]:
    """(message, owner key) of a DingTalk-encrypted text."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    key = base64.b64decode(aes_key + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    plain = plain[:-plain[-1]]
    length = int.from_bytes(plain[16:20], "big")
    return plain[20:20 + length], plain[20 + length:]


def dingtalk_signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


def _example(spec: dict):
    if "enum" in spec:
        return spec["enum"][0]
    kind = spec.get("type")
    if kind in ("number", "integer"):
        return spec.get("minimum", 0)
    if kind == "array":
        return []
    if kind == "boolean":
        return False
    if spec.get("format") == "date":
        return dt.date.today().isoformat()
    return "示例"


def _plain(d):
    return float(d) if isinstance(d, Decimal) else str(d)


def _dumps(doc) -> bytes:
    return json.dumps(doc, ensure_ascii=False, default=_plain).encode()
