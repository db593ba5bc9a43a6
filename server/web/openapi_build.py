"""The OpenAPI 3.1 document, built from the routes themselves: their paths and methods from
Flask's url map, who may call them from `@requires`, and what they take and answer from their
`@contract(...)` (server/web/contract.py), whose pydantic models give every schema.

`document(app)` is what GET /openapi.json serves (built once per process); `trimtab openapi` prints
it.  A route without a contract fails the build: tests/test_server.py builds it."""
from __future__ import annotations

import re
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from trimtab.server.web.api_models.common import MAX_DECISION_ID, MAX_ID, ErrorBody
from trimtab.server.web.contract import Contract, Raw

TITLE = "trimtab rules server"
DESCRIPTION = ("Signed webhooks from low-code forms in; decisions, form schemas and audit out. "
               "Errors are {\"error\": {\"code\", \"message\", \"path\"}}; every request and "
               "answer below is described by its type (server/web/api_models/).")
REF = "#/components/schemas/{model}"
ERROR = {"$ref": "#/components/responses/Error"}
SECURITY_SCHEMES = {
    "bearerToken": {"type": "http", "scheme": "bearer",
                    "description": "a personal token (`trimtab people token PERSON`) or the bootstrap admin token"},
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "trimtab_session",
                      "description": "a browser session; changes need X-CSRFToken"},
    "webhookSignature": {"type": "apiKey", "in": "header", "name": "X-Trimtab-Signature",
                         "description": "HMAC-SHA256 of timestamp.body (or the platform's own scheme)"},
}
PERSON = [{"bearerToken": []}, {"sessionCookie": []}]
SECURITY = {"public": [], "webhook": [{"webhookSignature": []}], "person": PERSON, "it": PERSON,
            "admin": PERSON, "hrbp": PERSON, "workbench": PERSON}
WHO = {"public": "anyone", "webhook": "a platform, by its signature",
       "person": "anyone signed in; lists show only what the caller's role and scope allow",
       "hrbp": "an HRBP (or admin)", "workbench": "an HRBP, IT or admin",
       "it": "IT or admin", "admin": "admin"}
# Refusals any operation may give: a request that is not well formed (server/web/http.py: a
# repeated query parameter, NUL in the path…) and the database out of reach.
ANY_ROUTE = {400, 503}
# Headers of every answer (server/domain/rulesets.py names the rule set that answered).
ANSWER_HEADERS = {"X-Trimtab-Ruleset-Version": "the version of the rule set that answered"}
REASONS = {200: "OK", 201: "created", 202: "accepted", 204: "no content", 302: "a redirect",
           303: "see other", 308: "moved for good"}
# What no JSON API is: the workbench's HTML pages and the static files (test_access holds who
# may open them).
NOT_API = ("static", "workbench_pages.", "workbench_parts.")
_PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


class MissingContract(Exception):
    """A route of the API declares no `@contract(...)`."""


def api_routes(app: Flask):
    """(path as OpenAPI writes it, method, the rule, the view) of every API operation."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, sorted(r.methods or ()))):
        if rule.endpoint.startswith(NOT_API):
            continue
        view = app.view_functions[rule.endpoint]
        path = _PARAM.sub(lambda m: "{" + m.group(2) + "}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield path, method.lower(), rule, view


def build(app: Flask) -> dict:
    operations, models = [], []
    for path, method, rule, view in api_routes(app):
        declared: Contract | None = getattr(view, "contract", None)
        if declared is None:
            raise MissingContract(f"{method.upper()} {rule.rule} ({rule.endpoint}) declares no @contract")
        models += _models_of(declared)
        operations.append((path, method, rule, view, declared))
    refs, schemas = _schemas(models)
    paths: dict[str, dict] = {}
    for path, method, rule, view, declared in operations:
        paths.setdefault(path, {})[method] = _operation(rule, view, declared, refs, schemas)
    from trimtab import server
    version = getattr(server, "__version__", "0.1.0")
    error = {"description": "a refusal",
             "headers": {name: {"description": text, "schema": {"type": "string"}}
                         for name, text in ANSWER_HEADERS.items()},
             "content": {"application/json": {"schema": refs[(ErrorBody, "serialization")]}}}
    return {"openapi": "3.1.0",
            "info": {"title": TITLE, "version": version, "description": DESCRIPTION},
            "paths": paths,
            "components": {"securitySchemes": SECURITY_SCHEMES, "responses": {"Error": error},
                           "schemas": schemas}}


def _models_of(declared: Contract) -> list[tuple[type[BaseModel], str]]:
    found = [(ErrorBody, "serialization")]
    if _is_model(declared.body):
        found.append((declared.body, "validation"))
    for model in (declared.query, declared.path):
        if model is not None:
            found.append((model, "validation"))
    for answer in declared.answers.values():
        found += [(a, "serialization") for a in _alternatives(answer) if _is_model(a)]
    return found


def _alternatives(answer) -> tuple:
    """An answer's forms: one, or a tuple of them (a model and a page for a browser)."""
    return answer if isinstance(answer, tuple) else (answer,)


def _is_model(value) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _schemas(models) -> tuple[dict, dict]:
    unique = list(dict.fromkeys(models))
    refs, top = models_json_schema(unique, ref_template=REF)
    return refs, _untitled(top.get("$defs", {}))


