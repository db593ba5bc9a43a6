"""Sign-in with DingTalk and Feishu over OAuth 2 (Authlib).  Providers are configured under
`OAUTH` in the app's config; only configured ones are offered on the sign-in page."""
from __future__ import annotations

PROVIDERS = {"dingtalk": "钉钉", "feishu": "飞书"}


def configured_providers(app) -> list[tuple[str, str]]:
    configured = app.config.get("OAUTH") or {}
    return [(name, title) for name, title in PROVIDERS.items() if name in configured]
