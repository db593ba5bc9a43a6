"""Sign-in with DingTalk and Feishu over OAuth 2 (Authlib's Flask client).  Providers are
configured under `OAUTH` in the app's config; only configured ones are offered on the
sign-in page.

GET /auth/login/<provider> sends the browser to the provider with a fresh `state` (Authlib
keeps it in the session); GET /auth/callback/<provider> checks the state, exchanges the code,
reads who signed in and maps them to a person of the org chart through their platform ids
(providers.py says which, in which order).  A wrong or missing state, a refused code and a
platform user nobody in the chart holds are refused, logged without secrets and counted by
the failure limiter; nothing is stored.
"""
from __future__ import annotations

import requests
from flask import (Flask, abort, current_app, make_response, redirect, render_template_string,
                   request, session, url_for)
from sqlalchemy import select

from trimtab.server.core.errors import DomainError, request_lang, status_of
from trimtab.server.messages import msg, render
from trimtab.server.auth import providers
from trimtab.server.auth.access import client_address, log, requires
from trimtab.server.auth.principal import of_person
from trimtab.server.auth.providers import TITLES, ProviderError, configured_providers
from trimtab.server.web.sign_in import LOGIN_PAGE, bp, safe_next, start_session
from trimtab.server.web.api_models.auth import CallbackQuery, LoginQuery, ProviderPath
from trimtab.server.web.api_models.common import ErrorBody
from trimtab.server.web.contract import Raw, contract

REFUSAL_PAGE = Raw("text/html", {"type": "string"}, "a refusal: the sign-in page with the reason, to a browser "
                   "that asks for HTML")

__all__ = ["init_app", "configured_providers"]
NEXT_KEY = "trimtab.oauth_next"


def init_app(app: Flask) -> None:
    """Register each configured provider with Authlib."""
    from authlib.integrations.flask_client import OAuth
    oauth = OAuth(app)
    for name, _ in configured_providers(app):
        conf = providers.settings(app, name)
        missing = [k for k in ("client_id", "client_secret") if not conf.get(k)]
        if missing:
            raise ValueError(f"OAUTH[{name!r}] lacks {', '.join(missing)}")
        oauth.register(name, **providers.client_options(name, conf))
    app.extensions["trimtab.oauth"] = oauth


def _client(provider: str):
    client = current_app.extensions["trimtab.oauth"].create_client(provider)
    if client is None or providers.settings(current_app, provider) is None:
        raise DomainError("not_found", msg("sign-in with `{provider}` is not configured", provider=provider))
    return client


def redirect_uri(provider: str) -> str:
    """Where the provider sends the browser back: OAUTH_REDIRECT_BASE + the path, or this
    request's own scheme and host (behind TRUSTED_PROXIES, as the proxy saw them)."""
    base = current_app.config.get("OAUTH_REDIRECT_BASE")
    if base:
        return base.rstrip("/") + url_for("auth.oauth_callback", provider=provider)
    return url_for("auth.oauth_callback", provider=provider, _external=True)


@bp.get("/auth/login/<provider>")
@requires("public")
@contract("Start signing in with DingTalk (钉钉) or Feishu (飞书): a redirect to the provider's authorize "
          "page with a fresh state", path=ProviderPath, query=LoginQuery,
          answers={302: Raw(None, description="to the provider's authorize URL")}, errors=(404,),
          description="404: sign-in with this provider is not configured.")
def oauth_start(provider: str):
    client = _client(provider)
    session[NEXT_KEY] = safe_next(request.args.get("next"))
    return client.authorize_redirect(redirect_uri(provider))


