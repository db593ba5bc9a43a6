"""Where notifications go: channel configuration and each platform's signing and format.

Configuration is a file (default `rules/channels.yaml`); secrets and URLs come from the
environment, named in the file:

    channels:
      dingtalk-east: {type: dingtalk, url_env: TRIMTAB_DINGTALK_EAST_URL, secret_env: TRIMTAB_DINGTALK_EAST_SECRET}
      hooks:         {type: webhook,  url_env: TRIMTAB_NOTIFY_URL, secret_env: TRIMTAB_NOTIFY_SECRET}
    routes:                      # role -> channel; `default` for the rest
      direct_manager: dingtalk-east
      default: hooks
    people:                      # person id -> channel, before their role's route
      hq.1: mail

An alert carries a link to its decision's "why": DingTalk channels send it as an `actionCard`
and Feishu channels as an `interactive` card with one button to it, @mentioning the people
concerned (DingTalk userid or mobile, Feishu open_id); `format: markdown` / `format: post`
keep plain messages.  A channel's `link` replaces the button's URL, with {message_id}, {rule}
and {subject} filled in; a message without a link (a report) goes out plain.

An e-mail channel without `to` writes to each recipient's address from the organisation chart.

A message goes out in its receiver's language: a person's (the org chart's `lang`) on a channel
that reaches that person, the deployment's (TRIMTAB_LANG) on a group's — DingTalk, Feishu and
WeCom robots and an e-mail channel with a fixed `to`, unless the channel says `group: false`.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from trimtab.server.core.security import sign as sign_webhook
from trimtab.server.messages import msg
from trimtab.server.storage.outbox_rows import PERSON

TIMEOUT_S = 10
MAX_TIMEOUT_S = 30          # per message, well inside a delivery job's 120 s
CONCURRENCY = 2             # messages in flight per channel and dispatch run
_LINK_FIELD = re.compile(r"\{(message_id|rule|subject)\}")
# The platforms' own limits: DingTalk robots take 20 messages a minute, Feishu bots 5 a second.
DEFAULT_RATES = {"dingtalk": (20, 60.0), "feishu": (5, 1.0)}


class ChannelError(Exception):
    """A channel that is misconfigured or refused a message; the message says which."""


@dataclass
class Channel:
    name: str
    type: str
    url: str | None
    secret: str | None
    problem: str | None = None          # set when the configuration is incomplete
    rate: tuple[int, float] | None = None   # at most N messages per S seconds
    options: dict | None = None         # e-mail: from, to, starttls, user_env/password_env
    format: str | None = None           # dingtalk: markdown | actioncard; feishu: post | card
    link: str | None = None             # a card's button: URL with {message_id} {rule} {subject}
    timeout_s: float = TIMEOUT_S        # per request: a receiver that hangs is a failed attempt
    concurrency: int = CONCURRENCY      # at most this many of its messages in flight at once
    group: bool = False                 # read by a group: the deployment's language, not a person's

    def send(self, message_id: str, payload: dict) -> None:
        if self.problem:
            raise ChannelError(self.problem)
        sender = SENDERS.get(self.type)
        if sender is None:
            raise ChannelError(f"channel `{self.name}`: unknown type `{self.type}`")
        sender(self, message_id, payload)


def load_channels(path, env=None) -> tuple[dict, dict]:
    """(channels by name, routes role -> channel name); a missing file means no channels."""
    env = os.environ if env is None else env
    p = Path(path)
    if not p.exists():
        return {}, {}
    doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    channels = {}
    for name, spec in (doc.get("channels") or {}).items():
        spec = spec or {}
        url = env.get(spec.get("url_env", "")) if spec.get("url_env") else spec.get("url")
        secret = env.get(spec.get("secret_env", "")) if spec.get("secret_env") else None
        problem = None
        if not url:
            problem = f"channel `{name}`: no URL (set {spec.get('url_env', 'url')})"
        elif spec.get("secret_env") and not secret:
            problem = f"channel `{name}`: no secret (set {spec['secret_env']})"
        kind = str(spec.get("type", ""))
        rate = spec.get("rate")
        rate = (int(rate["count"]), float(rate["per_s"])) if isinstance(rate, dict) else DEFAULT_RATES.get(kind)
        options = None
        if kind == "email":
            options = {"from": spec.get("from"), "to": spec.get("to") or [],
                       "starttls": bool(spec.get("starttls", False)),
                       "user": env.get(spec.get("user_env", "")) if spec.get("user_env") else None,
                       "password": env.get(spec.get("password_env", "")) if spec.get("password_env") else None}
            if isinstance(options["to"], str):
                options["to"] = [options["to"]]
            if problem is None and not options["from"]:
                problem = f"channel `{name}`: e-mail needs `from`"
        fmt = spec.get("format")
        formats = CARD_FORMATS.get(kind, ())
        if problem is None and fmt is not None and fmt not in formats:
            problem = (f"channel `{name}`: format `{fmt}` is not one of {', '.join(formats)}"
                       if formats else f"channel `{name}`: type `{kind}` has no `format` option")
        try:
            timeout = min(float(spec.get("timeout_s", TIMEOUT_S)), MAX_TIMEOUT_S)
        except (TypeError, ValueError):
            timeout = TIMEOUT_S
            problem = problem or f"channel `{name}`: timeout_s must be a number of seconds"
        try:
            concurrency = max(1, int(spec.get("concurrency", CONCURRENCY)))
        except (TypeError, ValueError):
            concurrency = CONCURRENCY
            problem = problem or f"channel `{name}`: concurrency must be a whole number"
        group = spec.get("group")
        if group is None:       # robots post to a group chat; a fixed `to` is a shared mailbox
            group = kind in GROUP_TYPES or bool(options and options["to"])
        channels[name] = Channel(name, kind, url, secret, problem, rate, options, fmt,
                                 spec.get("link"), timeout, concurrency, bool(group))
    routes = {str(k): str(v) for k, v in (doc.get("routes") or {}).items()}
    routes.update({PERSON + str(k): str(v) for k, v in (doc.get("people") or {}).items()})
    return channels, routes


CARD_FORMATS = {"dingtalk": ("markdown", "actioncard"), "feishu": ("post", "card")}
GROUP_TYPES = ("dingtalk", "feishu", "wecom")       # group robots, unless `group: false`
OPEN = msg("Open")                  # a card's button, in the message's language (the server's catalog)


LEVEL_COLOURS = {"red": "red", "orange": "orange", "yellow": "yellow", "green": "green"}


def button_url(ch: Channel, message_id: str, payload: dict) -> str | None:
    """The card button's link: the channel's `link` with the message's values quoted in, else
    the message's own (an alert's why); None: no button, a plain message."""
    if not ch.link:
        return payload.get("link") or None
    values = {"message_id": message_id, "rule": payload.get("rule") or "",
              "subject": payload.get("subject") or ""}
    return _LINK_FIELD.sub(lambda m: urllib.parse.quote(str(values.get(m.group(1), m.group(0)))),
                           ch.link)


def _card(ch: Channel, link: str | None) -> bool:
    """A card with a button: where there is a link, unless the channel asks for plain messages."""
    return link is not None and ch.format not in ("markdown", "post")


def dingtalk_at(payload: dict) -> tuple[dict, str]:
    """DingTalk's `at` (userids, else mobiles) and the @ names its text must carry for the
    mention to take; someone with neither is named in plain text."""
    user_ids, mobiles, names = [], [], []
    for m in payload.get("mentions") or []:
        if m.get("dingtalk_userid"):
            user_ids.append(m["dingtalk_userid"])
            names.append(f"@{m['dingtalk_userid']}")
        elif m.get("mobile"):
            mobiles.append(m["mobile"])
            names.append(f"@{m['mobile']}")
        else:
            names.append(f"@{m.get('name') or m.get('person')}")
    return {"atUserIds": user_ids, "atMobiles": mobiles, "isAtAll": False}, " ".join(names)


def feishu_at(payload: dict) -> str:
    """Feishu card markdown's mentions: `<at id=open_id></at>`; a name where there is no id."""
    return " ".join(f"<at id={m['feishu_open_id']}></at>" if m.get("feishu_open_id")
                    else f"@{m.get('name') or m.get('person')}"
                    for m in payload.get("mentions") or [])


