"""A test harness's check of every answer against the route's contract: the status is one the
OpenAPI document lists for the operation, and a JSON body fits the schema given for that status.

On when the app's CHECK_RESPONSES is set (tests/conftest.py sets TRIMTAB_CHECK_RESPONSES=1 for
the whole suite, so every test is also a check of the document).  Deployments leave it off: an
answer is checked once per test, not once per webhook.  A mismatch is logged and turned into a
500 `internal`, which no test expects."""
from __future__ import annotations

import json
import logging

from flask import Flask, request
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

log = logging.getLogger("trimtab.contract")


class ContractBroken(Exception):
    """An answer the route's contract does not describe."""


# (id of a document, path, method, status) -> (the document, its validator): apps sharing a
# document (openapi_build.document) share the compiled validators too.
_VALIDATORS: dict = {}


def init_app(app: Flask) -> None:
    app.extensions["trimtab.response_check"] = check

    @app.after_request
    def _check(response):
        view = app.view_functions.get(request.endpoint or "")
        if view is None or getattr(view, "contract", None) is None or response.direct_passthrough:
            return response
        check(app, request.url_rule, request.method, request.path, response)
        return response


def check(app: Flask, rule, method: str, path: str, response) -> None:
    """ContractBroken, logged, when `response` is not what `rule`'s contract describes (the
    hook above; web/hook_lane.py for the webhooks it answers)."""
    problem = _problem(app, _VALIDATORS, rule, method.lower(), response)
    if problem:
        log.error("%s %s answered %s against its contract: %s", method, path,
                  response.status_code, problem)
        raise ContractBroken(problem)


def _problem(app: Flask, validators: dict, rule, method: str, response) -> str | None:
    from trimtab.server.web.openapi_build import document
    doc = document(app)
    path = next(p for p, m, r, _v in _routes(app) if r is rule and m == method)
    op = doc["paths"][path][method]
    answer = op["responses"].get(str(response.status_code))
    if answer is None:
        return f"status {response.status_code} is not documented ({sorted(op['responses'])})"
    if "$ref" in answer:
        answer = doc["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    content = answer.get("content", {})
    media = (response.mimetype or "")
    if not content:
        return None if not response.get_data() or response.status_code in (301, 302, 303, 307, 308) \
            else f"a body where none is documented ({media})"
    if media not in content:
        return f"media type {media} is not one of {sorted(content)}"
    schema = content[media].get("schema")
    if schema is None or media != "application/json":
        return None
    key = (id(doc), path, method, response.status_code)
    if key not in validators or validators[key][0] is not doc:
        registry = Registry().with_resource("urn:trimtab:openapi", Resource.from_contents(
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": doc["components"]}))
        validators[key] = (doc, Draft202012Validator(_rebased(schema), registry=registry))
    errors = sorted(validators[key][1].iter_errors(json.loads(response.get_data())), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        return f"at $.{'.'.join(map(str, first.absolute_path))}: {first.message[:300]}"
    return None


def _rebased(schema: dict) -> dict:
    """`#/components/…` references resolved against the document, not the schema itself."""
    text = json.dumps(schema).replace('"#/components/', '"urn:trimtab:openapi#/components/')
    return json.loads(text)


def _routes(app: Flask):
    """The app's operations, listed once per app (kept on the app: an id() would be reused by
    the next app of a test run once this one is gone, and its rules are not this app's)."""
    routes = app.extensions.get("trimtab.contract_routes")
    if routes is None:
        from trimtab.server.web.openapi_build import api_routes
        routes = app.extensions["trimtab.contract_routes"] = list(api_routes(app))
    return routes
