"""Server configuration from the environment, read when the server starts (never at import).

| variable | default | meaning |
|---|---|---|
| DATABASE_URL | sqlite:///var/trimtab.db | SQLAlchemy URL; postgresql://… uses psycopg |
| TRIMTAB_RULES | rules | rules directory (form_schemas/ beside it) |
| TRIMTAB_HOST, TRIMTAB_PORT | 127.0.0.1, 8000 | where `trimtab serve` listens and where `trimtab send` posts |
| TRIMTAB_ACCESS_LOG | 1 | `0`: no access log (JSON lines on stderr from `serve` and gunicorn) |
| TRIMTAB_RULES_REV | (files on disk) | a git revision to serve instead (until a reload makes another active) |
| TRIMTAB_RULES_CHECK_S | 0.25 | how often each process looks for a newly activated rule set |
| TRIMTAB_HISTORY_CACHE_ENTRIES | 12000 | periods of parsed history each worker keeps (about 1.2 KiB each); a subject's 90 latest are kept, so 12,000 hold 133 subjects a form with long histories — size it to yours (docs/server.md) |
| TRIMTAB_CLIENTS | generated into var/clients.json | webhook clients, `name:secret,name2:secret2` |
| TRIMTAB_ADMIN_TOKEN | generated into var/admin_token | bearer token for admin routes |
| TRIMTAB_TIMEZONE | Asia/Shanghai | where weeks and months begin |
| TRIMTAB_LANG | zh | default language of explanations |
| TRIMTAB_JDY_SECRET | (简道云 pushes refused) | 简道云 data-push secret |
| TRIMTAB_MINGDAO_TOKEN | (明道云 refused) | the token 明道云 puts in the URL |
| TRIMTAB_YIDA_API_KEY | (宜搭 refused) | the key 宜搭's HTTP connector sends as X-Api-Key |
| TRIMTAB_FEISHU_ENCRYPT_KEY | (飞书 refused) | the event subscription's encrypt key (form events and approval events) |
| TRIMTAB_DINGTALK_EVENTS_TOKEN | (钉钉 approval events refused) | the event subscription's token (签名 token) |
| TRIMTAB_DINGTALK_EVENTS_AES_KEY | (钉钉 refused) | the event subscription's 43-character EncodingAESKey |
| TRIMTAB_DINGTALK_EVENTS_APP_KEY | (钉钉 refused) | the app key (an internal app's subscription) or corp id the events are encrypted for |
| TRIMTAB_MAPPINGS | (none) | a folder of your platforms' field mappings, `<platform>/<form>.json` |
| TRIMTAB_SIGNATURE_V1_UNTIL | 2027-06-30 | last day webhook signatures without the delivery id (scheme v1) are accepted |
| TRIMTAB_SECRET_KEY | generated into var/secret_key | signs browser sessions (the same in every process) |
| TRIMTAB_TRUSTED_PROXIES | 0 | how many proxies in front set X-Forwarded-For/-Proto/-Host |
| TRIMTAB_AUTH_FAILURE_LIMIT | 10/minute | failed sign-ins and tokens per client address |
| TRIMTAB_EVALUATE_LIMIT | 120/minute | dry runs (`POST /v1/evaluate`) per signed-in person |
| TRIMTAB_INSECURE_COOKIES | (unset) | `1`: session cookies without Secure (plain-HTTP tests only) |
| TRIMTAB_AUDIT_KEY | generated into var/audit_key | HMAC key of the audit chain (keep it out of the database's backups) |
| TRIMTAB_AUDIT_ANCHORS | var/audit_anchors.jsonl | append-only file of signed audit chain heads |
| TRIMTAB_AUDIT_ANCHOR_URL | (none) | also POST each anchor there |
| TRIMTAB_DINGTALK_CLIENT_ID, _SECRET | (no 钉钉 sign-in) | the DingTalk app's Client ID (AppKey) and Client Secret (AppSecret) |
| TRIMTAB_FEISHU_CLIENT_ID, _SECRET | (no 飞书 sign-in) | the Feishu app's App ID (cli_…) and App Secret |
| TRIMTAB_{DINGTALK,FEISHU}_{AUTHORIZE,TOKEN,USERINFO}_URL | the providers' documented URLs | overrides, e.g. a private deployment or a test stand-in; DingTalk also _APP_TOKEN_URL, _USERID_URL |
| PROMETHEUS_MULTIPROC_DIR | (counts per process) | where every process of the deployment writes its counts; gunicorn_conf.py sets `var/metrics` |
| TRIMTAB_DINGTALK_API_URL, TRIMTAB_FEISHU_API_URL | https://oapi.dingtalk.com, https://open.feishu.cn | where `trimtab sync org` reads the directory (with the sign-in app's _CLIENT_ID/_SECRET) |
| TRIMTAB_ORG_MAPPING | org_mapping.yaml in TRIMTAB_RULES | departments → regions, titles/departments → roles, for `trimtab sync org` |
| TRIMTAB_SALESFORCE_URL | (no CRM sync) | the login or My Domain URL `trimtab sync crm` takes a token from |
| TRIMTAB_SALESFORCE_CLIENT_ID, _CLIENT_SECRET, _REFRESH_TOKEN | (no CRM sync) | the connected app; without a refresh token, the client-credentials flow |
| TRIMTAB_SALESFORCE_API_VERSION | v59.0 | the REST API version queried |
| TRIMTAB_SALESFORCE_EVERY_MIN | (pull once) | `trimtab sync crm` keeps running and pulls every N minutes |
| TRIMTAB_OAUTH_REDIRECT_BASE | (the request's own scheme and host) | e.g. `https://trimtab.example.com`: callbacks are this + /auth/callback/<provider> |
| TRIMTAB_PUBLIC_URL | TRIMTAB_OAUTH_REDIRECT_BASE, else http://HOST:PORT | the server's address as people reach it: links in approvals and their notices |
| TRIMTAB_DINGTALK_PROCESS_CODE | (no 钉钉 OA approvals) | an approval rule's change opens an OA approval instance of this form (with the sign-in app's _CLIENT_ID/_SECRET) |
| TRIMTAB_DINGTALK_AGENT_ID | (no 钉钉 work notices) | the app's AgentId: approvers get a work notice (工作通知) when no OA approval is configured |
| TRIMTAB_DINGTALK_OPENAPI_URL | https://api.dingtalk.com | the new-style API (tokens, OA approval instances) |
| TRIMTAB_FEISHU_APPROVAL_CODE | (no 飞书 approvals) | an approval rule's change opens an instance of this approval definition (with the sign-in app's _CLIENT_ID/_SECRET) |
| TRIMTAB_FEISHU_APPROVAL_NODES | (none) | the definition's initiator-chosen nodes (custom node ids), one per step of the chain, in order |
| TRIMTAB_FEISHU_NOTICES | (off) | `1`: approvers get a message from the 飞书 app's bot when no 飞书 approval is configured |
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path


class ConfigError(ValueError):
    """A setting in the environment the server cannot start with; the message names it.  The
    command line and the WSGI entry say it in one line, not a traceback."""


def _generated(path: Path, make) -> str:
    """A secret kept in var/ so a fresh machine's demo works and stays the same across runs."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(0o600)
    return value


