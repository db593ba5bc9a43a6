"""Sign-in and access: personal tokens, browser sessions (Flask-Login, CSRF by Flask-WTF),
roles and scopes from the org chart.  The sign-in routes (a token, or DingTalk and Feishu
through OAuth) are web/sign_in.py and web/oauth.py, registered by app.py after init_app."""
from __future__ import annotations

import datetime as dt
import secrets

from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from trimtab.server.auth.access import (FailureLimiter, PersonLimiter, current_principal, require_principal, requires)
from trimtab.server.auth.principal import Principal
from trimtab.server.auth.scope import Scope, scope_of

__all__ = ["init_app", "requires", "current_principal", "require_principal", "Principal",
           "Scope", "scope_of", "scope"]

# Applied by create_app before the caller's config: Flask's config already holds every one of
# these keys, so `setdefault` here would change nothing.
SESSION_DEFAULTS = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SECURE": True,       # browsers accept Secure cookies on http://127.0.0.1 too
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "trimtab_session",
    "PERMANENT_SESSION_LIFETIME": dt.timedelta(hours=12),
    "WTF_CSRF_CHECK_DEFAULT": False,     # checked where a session authenticates a change
    "WTF_CSRF_TIME_LIMIT": None,         # the token lives as long as the session
}


class CookieFirstSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the cookie looked for first: a request without one
    (every webhook, every token call) gets the same empty session without building the
    signing serializer (about 70,000 instructions, 1.5% of a webhook, by callgrind) — and
    without parsing cookies when no Cookie header came at all; an empty session nobody
    changed is saved as Flask saves it (nothing to set or delete) without reading the six
    cookie settings first (open 90,000 → 9,000 instructions a webhook; saving keeps
    adding `Vary: Cookie` for a session that was read, about 40,000)."""

    def open_session(self, app, request):
        if app.secret_key and (not request.environ.get("HTTP_COOKIE")
                               or not request.cookies.get(self.get_cookie_name(app))):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    from flask_login import LoginManager
    from flask_wtf.csrf import CSRFProtect
    if not app.config.get("SECRET_KEY"):
        # Sessions then last as long as this process: `trimtab serve` passes a kept key.
        app.config["SECRET_KEY"] = secrets.token_urlsafe(32)
    app.extensions["trimtab.csrf"] = CSRFProtect(app)
    app.extensions["trimtab.auth_failures"] = FailureLimiter(
        app.config.get("AUTH_FAILURE_LIMIT", "10/minute"),
        app.config.get("REDIS_URL") or "memory://")
    app.extensions["trimtab.evaluate_limit"] = PersonLimiter(
        app.config.get("EVALUATE_LIMIT", "120/minute"), app.config.get("REDIS_URL") or "memory://",
        "/v1/evaluate")
    app.session_interface = CookieFirstSessions()
    manager = LoginManager()
    manager.init_app(app)
    manager.session_protection = "strong"

    @manager.user_loader
    def _load(person_id: str):
        from trimtab.server.storage.models import Person
        from trimtab.server.auth.principal import of_person
        with app.extensions["trimtab.sessions"]() as session:
            person = session.get(Person, person_id)
            return of_person(person, "session") if person is not None else None


def scope():
    """The signed-in principal's scope, computed once per request."""
    from flask import current_app, g
    if "trimtab_scope" not in g:
        with current_app.extensions["trimtab.sessions"]() as session:
            g.trimtab_scope = scope_of(session, require_principal())
    return g.trimtab_scope
