"""The server's side of the value limits (the limits themselves: dsl/values.py, which the
language's commands keep too).  Every number and text of a body within them, or a 422 naming
the first one outside; money-like fields (targets are NUMERIC(20,4)) say `"x-decimals": 4` in
their form schema.  The form schemas and the OpenAPI state the same bounds (`exclusiveMaximum`,
`maxLength`, period patterns) so that platforms see them before sending."""
from __future__ import annotations

from decimal import Decimal

from trimtab.dsl.values import (  # noqa: F401  (the server's modules read the limits here)
    MAX_DECIMALS, MAX_DELIVERY_ID, MAX_ID_TEXT, MAX_INT_DIGITS, MAX_NUMBER, MAX_TEXT,
    decimal_places, first_problem, number_problem, parse_int, step, text_problem)

from trimtab.server.core.errors import DomainError
from trimtab.server.messages import msg


# The language's limit problems (dsl/values.py words them in English) as the server's messages.
LIMIT_MESSAGES = {str(m): m for m in (
    msg("the number must be smaller than 10^15 in magnitude"),
    msg("the number must be a finite number"),
    msg("the number must have at most {count} decimal places", count=MAX_DECIMALS),
    msg("the text must be at most {count} characters", count=MAX_TEXT),
    msg("the text must not contain NUL"),
    msg("the text must not contain a lone surrogate (not UTF-8)"),
    msg("a key must be at most {count} characters", count=MAX_TEXT),
    msg("a key must not contain NUL"),
    msg("a key must not contain a lone surrogate (not UTF-8)"))}


def check(value, path: str = "$") -> None:
    """Every number and text in `value` (parsed JSON) within the limits, or a 422 naming the
    first one outside."""
    problem = first_problem(value, path)
    if problem is not None:
        raise DomainError(problem.code, LIMIT_MESSAGES.get(problem.message, problem.message), problem.path)


def check_decimals(schema: dict, facts, path: str = "$") -> None:
    """Fields whose schema says `"x-decimals": n` have at most n decimal places (JSON Schema's
    multipleOf divides floats, and refuses Decimals: it cannot say this exactly).  Follows
    objects and arrays of the schema; runs after the schema accepted the facts."""
    if isinstance(facts, dict):
        for name, prop in schema.get("properties", {}).items():
            if name in facts:
                check_decimals(prop, facts[name], step(path, name))
    elif isinstance(facts, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(facts):
            check_decimals(schema["items"], item, step(path, i))
    elif isinstance(facts, Decimal) and "x-decimals" in schema and facts.is_finite() \
            and decimal_places(facts) > schema["x-decimals"]:
        raise DomainError("schema_violation",
                          msg("{facts} has more than {decimals} decimal places",
                              facts=facts, decimals=schema['x-decimals']), path)