def _open(payload: dict) -> str:
    """The button's label: in the message's language; both when it names none."""
    lang = payload.get("lang")
    return OPEN.render(lang) if lang in ("zh", "en") else f"{OPEN.render('zh')} / {OPEN.render('en')}"


def dingtalk_signature(secret: str, timestamp_ms: str) -> str:
    """DingTalk robot: base64 HMAC-SHA256 keyed by the secret over "timestamp\\nsecret"."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _send_dingtalk(ch: Channel, message_id: str, payload: dict) -> None:
    url = ch.url
    if ch.secret:
        ts = str(int(time.time() * 1000))
        query = urllib.parse.urlencode({"timestamp": ts, "sign": dingtalk_signature(ch.secret, ts)})
        url = f"{url}{'&' if '?' in url else '?'}{query}"
    at, names = dingtalk_at(payload)
    text = f"{payload['text']}\n\n{names}\n\n<!-- {message_id} -->" if names else \
        f"{payload['text']}\n\n<!-- {message_id} -->"
    link = button_url(ch, message_id, payload)
    if _card(ch, link):                  # a card with one button: the why
        body = {"msgtype": "actionCard", "actionCard": {
            "title": payload["title"], "text": text, "btnOrientation": "0",
            "singleTitle": _open(payload), "singleURL": link}}
    else:
        body = {"msgtype": "markdown", "markdown": {"title": payload["title"], "text": text}}
    if names:
        body["at"] = at
    _post(ch, url, json.dumps(body, ensure_ascii=False).encode(), {"X-Trimtab-Message-Id": message_id},
          ok=lambda r: r.json().get("errcode", 0) == 0)


def feishu_signature(secret: str, timestamp_s: str) -> str:
    """Feishu/Lark bot: base64 HMAC-SHA256 keyed by "timestamp\nsecret" over an empty message."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _send_feishu(ch: Channel, message_id: str, payload: dict) -> None:
    link, mentions = button_url(ch, message_id, payload), feishu_at(payload)
    if _card(ch, link):                  # an interactive card: coloured header, markdown, button
        text = f"{payload['text']}\n\n{mentions}" if mentions else payload["text"]
        body = {"msg_type": "interactive", "card": {
            "config": {"wide_screen_mode": True},
            "header": {"template": LEVEL_COLOURS.get(payload.get("level"), "blue"),
                       "title": {"tag": "plain_text", "content": payload["title"]}},
            "elements": [
                {"tag": "markdown", "content": text},
                {"tag": "action", "actions": [{
                    "tag": "button", "type": "primary", "url": link,
                    "text": {"tag": "plain_text", "content": _open(payload)}}]},
                {"tag": "note", "elements": [{"tag": "plain_text", "content": f"id: {message_id}"}]}]}}
    else:
        body = {"msg_type": "post", "content": {"post": {"zh_cn": {
            "title": payload["title"],
            "content": [[{"tag": "text", "text": payload["text"]}],
                        *([[{"tag": "at", "user_id": m["feishu_open_id"]}
                            for m in payload["mentions"] if m.get("feishu_open_id")]]
                          if any(m.get("feishu_open_id") for m in payload.get("mentions") or []) else []),
                        [{"tag": "text", "text": f"id: {message_id}"}]]}}}}
    if ch.secret:
        ts = str(int(time.time()))
        body.update(timestamp=ts, sign=feishu_signature(ch.secret, ts))
    _post(ch, ch.url, json.dumps(body, ensure_ascii=False).encode(), {"X-Trimtab-Message-Id": message_id},
          ok=lambda r: r.json().get("code", r.json().get("StatusCode", 0)) == 0)


