"""Reading tokens of the parse tree: the small helpers every builder of AST nodes shares
(build_ast for expressions and common clauses, each kind module for its own clauses, and the
formatter for phrases)."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from lark import Token

from .keywords import PERIOD_BY_WORD
from .parser import base_type

_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_PERIOD_WORD = re.compile(r"(weeks?|months?|quarters?|个周|周|个月|月|个季度|季度)\s*$")


def number_in(token: Token) -> Decimal:
    """The first number written in a token ('at least 2 of' → 2)."""
    found = _DIGITS.search(str(token))
    assert found is not None, token         # the grammar's phrase terminals all carry one
    return Decimal(found.group(0))


def numbers_in(token: Token | str) -> tuple[int, ...]:
    """Every whole number written in a token ('on the 2nd and 4th' → (2, 4))."""
    return tuple(int(n) for n in re.findall(r"\d+", str(token)))


def whole_in(token: Token | str) -> int:
    """A signed whole number as written (`+20`, `−10`, `100`)."""
    return int(str(token).replace("−", "-"))


def digits_in(token: Token | str) -> str:
    """The first number written in a token or text, as written ('12.5%' → '12.5')."""
    found = _DIGITS.search(str(token))
    assert found is not None, token
    return found.group(0)


def period_in(token: Token) -> str:
    """The period word a phrase ends with, as a period ('for 2 consecutive weeks' → week)."""
    found = _PERIOD_WORD.search(str(token))
    assert found is not None, token
    return PERIOD_BY_WORD[found.group(1)]


def unquote(token: Token) -> str:
    return str(token)[1:-1]


def tokens(children: list[Any], *types: str) -> list[Token]:
    """The children that are tokens of one of `types` (keyword spellings folded)."""
    return [c for c in children if isinstance(c, Token) and base_type(c.type) in types]


def first(children: list[Any], cls: type) -> Any:
    """The first child that is an instance of `cls`, or None."""
    return next((c for c in children if isinstance(c, cls)), None)