@bp.get("/auth/callback/<provider>")
@requires("public")
@contract("Where the provider sends the browser back: checks the state, exchanges the code, maps the "
          "platform user to a person and starts a session (Secure, HttpOnly, SameSite=Lax). Register "
          "this URL with the provider.", path=ProviderPath, query=CallbackQuery,
          answers={303: Raw(None, description="signed in; redirected to `next`"),
                   401: (ErrorBody, Raw("text/html", {"type": "string"},
                                        "`oauth_refused`: the provider refused the code or did not say who "
                                        "signed in (the sign-in page with the reason, to a browser)")),
                   403: (ErrorBody, Raw("text/html", {"type": "string"},
                                        "`oauth_state_mismatch` (wrong, missing or used state) or "
                                        "`oauth_unknown_person` (no one in the org chart has that platform "
                                        "account); the sign-in page with the reason, to a browser"))},
          errors=(404, 429, 502),
          description="404: the provider is not configured; 429: too many failed sign-ins from this "
                      "address; 502 `oauth_unavailable`: the provider could not be reached.")
def oauth_callback(provider: str):
    client = _client(provider)
    failures = current_app.extensions["trimtab.auth_failures"]
    failures.check(client_address())
    _accept_authcode()
    token = _exchange(provider, client)
    try:
        identity = providers.identify(provider, client, providers.settings(current_app, provider),
                                      token)
    except ProviderError as err:
        return _refuse("oauth_refused", msg("{provider} did not say who signed in", provider=TITLES[provider]),
                       f"{provider}: {err}")
    principal = _principal_for(identity)
    if principal is None:
        return _refuse("oauth_unknown_person",
                       msg("you signed in to {provider}, but no one in the organisation chart has that "
                           "account; ask an admin to add your platform id", provider=TITLES[provider]),
                       f"{provider}: no person for {identity.label}")
    target = safe_next(session.pop(NEXT_KEY, None))
    start_session(principal)
    log.info("signed in: %s (%s, %s) from %s", principal.person_id, provider, identity.label,
             client_address())
    return redirect(target, 303)


def _accept_authcode() -> None:
    """DingTalk calls back with `authCode`; Authlib reads `code`."""
    if "code" not in request.args and "authCode" in request.args:
        from werkzeug.datastructures import ImmutableMultiDict
        args = request.args.to_dict(flat=False)
        args["code"] = args["authCode"]
        request.args = ImmutableMultiDict(args)


def _exchange(provider: str, client) -> dict:
    from authlib.integrations.base_client import MismatchingStateError, OAuthError
    try:
        return client.authorize_access_token()
    except MismatchingStateError:
        _refuse("oauth_state_mismatch", msg("this sign-in was not started here, or it was already used; "
                                            "start again from the sign-in page"),
                f"{provider}: wrong or missing state")
    except OAuthError as err:
        _refuse("oauth_refused", msg("{provider} refused the sign-in ({error})", provider=TITLES[provider],
                                     error=err.error),
                f"{provider}: code refused: {err.error}")
    except requests.RequestException as err:
        log.warning("%s sign-in: provider unreachable: %s", provider, err.__class__.__name__)
        raise DomainError("oauth_unavailable",
                          msg("{provider} could not be reached; try again", provider=TITLES[provider])) from None


def _principal_for(identity: providers.Identity):
    """The person the first known candidate names, as a session principal (or None)."""
    from trimtab.server.storage.models import Person, PersonIdentity
    with current_app.extensions["trimtab.sessions"]() as db:
        for kind, value in identity.candidates:
            person_id = db.scalars(select(PersonIdentity.person_id).where(
                PersonIdentity.kind == kind, PersonIdentity.value == value)).first()
            person = db.get(Person, person_id) if person_id else None
            if person is not None:
                return of_person(person, "session")
    return None


def _refuse(code: str, message: str, reason: str):
    """Log (no codes, tokens or secrets), count, and answer a page or JSON."""
    address = client_address()
    current_app.extensions["trimtab.auth_failures"].hit(address)
    log.warning("sign-in refused from %s: %s", address, reason)
    session.pop(NEXT_KEY, None)
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        page = render_template_string(LOGIN_PAGE, providers=configured_providers(current_app),
                                      next="/v1/me", error=render(message, request_lang()))
        abort(make_response(page, status_of(code)))
    raise DomainError(code, message)
