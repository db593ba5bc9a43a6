"""Signing in and out (server/web/sign_in.py, server/web/oauth.py) and /v1/me."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from trimtab.server.web.api_models.common import Answer, text

Next = text(min_length=0, description="where to go once signed in: a path on this server (anything else "
                                      "becomes /v1/me)")
Provider = Literal["dingtalk", "feishu"]
# The token form of POST /auth/token, as the sign-in page posts it.
TOKEN_FORM = {"type": "object", "required": ["token", "csrf_token"], "properties": {
    "token": {"type": "string", "maxLength": 200, "description": "a personal token (`trimtab people token PERSON`)"},
    "csrf_token": {"type": "string", "description": "the sign-in page's CSRF token"},
    "next": {"type": "string", "maxLength": 4000, "description": "where to go once signed in (a path on this server)"}}}


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LoginQuery(Query):
    next: Next = None                                   # type: ignore[valid-type]


class ProviderPath(Query):
    provider: Provider = Field(description="DingTalk (钉钉) or Feishu (飞书), when configured")


class CallbackQuery(Query):
    code: text(min_length=0, description="the provider's authorization code") = None  # type: ignore[valid-type]
    authCode: text(min_length=0, description="DingTalk's name for the code") = None    # type: ignore[valid-type]
    state: text(min_length=0, description="the state the sign-in started with")        # type: ignore[valid-type]


class SignedOut(Answer):
    signed_out: Literal[True]


class Sees(Answer):
    """What the caller's role and scope let them see."""
    everything: bool = Field(description="admin (and roles over the whole organisation): everything")
    people: int = Field(description="how many people's facts and decisions (when not everything)")
    regions: list[str] = Field(description="the regions (teams) whose team-level facts are visible")


class Me(Answer):
    """Who the credentials say the caller is."""
    person: str | None = Field(description="the person's id; null for the bootstrap admin token")
    name: str
    role: str | None
    region: str | None
    grants: list[str] = Field(description="rights beyond the chart: `admin`, `it`")
    via: Literal["token", "session", "admin_token", "platform"] = Field(description="how the caller signed in")
    sees: Sees
    csrf_token: str | None = Field(description="a session's token for X-CSRFToken; null for a bearer token")