def parse_clients(text: str) -> dict:
    clients = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, secret = part.partition(":")
        if not sep or not name or not secret:
            raise ConfigError(f"TRIMTAB_CLIENTS entries are name:secret, got `{part}`")
        clients[name] = secret
    return clients


def from_env(env=None, var_dir: str = "var", migrate: bool = True) -> dict:
    env = os.environ if env is None else env
    var = Path(var_dir)
    if env.get("TRIMTAB_CLIENTS"):
        clients = parse_clients(env["TRIMTAB_CLIENTS"])
    else:
        stored = _generated(var / "clients.json",
                            lambda: json.dumps({"demo": secrets.token_urlsafe(24)}))
        clients = json.loads(stored)
    admin = env.get("TRIMTAB_ADMIN_TOKEN") or _generated(var / "admin_token",
                                                         lambda: secrets.token_urlsafe(24))
    secret_key = env.get("TRIMTAB_SECRET_KEY") or _generated(var / "secret_key",
                                                             lambda: secrets.token_urlsafe(32))
    return {
        "DATABASE_URL": _sqlalchemy_url(env.get("DATABASE_URL") or f"sqlite:///{var / 'trimtab.db'}"),
        "RULES_PATH": env.get("TRIMTAB_RULES", "rules"),
        "RULES_REV": env.get("TRIMTAB_RULES_REV") or None,
        "RULES_CHECK_S": float(env.get("TRIMTAB_RULES_CHECK_S") or 0.25),
        "HISTORY_CACHE_ENTRIES": _cache_entries(env.get("TRIMTAB_HISTORY_CACHE_ENTRIES") or None),
        "CLIENTS": clients,
        "ADMIN_TOKEN": admin,
        "TIMEZONE": env.get("TRIMTAB_TIMEZONE", "Asia/Shanghai"),
        "LANG": env.get("TRIMTAB_LANG", "zh"),
        "MIGRATE": migrate,
        "REDIS_URL": env.get("REDIS_URL") or None,
        "CHANNELS_PATH": env.get("TRIMTAB_CHANNELS") or None,
        "PLATFORMS": {platform: env[name] for platform, name in PLATFORM_SECRETS.items()
                      if env.get(name)},
        "MAPPINGS_PATH": env.get("TRIMTAB_MAPPINGS") or None,
        "SECRET_KEY": secret_key,
        "SIGNATURE_V1_UNTIL": _date(env.get("TRIMTAB_SIGNATURE_V1_UNTIL") or "2027-06-30",
                                    "TRIMTAB_SIGNATURE_V1_UNTIL"),
        "TRUSTED_PROXIES": int(env.get("TRIMTAB_TRUSTED_PROXIES") or 0),
        "AUTH_FAILURE_LIMIT": env.get("TRIMTAB_AUTH_FAILURE_LIMIT") or "10/minute",
        "EVALUATE_LIMIT": env.get("TRIMTAB_EVALUATE_LIMIT") or "120/minute",
        "SESSION_COOKIE_SECURE": env.get("TRIMTAB_INSECURE_COOKIES") != "1",
        "AUDIT_KEY": env.get("TRIMTAB_AUDIT_KEY") or _generated(var / "audit_key",
                                                               lambda: secrets.token_urlsafe(32)),
        "AUDIT_ANCHOR_PATH": env.get("TRIMTAB_AUDIT_ANCHORS") or str(var / "audit_anchors.jsonl"),
        "AUDIT_ANCHOR_URL": env.get("TRIMTAB_AUDIT_ANCHOR_URL") or None,
        "OAUTH": oauth_from_env(env),
        "OAUTH_REDIRECT_BASE": env.get("TRIMTAB_OAUTH_REDIRECT_BASE") or None,
        "METRICS_DIR": env.get("PROMETHEUS_MULTIPROC_DIR") or None,
        "HOST": env.get("TRIMTAB_HOST") or "127.0.0.1",
        "PORT": _port(env.get("TRIMTAB_PORT") or "8000"),
        "ACCESS_LOG": env.get("TRIMTAB_ACCESS_LOG", "1") != "0",
        "APPROVAL_PLATFORMS": approval_platforms_from_env(env),
        "PUBLIC_URL": env.get("TRIMTAB_PUBLIC_URL") or env.get("TRIMTAB_OAUTH_REDIRECT_BASE") or None,
    }