def _send_wecom(ch: Channel, message_id: str, payload: dict) -> None:
    """WeCom group robot: the key is in the URL; markdown body."""
    body = {"msgtype": "markdown", "markdown": {
        "content": f"**{payload['title']}**\n{payload['text']}\n<font color=\"comment\">{message_id}</font>"}}
    _post(ch, ch.url, json.dumps(body, ensure_ascii=False).encode(), {"X-Trimtab-Message-Id": message_id},
          ok=lambda r: r.json().get("errcode", 0) == 0)


def _send_email(ch: Channel, message_id: str, payload: dict) -> None:
    """SMTP (url: smtp://host:port) to the configured mailbox; Message-ID is the outbox id."""
    import smtplib
    from email.message import EmailMessage
    target = urllib.parse.urlparse(ch.url)
    mail = EmailMessage()
    mail["Subject"] = payload["title"]
    mail["From"] = ch.options["from"]
    to = ch.options["to"] or ([payload["recipient_email"]] if payload.get("recipient_email") else [])
    if not to:
        raise ChannelError(f"channel `{ch.name}`: no `to` and no e-mail address for "
                           f"`{payload.get('recipient')}` in the organisation chart")
    mail["To"] = ", ".join(to)
    mail["Message-ID"] = f"<{message_id}@trimtab>"
    mail.set_content(payload["text"])
    try:
        with smtplib.SMTP(target.hostname, target.port or 25, timeout=ch.timeout_s) as smtp:
            if ch.options["starttls"]:
                smtp.starttls()
            if ch.options["user"]:
                smtp.login(ch.options["user"], ch.options["password"] or "")
            smtp.send_message(mail)
    except (OSError, smtplib.SMTPException) as err:
        raise ChannelError(f"channel `{ch.name}`: SMTP {err.__class__.__name__}") from None


def _send_webhook(ch: Channel, message_id: str, payload: dict) -> None:
    body = json.dumps({"message_id": message_id, **payload}, ensure_ascii=False).encode()
    stamp = str(int(time.time()))
    headers = {"X-Trimtab-Timestamp": stamp, "X-Trimtab-Message-Id": message_id}
    if ch.secret:
        headers["X-Trimtab-Signature"] = "sha256=" + sign_webhook(ch.secret, stamp, body)
    _post(ch, ch.url, body, headers)


def _post(ch: Channel, url: str, body: bytes, headers: dict, ok=None) -> None:
    try:
        r = requests.post(url, data=body, timeout=ch.timeout_s,
                          headers={"Content-Type": "application/json; charset=utf-8", **headers})
    except requests.RequestException as err:
        raise ChannelError(f"channel `{ch.name}`: {err.__class__.__name__}") from None
    if r.status_code >= 300:
        raise ChannelError(f"channel `{ch.name}`: HTTP {r.status_code}")
    if ok is not None:
        try:
            accepted = ok(r)
        except ValueError:
            accepted = False
        if not accepted:
            raise ChannelError(f"channel `{ch.name}`: refused: {r.text[:200]}")


SENDERS = {"dingtalk": _send_dingtalk, "feishu": _send_feishu, "wecom": _send_wecom,
           "email": _send_email, "webhook": _send_webhook}
