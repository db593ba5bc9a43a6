"""The limits every value given to the rules keeps, stated once — by a webhook, a CLI facts
file or an Excel row alike (the server adds its own refusals on top: server/core/limits.py).

Every number is finite, smaller than MAX_NUMBER in magnitude and has at most MAX_DECIMALS
decimal places; every text is free of NUL and of lone surrogates and at most MAX_TEXT long;
JSON is nested at most MAX_JSON_DEPTH deep.  The checks run on the parsed JSON before anything
converts a value: a number with a huge exponent is refused by looking at its exponent, never by
computing it."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import NamedTuple

MAX_NUMBER = 10 ** 15            # |x| < 10^15: NUMERIC(20,4) and a double hold it the same
MAX_DECIMALS = 30                # decimal places of any number: a float's repr (0.8999999999999999) fits; money says 4
MAX_INT_DIGITS = 30              # a longer digit string is kept as a Decimal, never int()ed
MAX_TEXT = 4000                  # characters of any text in a body
MAX_ID_TEXT = 128                # a person id (rep, requested_by, account): people.id
MAX_DELIVERY_ID = 200            # deliveries.delivery_id
MAX_JSON_DEPTH = 32              # nesting of arrays and objects


class Problem(NamedTuple):
    """The first value outside the limits: its code, what is wrong, and where."""
    code: str                    # number_out_of_range | text_out_of_range
    message: str
    path: str


def parse_int(digits: str):
    """json's parse_int: int() of 4,300 digits raises and of fewer is quadratic; a digit string
    longer than any allowed number stays a Decimal, which the checks below refuse by size."""
    return int(digits) if len(digits) <= MAX_INT_DIGITS else Decimal(digits)


def _not_json(constant: str):
    # Python's json reads NaN and Infinity; JSON has no such numbers and no rule should see one.
    raise ValueError(f"{constant} is not a JSON number")


def loads_exact(text):
    """JSON with exact decimals and without NaN/Infinity (ValueError for those); a digit string
    too long for any allowed number stays a Decimal (parse_int): nothing converts it.  May
    raise RecursionError on absurd nesting: callers treat that as too deep."""
    return json.loads(text, parse_float=Decimal, parse_int=parse_int, parse_constant=_not_json)


def depth_ok(value, limit: int = MAX_JSON_DEPTH) -> bool:
    """Is `value` (parsed JSON) nested no deeper than `limit`?  Iterative: no recursion."""
    todo = [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, (dict, list)):
            if level > limit:
                return False
            todo.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return True


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


def step(path: str, key) -> str:
    """The JSON path of `key` inside `path`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if key.isidentifier():
        return f"{path}.{key}"
    return f"{path}[{key!r}]"


def first_problem(value, path: str = "$") -> Problem | None:
    """The first number or text in `value` (parsed JSON) outside the limits, or None.
    Iterative: depth was checked before."""
    todo = [(value, path)]
    while todo:
        item, where = todo.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                if (problem := text_problem(key)) is not None:
                    return Problem("text_out_of_range", f"a key {problem}", where)
                todo.append((inner, step(where, key)))
        elif isinstance(item, list):
            todo.extend((inner, step(where, i)) for i, inner in enumerate(item))
        elif isinstance(item, str):
            if (problem := text_problem(item)) is not None:
                return Problem("text_out_of_range", f"the text {problem}", where)
        elif isinstance(item, (int, float, Decimal)):
            if (problem := number_problem(item)) is not None:
                return Problem("number_out_of_range", f"the number {problem}", where)
    return None


def decimal_places(value: Decimal) -> int:
    """Decimal places of a finite Decimal that passed number_problem (bounded exponent)."""
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0:     # 'n', 'N', 'F': not finite
        return 0
    # Trailing zeros are not places (1.50 has one), counted on the digits themselves:
    # normalize() would round to the context's 28 digits first and hide places beyond them.
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -exponent - zeros) if zeros < len(digits) else 0
