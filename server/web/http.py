"""The HTTP helpers every route module shares, and what every request must be before a route
sees it.

Helpers: `sessions()` (a database session), `visible_or_refused` (a row, or 404 when there is
none and 403 when the caller may not see it), `page` (a list route's answer with its cursor).
Bodies and queries are read by their contracts (web/contract.py: `body_as`, `query_as`);
refusals are DomainErrors (core/errors.py), answered by code in one table.

Checks, before any route: ids within the id columns (32 bits), no NUL or lone surrogate in the
path, query or headers, a body within the limit even when chunked, JSON no deeper than
MAX_JSON_DEPTH.  Refusals are 4xx with code, message and path."""
from __future__ import annotations

from flask import Flask, current_app, jsonify, request
from werkzeug.routing import BaseConverter, ValidationError

from trimtab.server.core.errors import DomainError
from trimtab.server.messages import Msg, msg
from trimtab.dsl.values import MAX_ID_TEXT, MAX_JSON_DEPTH, MAX_TEXT  # noqa: F401
from trimtab.dsl.values import depth_ok as depth  # noqa: F401  (intake, the CLI)

PERSON_PARAMS = {"subject", "rep"}     # filters on a person id column (String(128))

MAX_ID = 2 ** 31 - 1              # the id columns are INTEGER: 32 bits on PostgreSQL
# Decisions' ids are BIGINT, a block of 256 a submission (migration 0022); at most what a
# JSON number keeps exact in every client (2^53 − 1).
MAX_DECISION_ID = 2 ** 53 - 1


class IdConverter(BaseConverter):
    """`<id:name>`: a row id, 1 … 2^31−1; anything else is a 404, never a database error."""
    regex = r"[0-9]{1,19}"
    highest = MAX_ID

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= self.highest:
            raise ValidationError()
        return number

    def to_url(self, value) -> str:
        return str(int(value))


class DecisionIdConverter(IdConverter):
    """`<decision:name>`: a decision's id, 1 … 2^53−1; anything else is a 404."""
    highest = MAX_DECISION_ID


def sessions():
    """A database session of the app's factory (use it as a context manager)."""
    return current_app.extensions["trimtab.sessions"]()


def visible_or_refused(session, model, row_id: int, what: Msg, may_see=lambda row: True):
    """The row, or 404 when there is none and 403 when the caller may not see it."""
    row = session.get(model, row_id)
    if row is None:
        raise DomainError("not_found", msg("no {what} {row_id}", what=what, row_id=row_id), "$.id")
    if not may_see(row):
        raise DomainError("out_of_scope", msg("{what} {row_id} is not yours to see", what=what, row_id=row_id))
    return row


def page(items: list[dict], limit: int):
    """A list route's answer: its items and, when the page is full, the cursor of the next."""
    return jsonify({"items": items, "next": items[-1]["id"] if len(items) == limit else None})


def clean_text(value: str) -> bool:
    """No NUL (PostgreSQL refuses it in text) and no lone surrogate (not UTF-8)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_request() -> None:
    req = request._get_current_object()      # one proxy lookup, not one per use
    if req.environ.get("QUERY_STRING"):
        _check_query(req)
    if not clean_text(req.path):
        raise DomainError("bad_request", msg("the path holds NUL or a character that is not UTF-8"))
    # A chunked body has no length up front, and werkzeug's stream would cut it at the limit
    # without a word: read the server's own input, at most one byte past the limit.
    if req.environ.get("HTTP_TRANSFER_ENCODING") and req.content_length is None:
        limit = req.max_content_length
        if limit is not None:
            data = req.environ["wsgi.input"].read(limit + 1)
            if len(data) > limit:
                raise DomainError("body_too_large", msg("request body is larger than {arg} KB", arg=limit // 1024))
            req._cached_data = data           # what get_data() returns from here on


def _check_query(req) -> None:
    for name, values in req.args.lists():
        if len(values) > 1:       # no operation takes a list: the OpenAPI declares one value each
            raise DomainError("bad_request", msg("a query parameter is given more than once"),
                              f"$.{name}" if clean_text(name) else "$")
    for name, value in req.args.items(multi=True):
        if not (clean_text(name) and clean_text(value)):
            raise DomainError("bad_request", msg("a query parameter holds NUL or a character that is not UTF-8"),
                              f"$.{name}" if clean_text(name) else "$")
        if name in PERSON_PARAMS and len(value) > MAX_ID_TEXT:
            raise DomainError("bad_request", msg("{name} is a person id, at most {max_id_text} characters",
                                                 name=name, max_id_text=MAX_ID_TEXT), f"$.{name}")
        if len(value) > MAX_TEXT:
            raise DomainError("bad_request", msg("a query parameter is longer than {max_text} characters",
                                                 max_text=MAX_TEXT), f"$.{name}")


def init_app(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["decision"] = DecisionIdConverter
    app.before_request(_check_request)
