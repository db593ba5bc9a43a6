"""Errors map to HTTP in one place: {"error": {"code", "message", "path"}}."""
from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, jsonify, request
from sqlalchemy.exc import OperationalError, InterfaceError
from werkzeug.exceptions import HTTPException

from trimtab.dsl.diagnostics import UNPLACED, RuleError, render_message
from trimtab.server.messages import Msg, msg, render
from trimtab.server.core.access_log import ERROR_CODE


# Every refusal's code and its HTTP status, in one place.  A route raises DomainError(code, …);
# which status a client sees is decided here.  tests/test_errors.py checks that every code the
# server raises is listed.
STATUS = {
    # 400: the request is not well formed
    "bad_encryption": 400, "bad_request": 400, "delivery_id_missing": 400,
    "delivery_id_too_long": 400, "malformed_json": 400, "no_mapping": 400, "too_deep": 400,
    "unknown_form": 400,
    # 401: who is asking is not established
    "invalid_token": 401, "platform_not_configured": 401, "signature_expired": 401,
    "signature_invalid": 401, "signature_missing": 401, "signature_scheme_retired": 401,
    "unauthenticated": 401, "oauth_refused": 401,
    # 403: established, and not allowed
    "actor_mismatch": 403, "csrf_failed": 403, "forbidden": 403, "not_a_person": 403,
    "not_the_approver": 403, "out_of_scope": 403, "separation_of_duties": 403,
    "oauth_unknown_person": 403, "oauth_state_mismatch": 403,
    # 404
    "not_found": 404, "unknown_approval_instance": 404,
    # 405
    "method_not_allowed": 405,
    # 409: the request conflicts with what the server holds now
    "approval_closed": 409, "delivery_conflict": 409, "link_taken": 409,
    "no_current_target": 409, "not_dead": 409, "removals_need_confirmation": 409,
    "replayed_request": 409, "retraction_refused": 409, "stale_current_target": 409, "stale_org_relation": 409,
    "step_decided": 409, "target_exists": 409,
    # … and the workbench's (drafts, reviews)
    "draft_not_editable": 409, "file_exists": 409, "nothing_to_submit": 409, "review_closed": 409,
    "review_conflict": 409, "rules_not_in_git": 409, "rules_not_on_a_branch": 409,
    "rules_worktree_dirty": 409, "stale_etag": 409, "too_many_drafts": 409,
    # 413
    "body_too_large": 413,
    # 428: a write that must say which version it read
    "if_match_required": 428,
    # 422: well formed, and the content is refused
    "bad_file": 422, "bad_rows": 422, "identity_taken": 422, "invalid_date": 422,
    "adjustment_out_of_range": 422, "draft_invalid": 422, "invalid_period": 422,
    "file_too_large": 422, "no_independent_approver": 422, "too_many_files": 422,
    "unknown_file": 422,
    "number_out_of_range": 422,
    "reason_required": 422, "ruleset_invalid": 422, "schema_violation": 422,
    "text_out_of_range": 422, "unknown_event": 422, "unknown_platform_user": 422,
    "unknown_subject": 422, "unknown_table": 422, "unknown_widget": 422, "unresolved_role": 422,
    # 429
    "rate_limited": 429, "too_many_attempts": 429,
    # 5xx: the server's side
    "bad_mapping": 500, "git_failed": 500, "internal": 500, "oauth_unavailable": 502, "database_unavailable": 503,
    "database_unsupported": 503,
}
# Codes of the language's own errors (RuleError: evaluation, versions, rules, rule tests,
# decoding): the rules or the facts given to them do not fit — the request's content, 422;
# bytes that are not JSON at all are not well formed, 400.  The first matching prefix wins.
STATUS_BY_PREFIX = {"decode.malformed": 400, "decode.": 422, "eval.": 422, "git.": 422,
                    "check.": 422, "parse.": 422, "load.": 422, "test.": 422, "internal.": 500}


# werkzeug's refusals (its English descriptions are kept for English) in the other languages.
HTTP_MESSAGES = {
    400: msg("the request is not well formed"),
    404: msg("nothing is at this address: check the URL"),
    405: msg("this method is not allowed here; the Allow header names the ones that are"),
}


def status_of(code: str) -> int:
    """The HTTP status of a refusal code; KeyError for a code nobody listed (a server bug)."""
    if code in STATUS:
        return STATUS[code]
    for prefix, status in STATUS_BY_PREFIX.items():
        if code.startswith(prefix):
            return status
    raise KeyError(f"refusal code {code!r} has no HTTP status in server/core/errors.py")


