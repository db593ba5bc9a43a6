"""The webhook's lane: `POST /hooks/<form>` answered beside Flask, not through it.

Why: a webhook is most of a deployment's traffic, and under gunicorn Flask's machinery around
its view — the request context, the session and Flask-Login's look at it, the hooks before and
after — cost about 330 µs of a worker's 1,530 a webhook (docs/performance.md, "Runs of
2026-11-30").  The lane does what those hooks do for a webhook, no more:

- looks for a new active rule set and answers under the one it took (`X-Trimtab-Ruleset-Version`),
  as `rulesets._take_the_active_set` / `_name_the_version` do;
- counts the answer by route, method, status and form, as `metrics._count` does;
- under CHECK_RESPONSES (the test suite) checks the answer against the route's contract;
- answers with the view's own function (`submitting.answer_hook`), the same service and the same
  text, byte for byte.

It takes only the plain case: POST, the path `/hooks/` + a form of the active rule set, a
Content-Length within MAX_CONTENT_LENGTH, no query string, no Transfer-Encoding, no cookie (a
browser's session, which Flask would refresh).  Any other request goes to Flask whole — its
checks (http._check_request) word the refusals.  A refusal raised inside the lane is rendered
by Flask's own error handlers and after-request hooks, in a request context pushed for it, so
every error answer is Flask's, counted once.  What a lane answer lacks against Flask's:
`Vary: Cookie` (Flask-Login read an empty session).  tests/test_hook_lane.py holds the two
ways to the same answers, rows and counts.
"""
from __future__ import annotations

from flask import Flask, g
from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import ClientDisconnected
from werkzeug.http import HTTP_STATUS_CODES

from trimtab.server.core.errors import lang_of
from trimtab.server.web.submitting import answer_hook

PREFIX = "/hooks/"
ROUTE = "/hooks/<form>"         # the Flask route's rule: the metrics' label is the same
ENDPOINT = "hooks.hook"


class HookLane:
    """WSGI middleware around Flask's own `wsgi_app` (create_app puts it inside the access log)."""

    def __init__(self, app: Flask, flask_wsgi):
        self.app, self.flask_wsgi = app, flask_wsgi
        self.config = app.config
        self.holder = app.extensions["trimtab.rules"]
        self.follower = app.extensions["trimtab.rules_follower"]
        self.metrics = app.extensions["trimtab.metrics"]
        # the contract check of every answer (tests' CHECK_RESPONSES), set up before the lane
        self.check = app.extensions.get("trimtab.response_check")

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or not path.startswith(PREFIX) \
                or environ.get("QUERY_STRING") or environ.get("HTTP_TRANSFER_ENCODING") \
                or environ.get("HTTP_COOKIE"):      # a browser's session: Flask refreshes it
            return self.flask_wsgi(environ, start_response)
        length, limit = environ.get("CONTENT_LENGTH") or "", self.config["MAX_CONTENT_LENGTH"]
        if not (length.isdigit() and length.isascii()) or limit is None or int(length) > limit:
            return self.flask_wsgi(environ, start_response)
        try:
            self.follower.check()
        except Exception as err:        # as a before-request hook's: Flask's to word
            return self._refused(environ, start_response, None, err)
        ruleset = self.holder.current
        try:
            # PATH_INFO holds the path's bytes as latin-1 (PEP 3333); Flask routes on them
            # read as UTF-8
            form = path[len(PREFIX):].encode("latin-1").decode("utf-8")
        except UnicodeError:
            return self.flask_wsgi(environ, start_response)
        if form not in ruleset.schemas:     # a slash, a form it lacks: Flask's
            return self.flask_wsgi(environ, start_response)
        return self._answer(environ, start_response, ruleset, form, int(length))

    def _answer(self, environ, start_response, ruleset, form: str, length: int):
        try:
            raw = _body(environ, length)
            headers = EnvironHeaders(environ)
            lang = lang_of(environ.get("HTTP_ACCEPT_LANGUAGE", ""), None, self.config["LANG"])
            answer = answer_hook(self.app, ruleset, form, headers, raw, lang)
            body = answer.text.encode("utf-8")
            head = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            if answer.replayed:
                head.append(("X-Trimtab-Replayed", "true"))
            head.append(("X-Trimtab-Ruleset-Version", ruleset.version))
            if self.check is not None:
                self._check(answer, environ)
        except Exception as err:        # every refusal is Flask's to word
            return self._refused(environ, start_response, ruleset, err)
        self.metrics.answered(ROUTE, "POST", answer.status, form)
        start_response(f"{answer.status} {HTTP_STATUS_CODES.get(answer.status, 'UNKNOWN')}", head)
        return [body]

    def _check(self, answer, environ) -> None:
        response = self.app.response_class(answer.text, status=answer.status, mimetype="application/json")
        rule = next(r for r in self.app.url_map.iter_rules(ENDPOINT))
        self.check(self.app, rule, "POST", environ.get("PATH_INFO", ""), response)

    def _refused(self, environ, start_response, ruleset, err: Exception):
        """`err` answered as Flask answers a view's exception (Flask.full_dispatch_request and
        wsgi_app): its error handler, then the after-request hooks, in a request context."""
        app = self.app
        ctx = app.request_context(environ)
        error = None
        try:
            try:
                ctx.push()
                if ruleset is not None:
                    g.trimtab_ruleset = ruleset
                response = app.finalize_request(app.handle_user_exception(err))
            except Exception as e:          # as Flask.wsgi_app
                error = e
                response = app.handle_exception(e)
            return response(environ, start_response)
        finally:
            ctx.pop(error)


def _body(environ, length: int) -> bytes:
    """The body as werkzeug reads it: a client gone mid-body is 400 (ClientDisconnected) —
    unless the server says its stream ends where the body does (gunicorn's
    `wsgi.input_terminated`): then what came is the body."""
    try:
        raw = environ["wsgi.input"].read(length) if length else b""
    except OSError:
        raise ClientDisconnected() from None
    if len(raw) != length and not environ.get("wsgi.input_terminated"):
        raise ClientDisconnected()
    return raw


def init_app(app: Flask) -> None:
    """Put the lane in front of Flask's `wsgi_app` (before the access log wraps it), unless
    the config's HOOK_LANE is false."""
    if app.config.get("HOOK_LANE", True):
        app.wsgi_app = HookLane(app, app.wsgi_app)
