"""The limits every value entering the server keeps, stated once.

Every number in a body, a CLI facts file or an Excel row is finite, smaller than MAX_NUMBER in
magnitude and has at most MAX_DECIMALS decimal places; money-like fields (targets are
NUMERIC(20,4)) say `"x-decimals": 4` in their form schema.  Every text is free of NUL and of lone
surrogates.  The form schemas and the OpenAPI state the same bounds (`exclusiveMaximum`,
`maxLength`, period patterns) so that platforms see them before sending.

The checks here run on the parsed JSON before anything converts a value: a number with a huge
exponent is refused by looking at its exponent, never by computing it."""
from __future__ import annotations

from decimal import Decimal

from .errors import DomainError

MAX_NUMBER = 10 ** 15            # |x| < 10^15: NUMERIC(20,4) and a double hold it the same
MAX_DECIMALS = 30                # decimal places of any number: a float's repr (0.8999999999999999) fits; money says 4
MAX_INT_DIGITS = 30              # a longer digit string is kept as a Decimal, never int()ed
MAX_TEXT = 4000                  # characters of any text in a body
MAX_ID_TEXT = 128                # a person id (rep, requested_by, account): people.id
MAX_DELIVERY_ID = 200            # deliveries.delivery_id


def parse_int(digits: str):
    """json's parse_int: int() of 4,300 digits raises and of fewer is quadratic; a digit string
    longer than any allowed number stays a Decimal, which the checks below refuse by size."""
    return int(digits) if len(digits) <= MAX_INT_DIGITS else Decimal(digits)


def number_problem(value) -> str | None:
    """Why a JSON number is outside the limits, or None.  Looks at exponents only."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if -MAX_NUMBER < value < MAX_NUMBER else "must be smaller than 10^15 in magnitude"
    if isinstance(value, float):
        value = Decimal(repr(value))
    if not value.is_finite():
        return "must be a finite number"
    if value and value.adjusted() >= 15:
        return "must be smaller than 10^15 in magnitude"
    if decimal_places(value) > MAX_DECIMALS:
        return f"must have at most {MAX_DECIMALS} decimal places"
    return None


def text_problem(value: str) -> str | None:
    if len(value) > MAX_TEXT:
        return f"must be at most {MAX_TEXT} characters"
    if "\x00" in value:
        return "must not contain NUL"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain a lone surrogate (not UTF-8)"
    return None


def _step(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if key.isidentifier():
        return f"{path}.{key}"
    return f"{path}[{key!r}]"


def check(value, path: str = "$") -> None:
    """Every number and text in `value` (parsed JSON) within the limits, or a 422 naming the
    first one outside.  Iterative: depth was checked before."""
    todo = [(value, path)]
    while todo:
        item, where = todo.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                if (problem := text_problem(key)) is not None:
                    raise DomainError("text_out_of_range", f"a key {problem}", where)
                todo.append((inner, _step(where, key)))
        elif isinstance(item, list):
            todo.extend((inner, _step(where, i)) for i, inner in enumerate(item))
        elif isinstance(item, str):
            if (problem := text_problem(item)) is not None:
                raise DomainError("text_out_of_range", f"the text {problem}", where)
        elif isinstance(item, (int, float, Decimal)):
            if (problem := number_problem(item)) is not None:
                raise DomainError("number_out_of_range", f"the number {problem}", where)


def check_decimals(schema: dict, facts, path: str = "$") -> None:
    """Fields whose schema says `"x-decimals": n` have at most n decimal places (JSON Schema's
    multipleOf divides floats, and refuses Decimals: it cannot say this exactly).  Follows
    objects and arrays of the schema; runs after the schema accepted the facts."""
    if isinstance(facts, dict):
        for name, prop in schema.get("properties", {}).items():
            if name in facts:
                check_decimals(prop, facts[name], _step(path, name))
    elif isinstance(facts, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(facts):
            check_decimals(schema["items"], item, _step(path, i))
    elif isinstance(facts, Decimal) and "x-decimals" in schema and facts.is_finite() \
            and decimal_places(facts) > schema["x-decimals"]:
        raise DomainError("schema_violation",
                          f"{facts} has more than {schema['x-decimals']} decimal places", path)


def decimal_places(value: Decimal) -> int:
    """Decimal places of a finite Decimal that passed number_problem (bounded exponent)."""
    exponent = value.as_tuple().exponent
    if exponent >= 0:
        return 0
    return max(0, -value.normalize().as_tuple().exponent)
