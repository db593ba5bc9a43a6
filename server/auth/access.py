"""Every route says who may call it: `@requires("public" | "webhook" | "person" | "hrbp" |
"workbench" | "it" | "admin")`.  `webhook` routes check a platform's signature themselves;
`person` is anyone signed in (a personal token, a browser session, or the bootstrap admin
token); `it` and `admin` need that grant (admin implies it); `hrbp` is an HRBP of the chart
(drafts of rules: the workbench) or an admin, `workbench` an HRBP, IT or an admin.

The principal comes from the credentials only — `Authorization: Bearer` first, then the
browser session — and is read once per request.  Failed attempts are counted per client
address and refused for a while past the limit; they are logged without the secret.
"""
from __future__ import annotations

import functools
import logging

from flask import current_app, g, request

from trimtab.server.core.access_log import PERSON
from trimtab.server.messages import msg
from trimtab.server.core.errors import DomainError
from trimtab.server.core.security import same
from trimtab.server.auth import tokens
from trimtab.server.auth.principal import ADMIN_TOKEN, Principal, of_person

log = logging.getLogger("trimtab.auth")
NEEDS = ("public", "webhook", "person", "hrbp", "workbench", "it", "admin")


def requires(need: str):
    if need not in NEEDS:
        raise ValueError(f"unknown access need `{need}`")

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            if need not in ("public", "webhook"):
                principal = require_principal()
                if need == "admin" and not principal.is_admin:
                    raise DomainError("forbidden", msg("this route is for admins"))
                if need == "it" and not principal.is_it:
                    raise DomainError("forbidden", msg("this route is for IT (rule sets) or admins"))
                if need == "hrbp" and not (principal.is_hrbp or principal.is_admin):
                    raise DomainError("forbidden", msg("this route is for HRBPs (drafts of rules)"))
                if need == "workbench" and not (principal.is_hrbp or principal.is_it):
                    raise DomainError("forbidden", msg("this route is for HRBPs and IT (the workbench)"))
            return view(*args, **kwargs)
        guarded.access = need
        return guarded
    return decorate


def require_principal() -> Principal:
    principal = current_principal()
    if principal is None:
        raise DomainError("unauthenticated",
                          msg("sign in, or send `Authorization: Bearer <token>` (`trimtab people token "
                              "PERSON` issues one)"))
    return principal


def current_principal() -> Principal | None:
    if "trimtab_principal" not in g:
        g.trimtab_principal = _authenticate()
        if g.trimtab_principal is not None:         # who asked, for the access log
            request.environ[PERSON] = g.trimtab_principal.label
    return g.trimtab_principal


def _authenticate() -> Principal | None:
    header = request.headers.get("Authorization")
    if header is not None:
        return _from_bearer(header)
    from flask_login import current_user
    user = current_user._get_current_object()
    if not isinstance(user, Principal):
        return None
    if request.method not in SAFE_METHODS:
        check_csrf()                  # a cookie rides along with any site's form: prove intent
    return user


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def check_csrf() -> None:
    """The session's CSRF token must come back in `X-CSRFToken` or the form's `csrf_token`."""
    from flask_wtf.csrf import CSRFError
    try:
        current_app.extensions["trimtab.csrf"].protect()
    except CSRFError as err:
        log.warning("CSRF check failed from %s: %s", client_address(), err.description)
        raise DomainError("csrf_failed", msg("this change needs the session's CSRF token (header X-CSRFToken "
                                             "or form field csrf_token)")) from None


def _from_bearer(header: str) -> Principal:
    limiter = current_app.extensions["trimtab.auth_failures"]
    limiter.check(client_address())
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        _refuse("malformed Authorization header", token)
    admin = current_app.config.get("ADMIN_TOKEN")
    if admin and same(token, admin):
        return ADMIN_TOKEN
    with current_app.extensions["trimtab.sessions"]() as session, session.begin():
        person = tokens.person_for(session, token)
        if person is None:
            _refuse("unknown, revoked or expired token", token)
        return of_person(person, "token")


def _refuse(reason: str, token: str):
    address = client_address()
    current_app.extensions["trimtab.auth_failures"].hit(address)
    shown = token[:7] + "…" if tokens.SHAPE.fullmatch(token) else "(not a trimtab token)"
    log.warning("authentication refused from %s: %s, token %s", address, reason, shown)
    raise DomainError("invalid_token", msg("the token is unknown, revoked or expired"))


def client_address() -> str:
    return request.remote_addr or "-"


class FailureLimiter:
    """Failed sign-ins and token attempts per client address, with the `limits` library's
    moving window (in memory, or in Redis so every process shares the count)."""

    def __init__(self, limit: str, storage_uri: str):
        from limits import parse
        from limits.storage import storage_from_string
        from limits.strategies import MovingWindowRateLimiter
        self.item = parse(limit)
        self.window = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def check(self, address: str) -> None:
        try:
            allowed = self.window.test(self.item, "auth-failures", address)
        except Exception:            # the shared store is down: do not lock everyone out
            log.warning("auth failure counter unavailable; not limiting")
            return
        if not allowed:
            log.warning("authentication attempts from %s refused: too many failures", address)
            raise DomainError("too_many_attempts",
                              msg("too many failed sign-ins or tokens from this address; wait a minute"))

    def hit(self, address: str) -> None:
        try:
            self.window.hit(self.item, "auth-failures", address)
        except Exception:
            log.warning("auth failure counter unavailable")


class PersonLimiter:
    """Requests per signed-in person to a costly route (/v1/evaluate), with the `limits`
    library's moving window, in memory or in Redis as FailureLimiter."""

    def __init__(self, limit: str, storage_uri: str, route: str):
        from limits import parse
        from limits.storage import storage_from_string
        from limits.strategies import MovingWindowRateLimiter
        self.item, self.route = parse(limit), route
        self.window = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def hit(self, principal) -> None:
        who = principal.person_id or f"({principal.via})"
        try:
            allowed = self.window.hit(self.item, self.route, who)
        except Exception:            # the shared store is down: serve rather than refuse all
            log.warning("%s rate counter unavailable; not limiting", self.route)
            return
        if not allowed:
            raise DomainError("rate_limited", msg("more than {item} requests to {route} from {who}; wait a "
                                                  "little",
                                                  item=self.item, route=self.route, who=who), "$")
