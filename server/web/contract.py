"""Each route's contract: what it takes (a request body model, a query model), what it answers
(a model per status) and which refusals it may give, declared beside the route with
`@contract(...)`.  The OpenAPI document is built from these declarations
(server/web/openapi_build.py) and the routes parse their bodies and queries through the same
models (`body_as`, `query_as`), so the document and the code cannot drift apart.

The models are pydantic's (server/web/api_models/); who may call a route stays `@requires`'s.
A refusal of a model is the usual one: 422 `schema_violation` (400 `bad_request` for a query or
a body that is not an object), its message from the server's catalog, its path `$.field[0]`."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from trimtab.server.messages import Msg, msg
from trimtab.server.core.errors import DomainError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Raw:
    """A body or an answer that is not a JSON model: its media type, and its JSON Schema when
    it has one (a spreadsheet upload has none; a redirect has no media type at all)."""
    media_type: str | None
    schema: dict | None = None
    description: str = ""


@dataclass(frozen=True)
class Contract:
    summary: str
    answers: dict[int, Any]             # status -> a model class, Raw, None (no body), or a tuple (alternatives)
    body: Any = None                    # a model class, Raw, or a tuple of Raw (alternatives)
    query: type[BaseModel] | None = None
    path: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    parameters: tuple[dict, ...] = ()   # further parameters as OpenAPI writes them (headers)
    headers: dict[str, str] = field(default_factory=dict)   # response headers of the 2xx answers
    description: str | None = None
    body_required: bool = True


def contract(summary: str, *, answers: dict[int, Any], body: Any = None,
             query: type[BaseModel] | None = None, path: type[BaseModel] | None = None,
             errors: tuple[int, ...] = (), parameters: tuple[dict, ...] = (),
             headers: dict[str, str] | None = None, description: str | None = None,
             body_required: bool = True):
    """Declare a route's contract (see the module's doc); the view itself is unchanged."""
    declared = Contract(summary, answers, body, query, path, tuple(sorted(set(errors))),
                        tuple(parameters), dict(headers or {}), description, body_required)

    def mark(view):
        view.contract = declared
        return view
    return mark


# ---------------------------------------------------------------------- parsing through models
def body_as(model: type[M], data: Any = None) -> M:
    """The request's JSON body (or `data`, already parsed) as `model`.  The bytes go through
    parse_json first: exact decimals, the depth and value limits, 400 for what is not JSON."""
    if data is None:
        from trimtab.server.domain.validation import parse_json
        data = parse_json(request.get_data())
    if not isinstance(data, dict):
        raise DomainError("bad_request", msg("the body must be a JSON object"), "$")
    return checked(model, data, "schema_violation")


def file_body(model):
    """A body carrying a rule file's text, as `model`.  Not through parse_json: its limit on a
    text (4,000 characters, for facts) is not a rule file's (drafts.MAX_FILE_CHARS), which the
    routes check with their own refusal (422 file_too_large)."""
    try:
        data = json.loads(request.get_data().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DomainError("malformed_json", msg("the body is not JSON"), "$") from None
    return body_as(model, data)


def query_as(model: type[M]) -> M:
    """The query string as `model` (each parameter once: server/web/http.py refuses repeats)."""
    return checked(model, request.args.to_dict(), "bad_request")


def checked(model: type[M], data: dict, code: str) -> M:
    """`data` validated by `model` in strict mode (no text taken for a number, no number for a
    text), or the first problem as a DomainError of `code` at its path."""
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as err:
        raise refusal(err.errors(include_url=False)[0], code) from None


def json_path(loc: tuple) -> str:
    path = "$"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def refusal(problem: dict, code: str) -> DomainError:
    """One of pydantic's problems as a refusal, its message in the server's catalog."""
    loc = tuple(problem.get("loc", ()))
    names = [p for p in loc if isinstance(p, str)]
    name = names[-1] if names else "$"
    return DomainError(code, problem_message(problem, name), json_path(loc))


def problem_message(problem: dict, name: str) -> Msg:
    kind, ctx = problem["type"], problem.get("ctx") or {}
    if kind == "missing":
        return msg("`{name}` is required", name=name)
    if kind == "extra_forbidden":
        return msg("`{name}` is not a field here", name=name)
    if kind in ("string_type", "string_sub_type"):
        return msg("`{name}` must be a text", name=name)
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return msg("`{name}` must be a non-empty text", name=name)
        return msg("`{name}` must be at least {limit} characters", name=name, limit=ctx.get("min_length"))
    if kind == "string_too_long":
        return msg("`{name}` is longer than {limit} characters", name=name, limit=ctx.get("max_length"))
    if kind == "string_pattern_mismatch":
        return msg("`{name}` does not have the expected form", name=name)
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return msg("`{name}` must be a whole number", name=name)
    if kind in ("decimal_type", "float_type", "decimal_parsing", "float_parsing", "finite_number") \
            or (kind == "is_instance_of" and ctx.get("class") == "Decimal"):
        return msg("`{name}` must be a number", name=name)
    if kind == "bool_type":
        return msg("`{name}` must be true or false", name=name)
    if kind in ("list_type", "tuple_type", "set_type"):
        return msg("`{name}` must be a list", name=name)
    if kind in ("dict_type", "model_type", "model_attributes_type", "dataclass_type"):
        return msg("`{name}` must be an object", name=name)
    if kind == "too_short":
        return msg("`{name}` must hold at least {limit} items", name=name, limit=ctx.get("min_length"))
    if kind == "too_long":
        return msg("`{name}` must hold at most {limit} items", name=name, limit=ctx.get("max_length"))
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        limit = next(iter(ctx.values()), "")
        words = {"greater_than_equal": msg("`{name}` must be at least {limit}", name=name, limit=limit),
                 "greater_than": msg("`{name}` must be more than {limit}", name=name, limit=limit),
                 "less_than_equal": msg("`{name}` must be at most {limit}", name=name, limit=limit),
                 "less_than": msg("`{name}` must be less than {limit}", name=name, limit=limit)}
        return words[kind]
    if kind in ("literal_error", "enum"):
        # pydantic's own list ("'a', 'b' or 'c'") is English: the choices are listed in the
        # reader's way (a list argument is joined by the language's separator).
        choices = [f"`{c}`" for c in re.findall(r"'([^']*)'", str(ctx.get("expected", "")))]
        return msg("`{name}` must be one of {choices}", name=name, choices=choices or [str(ctx.get("expected", ""))])
    error = ctx.get("error")
    if kind == "value_error" and isinstance(error, ValueError) and error.args and isinstance(error.args[0], Msg):
        return error.args[0]            # a validator of ours raised ValueError(msg(...))
    return msg("`{name}` is not valid here: {detail}", name=name, detail=problem.get("msg", kind))