def approval_platforms_from_env(env) -> dict:
    """What each platform does for approvals: opens instances (a DingTalk process code, a
    Feishu approval code) or sends approvers work notices (a DingTalk agent id, Feishu's bot);
    with the sign-in app's credentials.  A platform with nothing to do is left out."""
    out = {}
    for name in ("dingtalk", "feishu"):
        prefix = f"TRIMTAB_{name.upper()}_"
        client_id, secret = env.get(prefix + "CLIENT_ID"), env.get(prefix + "CLIENT_SECRET")
        if name == "dingtalk":
            wants = {"process_code": env.get(prefix + "PROCESS_CODE") or None,
                     "agent_id": env.get(prefix + "AGENT_ID") or None}
            urls = {"api_url": env.get(prefix + "OPENAPI_URL") or "https://api.dingtalk.com",
                    "oapi_url": env.get(prefix + "API_URL") or "https://oapi.dingtalk.com"}
        else:
            nodes = [n.strip() for n in (env.get(prefix + "APPROVAL_NODES") or "").split(",") if n.strip()]
            wants = {"approval_code": env.get(prefix + "APPROVAL_CODE") or None, "nodes": nodes,
                     "notices": env.get(prefix + "NOTICES") == "1"}
            urls = {"api_url": env.get(prefix + "API_URL") or "https://open.feishu.cn"}
        if not any(wants.values()):
            continue
        if not (client_id and secret):
            raise ConfigError(f"{prefix}CLIENT_ID and {prefix}CLIENT_SECRET are needed for "
                             f"approvals and notices on {name}")
        out[name] = {"app_key": client_id, "app_secret": secret, **wants, **urls}
    return out


