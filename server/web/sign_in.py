"""/auth: browser sign-in (a personal token, or DingTalk/Feishu through oauth.py), sign-out;
/v1/me: who the credentials say you are, what you may see, and your CSRF token."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template_string, request, session
from flask_login import login_user, logout_user

from trimtab.server.core.errors import DomainError
from trimtab.server.messages import msg
from trimtab.server.auth import tokens
from trimtab.server.auth.access import check_csrf, client_address, current_principal, log, requires
from trimtab.server.auth.principal import Principal, of_person
from trimtab.server.auth.providers import configured_providers
from trimtab.server.web.api_models.auth import TOKEN_FORM, LoginQuery, Me, SignedOut
from trimtab.server.web.contract import Raw, contract

bp = Blueprint("auth", __name__)

LOGIN_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>登录 trimtab · Sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 28rem; margin: 4rem auto">
<h1>登录 trimtab <small>Sign in</small></h1>
{% if error %}<p role="alert" style="color:#b00">{{ error }}</p>{% endif %}
{% for name, title in providers %}
<p><a href="{{ url_for('auth.oauth_start', provider=name, next=next) }}">用{{ title }}登录 · Sign in with {{ name }}</a></p>
{% endfor %}
<form method="post" action="{{ url_for('auth.token_sign_in') }}">
  <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
  <input type="hidden" name="next" value="{{ next }}">
  <label>个人令牌 · Personal token <input name="token" type="password" autocomplete="off"></label>
  <button type="submit">登录 · Sign in</button>
</form></body></html>"""


def safe_next(target: str | None) -> str:
    """Only a path on this server: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\\\" not in target:
        return target
    return "/v1/me"


def start_session(principal: Principal) -> None:
    session.clear()                      # a new session id's worth: no fixation
    session.permanent = True
    login_user(principal)


@bp.get("/auth/login")
@requires("public")
@contract("The sign-in page: DingTalk / Feishu (when configured) or a personal token", query=LoginQuery,
          answers={200: Raw("text/html", {"type": "string"}, "the sign-in page (HTML)")})
def sign_in_page():
    return render_template_string(LOGIN_PAGE, providers=configured_providers(current_app),
                                  next=safe_next(request.args.get("next")), error=None)


@bp.post("/auth/token")
@requires("public")
@contract("Sign in with a personal token: a session cookie (Secure, HttpOnly, SameSite=Lax)",
          body=Raw("application/x-www-form-urlencoded", TOKEN_FORM),
          answers={303: Raw(None, description="signed in; redirected to `next`")}, errors=(401, 403, 429),
          description="The sign-in page's form.  401 `invalid_token`: unknown, revoked or expired; 403 "
                      "`csrf_failed`: no or a wrong `csrf_token`; 429: too many failures from this "
                      "address.")
def token_sign_in():
    """A personal token → a browser session (for people without DingTalk or Feishu sign-in)."""
    check_csrf()
    failures = current_app.extensions["trimtab.auth_failures"]
    failures.check(client_address())
    token = (request.form.get("token") or "").strip()
    with current_app.extensions["trimtab.sessions"]() as db, db.begin():
        person = tokens.person_for(db, token)
        principal = of_person(person, "session") if person is not None else None
    if principal is None:
        failures.hit(client_address())
        log.warning("sign-in refused from %s: bad token", client_address())
        raise DomainError("invalid_token", msg("the token is unknown, revoked or expired"))
    start_session(principal)
    log.info("signed in: %s (token) from %s", principal.person_id, client_address())
    return redirect(safe_next(request.form.get("next")), 303)


@bp.post("/auth/logout")
@requires("public")
@contract("Sign out (a session needs its CSRF token in X-CSRFToken)", answers={200: SignedOut},
          errors=(401, 403, 429),
          description="Without credentials it changes nothing and answers the same.  A bearer token "
                      "that is not valid is refused (401, 429 after many).")
def sign_out():
    principal = current_principal()      # checks the CSRF token of a session
    logout_user()
    session.clear()
    if principal is not None:
        log.info("signed out: %s", principal.label)
    return jsonify({"signed_out": True})


@bp.get("/v1/me")
@requires("person")
@contract("Who the credentials say you are, what you may see, and your session's CSRF token",
          answers={200: Me}, errors=(429,),
          description="429 `too_many_attempts`: too many refused tokens from this address; wait a minute.")
def me():
    from flask_wtf.csrf import generate_csrf
    from trimtab.server.auth import scope
    p = current_principal()
    s = scope()
    return jsonify({"person": p.person_id, "name": p.name, "role": p.role, "region": p.region,
                    "grants": sorted(p.grants), "via": p.via,
                    "sees": {"everything": s.everything, "people": len(s.people),
                             "regions": sorted(s.regions)},
                    "csrf_token": generate_csrf() if p.via == "session" else None})