def _untitled(schema):
    """The schemas without pydantic's `title`s (the class or field name again): noise in a
    document whose names already say it.  A property *named* title stays."""
    if isinstance(schema, list):
        return [_untitled(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in ("properties", "$defs", "patternProperties"):
            out[key] = {name: _untitled(sub) for name, sub in value.items()}
        else:
            out[key] = _untitled(value)
    return out


def _operation(rule, view, declared: Contract, refs, schemas) -> dict:
    need = getattr(view, "access", None)
    op: dict[str, Any] = {"operationId": rule.endpoint.replace(".", "_") + "_" + _verb(rule, declared),
                          "summary": declared.summary}
    if declared.description:
        op["description"] = declared.description
    params = _path_parameters(rule, declared, schemas) + _query_parameters(declared, schemas)
    params += [dict(p) for p in declared.parameters]
    if params:
        op["parameters"] = params
    body = _request_body(declared, refs)
    if body:
        op["requestBody"] = body
    responses: dict[str, Any] = {}
    for status, answer in sorted(declared.answers.items()):
        responses[str(status)] = _answer(status, answer, declared, refs)
    errors = set(declared.errors) | ANY_ROUTE
    if declared.body is not None:
        errors.add(413)             # a body over MAX_CONTENT_LENGTH
    if need not in (None, "public", "webhook"):
        errors |= {401, 429}        # who is not signed in; an address after too many bad tokens
        if need != "person" or _verb(rule, declared) not in ("get",):
            errors.add(403)         # whoever lacks the role; a session's change without its CSRF token
    for status in sorted(errors):
        responses[str(status)] = ERROR
    op["responses"] = responses
    if need is not None:
        op["security"], op["x-access"] = SECURITY[need], WHO[need]
    return op


def _verb(rule, declared: Contract) -> str:
    methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    return "_".join(m.lower() for m in methods)


def _path_parameters(rule, declared: Contract, schemas) -> list[dict]:
    given = _fields(declared.path, schemas) if declared.path else {}
    params = []
    for converter, name in _PARAM.findall(rule.rule):
        if name in given:
            schema, description = given[name]
        elif converter in ("id", "int", "decision"):
            schema, description = {"type": "integer", "minimum": 1,
                                   "maximum": MAX_DECISION_ID if converter == "decision" else MAX_ID}, None
        else:
            schema, description = {"type": "string", "minLength": 1, "maxLength": 200}, None
        param = {"name": name, "in": "path", "required": True, "schema": schema}
        if description:
            param["description"] = description
        params.append(param)
    return params


def _query_parameters(declared: Contract, schemas) -> list[dict]:
    if declared.query is None:
        return []
    required = set(declared.query.model_json_schema().get("required", []))
    params = []
    for name, (schema, description) in _fields(declared.query, schemas).items():
        param = {"name": name, "in": "query", "required": name in required, "schema": schema}
        if description:
            param["description"] = description
        params.append(param)
    return params


def _fields(model: type[BaseModel], schemas) -> dict[str, tuple[dict, str | None]]:
    """Each field of a query or path model: (its schema, its description)."""
    whole = schemas.get(model.__name__) or _untitled(model.model_json_schema(ref_template=REF))
    found = {}
    for name, schema in whole.get("properties", {}).items():
        schema = dict(schema)
        description = schema.pop("description", None)
        schema.pop("title", None)
        schema.pop("default", None)
        found[name] = (schema, description)
    return found


def _request_body(declared: Contract, refs) -> dict | None:
    body = declared.body
    if body is None:
        return None
    if _is_model(body):
        content = {"application/json": {"schema": refs[(body, "validation")]}}
    else:
        content = {}
        for raw in (body if isinstance(body, tuple) else (body,)):
            content[raw.media_type] = {"schema": raw.schema} if raw.schema is not None else {}
    return {"required": declared.body_required, "content": content}


def _answer(status: int, answer, declared: Contract, refs) -> dict:
    described: dict[str, Any] = {"description": REASONS.get(status, "OK")}
    for form in _alternatives(answer):
        if _is_model(form):
            described.setdefault("content", {})["application/json"] = {"schema": refs[(form, "serialization")]}
        elif isinstance(form, Raw):
            if form.description:
                described["description"] = form.description
            if form.media_type:
                described.setdefault("content", {})[form.media_type] = \
                    {"schema": form.schema} if form.schema is not None else {}
    if 200 <= status < 300:
        described["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                                for name, text in {**ANSWER_HEADERS, **declared.headers}.items()}
    return described


_BUILT: dict = {}       # the routes' signature -> its document: apps of one server share it


def document(app: Flask) -> dict:
    """The app's document (what GET /openapi.json serves), built once per set of routes: every
    app the tests make has the same routes and contracts, so they share one build."""
    doc = app.extensions.get("trimtab.openapi")
    if doc is None:
        signature = tuple(sorted((rule.rule, rule.endpoint, tuple(sorted(rule.methods or ())),
                                  id(getattr(app.view_functions[rule.endpoint], "contract", None)),
                                  getattr(app.view_functions[rule.endpoint], "access", None))
                                 for rule in app.url_map.iter_rules()))
        doc = _BUILT.get(signature)
        if doc is None:
            if len(_BUILT) > 16:
                _BUILT.clear()
            doc = _BUILT[signature] = build(app)
        app.extensions["trimtab.openapi"] = doc
    return doc