def _cache_entries(text: str | None) -> int | None:
    """None: the server's default (history.CACHE_ENTRIES)."""
    if text is None:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 10_000_000:
        raise ConfigError(f"TRIMTAB_HISTORY_CACHE_ENTRIES is a whole number from 1 to 10000000, got `{text}`")
    return int(text)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"TRIMTAB_PORT is a port number from 1 to 65535, got `{text}`")
    return int(text)


def public_url(config) -> str:
    """The server as people reach it, for links in messages: TRIMTAB_PUBLIC_URL, else
    TRIMTAB_OAUTH_REDIRECT_BASE, else where `trimtab serve` listens ("" when none is known)."""
    found = config.get("PUBLIC_URL") or config.get("OAUTH_REDIRECT_BASE")
    if found:
        return found
    return server_url(config) if config.get("HOST") and config.get("PORT") else ""


def server_url(config: dict) -> str:
    """The address a client on this machine reaches `trimtab serve` at."""
    host = config["HOST"]
    if host in ("0.0.0.0", "::", ""):           # listening everywhere: this machine is one of them
        host = "127.0.0.1"
    elif ":" in host:                           # an IPv6 address goes in brackets
        host = f"[{host}]"
    return f"http://{host}:{config['PORT']}"


OAUTH_URLS = {"dingtalk": ("authorize_url", "token_url", "userinfo_url", "app_token_url", "userid_url"),
              "feishu": ("authorize_url", "token_url", "userinfo_url")}


def oauth_from_env(env) -> dict:
    """Sign-in providers with both a client id and a secret set; URLs only when overridden."""
    providers = {}
    for name, urls in OAUTH_URLS.items():
        prefix = f"TRIMTAB_{name.upper()}_"
        client_id, secret = env.get(prefix + "CLIENT_ID"), env.get(prefix + "CLIENT_SECRET")
        if bool(client_id) != bool(secret):
            raise ConfigError(f"{prefix}CLIENT_ID and {prefix}CLIENT_SECRET go together")
        if client_id:
            providers[name] = {"client_id": client_id, "client_secret": secret,
                               **{u: env[prefix + u.upper()] for u in urls if env.get(prefix + u.upper())}}
    return providers


PLATFORM_SECRETS = {"jiandaoyun": "TRIMTAB_JDY_SECRET", "mingdao": "TRIMTAB_MINGDAO_TOKEN",
                    "yida": "TRIMTAB_YIDA_API_KEY", "feishu": "TRIMTAB_FEISHU_ENCRYPT_KEY",
                    "dingtalk_events_token": "TRIMTAB_DINGTALK_EVENTS_TOKEN",
                    "dingtalk_events_aes_key": "TRIMTAB_DINGTALK_EVENTS_AES_KEY",
                    "dingtalk_events_app_key": "TRIMTAB_DINGTALK_EVENTS_APP_KEY"}


def _date(text: str, name: str):
    import datetime as dt
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{name}: `{text}` is not a date (YYYY-MM-DD)") from None


def _sqlalchemy_url(url: str) -> str:
    """postgresql://… → postgresql+psycopg://… (the driver we ship)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
