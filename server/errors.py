"""Errors map to HTTP in one place: {"error": {"code", "message", "path"}}."""
from __future__ import annotations

from flask import Flask, jsonify
from sqlalchemy.exc import OperationalError, InterfaceError
from werkzeug.exceptions import HTTPException

from dsl.diagnostics import EvalError


class DomainError(Exception):
    def __init__(self, status: int, code: str, message: str, path: str | None = None, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.path, self.extra = status, code, message, path, extra


def error_body(code: str, message: str, path: str | None = None, **extra) -> dict:
    body = {"code": code, "message": message, "path": path}
    body.update(extra)
    return {"error": body}


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(err: DomainError):
        return jsonify(error_body(err.code, err.message, err.path, **err.extra)), err.status

    @app.errorhandler(EvalError)
    def _eval(err: EvalError):
        # An evaluation that cannot finish (over its budget, history too long): the request's
        # fault or the rules', never a crash; nothing of the request was stored.
        extra = {k: v for k, v in err.to_json().items() if k in ("rule", "field")}
        return jsonify(error_body(err.code, err.message(), "$", **extra)), 422

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large",
                400: "bad_request"}.get(err.code, "http_error")
        message = "request body is larger than 1 MB" if err.code == 413 else err.description
        response = jsonify(error_body(code, message, None))
        for name, value in err.get_headers():          # e.g. a 405's `Allow`
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, err.code

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _db_down(err):
        app.logger.warning("database unavailable: %s", err.__class__.__name__)
        return jsonify(error_body("database_unavailable",
                                  "the database is not reachable; nothing was stored, retry later")), 503

    @app.errorhandler(Exception)
    def _unexpected(err):                  # never a traceback to the client
        app.logger.exception("unhandled error")
        return jsonify(error_body("internal", "internal error; the server logged it")), 500
