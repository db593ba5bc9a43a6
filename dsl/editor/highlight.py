"""Semantic tokens from the real parse: each token of a rule file with its kind (keyword,
field, number …), so a field called `level` is coloured as a field and a keyword as a keyword.

Positions are in Python characters (code points); the server converts them to the client's
units (UTF-16 by default), where a character outside the BMP counts two.
"""
from __future__ import annotations

from typing import NamedTuple

from lark import Token
from lark.exceptions import LarkError

from ..formatter import _token_parser
from ..fullwidth import ascii_twins
from ..keywords import KEYWORDS, PHRASES, base_type

# The legend, in the order the client is told (a token's type is its index here).
TOKEN_TYPES = ("keyword", "function", "string", "number", "property", "operator", "comment",
               "type", "enumMember")
TOKEN_MODIFIERS = ("declaration",)

_NUMBERS = {"NUMBER", "INT", "PERCENT", "SIGNED_PERCENT", "QUANTITY", "DURATION", "POINTS",
            "TIME", "DATE"}
_OPERATORS = {"COMPARE", "ADD_OP", "SUB_SIGN", "MUL_OP", "_EQ", "_ARROW"}
_DECLARATIONS = {"REFERENCE", "ROLE", "ALERT", "SCORE", "STATUS", "TARGET", "SPLIT", "POOL",
                 "APPROVAL", "SCHEDULE", "RATING"}
_LAYOUT = {"_NL", "_INDENT", "_DEDENT", "$END"}


class Span(NamedTuple):
    line: int           # 0-based
    column: int         # 0-based, in characters
    text: str           # what it covers (its length in the client's units is the client's business)
    kind: str           # one of TOKEN_TYPES
    declaration: bool = False


def spans(text: str) -> list[Span]:
    """Every token and comment of `text`, in order.  A file being typed rarely parses: then
    the tokens the parser took before the first error (the TextMate grammar colours the rest)."""
    if not text.endswith("\n"):
        text += "\n"
    tokens = [t for t in _parsed_tokens(ascii_twins(text)) if t.type not in _LAYOUT]
    lines = text.split("\n")
    out: list[Span] = []
    previous: Token | None = None
    for i, tok in enumerate(tokens):
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        kind = _kind(tok, previous, following)
        if kind is not None and tok.line is not None and tok.column is not None:
            line, column = tok.line - 1, tok.column - 1
            covered = lines[line][column: column + len(tok)]      # the text as written, not its twin
            declares = previous is not None and base_type(previous.type) in _DECLARATIONS
            out.append(Span(line, column, covered, kind, declares and kind != "keyword"))
        previous = tok
    return sorted(out + _comments(lines, out), key=lambda s: (s.line, s.column))


def _parsed_tokens(reading: str) -> list[Token]:
    """The tokens as the parser takes them (keywords told from names by the parser's state),
    up to the first syntax error."""
    taken: list[Token] = []
    try:
        for tok in _token_parser().parse_interactive(reading).iter_parse():
            taken.append(tok)
    except LarkError:
        if taken:
            taken.pop()             # the token it refused
    return taken


def _kind(tok: Token, previous: Token | None, following: Token | None) -> str | None:
    term = base_type(tok.type)
    if term in KEYWORDS or term in PHRASES:
        return "keyword"
    if term == "STRING":
        return "string"
    if term in _NUMBERS:
        return "number"
    if term in _OPERATORS:
        return "operator"
    if term != "NAME":
        return None                     # punctuation
    before = base_type(previous.type) if previous is not None else ""
    if following is not None and following.type == "LPAR":
        return "function"
    if before in _DECLARATIONS:
        return "function"               # the rule's (or role's) name, with the declaration modifier
    if before == "ON":
        return "type"                   # the form a rule listens to
    if before == "LEVEL":
        return "enumMember"
    return "property"


def _comments(lines: list[str], found: list[Span]) -> list[Span]:
    """`# …` from after the last token of a line (the lexer drops comments; a `#` inside a
    text is part of the text token, so it is never taken for one)."""
    last_end: dict[int, int] = {}
    for s in found:
        last_end[s.line] = max(last_end.get(s.line, 0), s.column + len(s.text))
    out = []
    for number, line in enumerate(lines):
        start = line.find("#", last_end.get(number, 0))
        if start >= 0:
            out.append(Span(number, start, line[start:].rstrip("\r"), "comment"))
    return out