class DomainError(Exception):
    """A refusal: its code (which decides the HTTP status), message and the body's path.
    The message is a `msg(...)` of the server's catalog (rendered in the request's language
    when answered) or a text already in its language (a RuleError's); `extra` are more fields
    of the error's JSON, whose messages are rendered the same way."""

    def __init__(self, code: str, message: str, path: str | None = None, **extra):
        super().__init__(message)
        self.status = status_of(code)
        self.code, self.message, self.path, self.extra = code, message, path, extra


def from_rule_error(err: RuleError, lang: str, path: str | None) -> DomainError:
    """The language's error as a refusal: its code and message (in `lang`), the rule and field
    it names, and where it happened (file, line, column) when it has a place."""
    extra = {k: v for k, v in err.details.items() if k in ("rule", "field")}
    where = err.details.get("path")             # a value's own place in the body: "$.x"
    if isinstance(where, str) and where.startswith("$"):
        path = (path or "$") + where[1:]
    if err.code == "eval.percent_not_fraction":     # the fix, apart from the message
        extra["hint"] = render_message("hint.percent_fraction", err.details, lang)
    first = err.diagnostics[0]
    if first.file != UNPLACED:
        extra.update(file=first.file, line=first.line, column=first.column)
    return DomainError(err.code, err.message(lang), path, **extra)


def localised(value, lang: str):
    """`value` (an error's extra field) with every Msg in it rendered in `lang`."""
    if isinstance(value, Msg):
        return value.render(lang)
    if isinstance(value, dict):
        return {k: localised(v, lang) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [localised(v, lang) for v in value]
    return value


def request_lang() -> str:
    """The language of the answer: Accept-Language, else the language of the person who signed
    in (when the request got as far as knowing who), else the deployment's LANG."""
    return lang_of(request.headers.get("Accept-Language", ""), g.get("trimtab_principal"),
                   current_app.config["LANG"])


def lang_of(accept: str, principal, default: str) -> str:
    """request_lang's choice, from the Accept-Language header's value (web/hook_lane.py
    calls it without a request context)."""
    if accept:
        return "zh" if accept.lower().startswith("zh") else "en"
    if principal is not None and principal.lang in ("zh", "en"):
        return principal.lang
    return default


def error_body(code: str, message: str, path: str | None = None, **extra) -> dict:
    if has_request_context():               # the access log names the refusal
        request.environ[ERROR_CODE] = code
    body = {"code": code, "message": message, "path": path}
    body.update(extra)
    return {"error": body}


def init_app(app: Flask, unsupported_database: type[Exception] | None = None) -> None:
    """The error handlers.  `unsupported_database`: the storage's error for a database server
    older than trimtab serves (a room below this one's cannot be imported here)."""
    @app.errorhandler(DomainError)
    def _domain(err: DomainError):
        lang = request_lang()
        return jsonify(error_body(err.code, render(err.message, lang), err.path,
                                  **localised(err.extra, lang))), err.status

    @app.errorhandler(RuleError)
    def _rule_error(err: RuleError):
        # An evaluation that cannot finish (over its budget, history too long): the request's
        # fault or the rules', never a crash; nothing of the request was stored.
        refusal = from_rule_error(err, request_lang(), "$")
        return jsonify(error_body(refusal.code, refusal.message, refusal.path, **refusal.extra)), \
            refusal.status

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large",
                400: "bad_request"}.get(err.code, "http_error")     # werkzeug chose the status
        lang = request_lang()
        message = msg("request body is larger than 1 MB").render(lang) if err.code == 413 \
            else err.description if lang == "en" or err.code not in HTTP_MESSAGES \
            else HTTP_MESSAGES[err.code].render(lang)       # werkzeug's English, in other words
        response = jsonify(error_body(code, message, None))
        for name, value in err.get_headers():          # e.g. a 405's `Allow`
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, err.code

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _db_down(err):
        app.logger.warning("database unavailable: %s", err.__class__.__name__)
        message = msg("the database is not reachable; nothing was stored, retry later")
        return jsonify(error_body("database_unavailable", message.render(request_lang()))), \
            status_of("database_unavailable")

    if unsupported_database is not None:
        @app.errorhandler(unsupported_database)
        def _db_unsupported(err):
            # The server was swapped for an older one after this process started (at start,
            # migrate, serve and gunicorn's workers refuse it: server/storage/db.py).
            app.logger.error("%s", err)
            message = msg("the database server is PostgreSQL {found}; trimtab needs {needed} or "
                          "later. Nothing was stored; the operator must upgrade it",
                          found=err.found, needed=err.needed)
            return jsonify(error_body("database_unsupported", message.render(request_lang()))), \
                status_of("database_unsupported")

    @app.errorhandler(Exception)
    def _unexpected(err):                  # never a traceback to the client
        app.logger.exception("unhandled error")
        message = msg("internal error; the server logged it")
        return jsonify(error_body("internal", message.render(request_lang()))), status_of("internal")
