"""`trimtab fmt`: print a rule file in canonical layout, with English or Chinese keywords.

It re-emits the tokens of the real parse (so a field called `level` stays a field), with
keywords, phrases and function names spelled in the chosen language, one space between
tokens, four spaces per block level, comments and single blank lines kept where they were.
"""
from __future__ import annotations

import re
from typing import Any, Optional

from lark import Lark, Token

from .fullwidth import ascii_twins
from .keywords import (FUNCTION_BY_SPELLING, FUNCTIONS, KEYWORDS, PHRASES, THIS_WORDS, period_word, spelling,
                       weekday_spelling)
from .names import Spellings
from .parser import base_type, parse, shared_parser
from .tokens import digits_in, number_in as _number_in, numbers_in, period_in as _period_in

_NO_SPACE_BEFORE = {"_COMMA", "_COLON", "RPAR", "_DOT", "_RBRACK", "_RBRACE"}
_NO_SPACE_AFTER = {"LPAR", "_DOT", "SUB_SIGN", "_LBRACK", "_LBRACE"}
_PUNCT = {"_COMMA": ",", "_COLON": ":", "LPAR": "(", "RPAR": ")", "_DOT": ".", "_EQ": "=",
          "_LBRACK": "[", "_RBRACK": "]", "_LBRACE": "{", "_RBRACE": "}", "_ARROW": "→"}
_ZH_CHARS = re.compile(r"[\u4e00-\u9fff]")


def _token_parser() -> Lark:
    """The grammar keeping every token (punctuation too), built once per process and cached
    on disk like the parser's (parser.shared_parser)."""
    return shared_parser(keep_all_tokens=True, maybe_placeholders=False)


def _leaves(tree):
    stack = [tree]
    out = []
    while stack:
        node = stack.pop()
        if isinstance(node, Token):
            out.append(node)
        else:
            stack.extend(reversed(node.children))
    return out


def detect_lang(text: str) -> str:
    """The keyword language a file is mostly written in."""
    tokens = _leaves(_token_parser().parse(ascii_twins(text if text.endswith("\n") else text + "\n")))
    zh = en = 0
    for tok in tokens:
        if base_type(tok.type) in KEYWORDS or tok.type in PHRASES:
            if _ZH_CHARS.search(str(tok)):
                zh += 1
            else:
                en += 1
    return "zh" if zh > en else "en"


def _ordinals(numbers, lang: str) -> str:
    """(2, 4) → '2nd and 4th' / '2、4'."""
    if lang == "zh":
        return "、".join(str(n) for n in numbers)
    words = [f"{n}{_SUFFIX.get(n % 100, _SUFFIX.get(n % 10, 'th'))}" for n in numbers]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


_SUFFIX = {1: "st", 2: "nd", 3: "rd", 11: "th", 12: "th", 13: "th"}


def _phrase(tok: Token, lang: str) -> str:
    template = PHRASES[tok.type][0 if lang == "en" else 1]
    text = str(tok)
    if tok.type == "NTH_WEEKDAYS":
        return template.format(n=_ordinals(numbers_in(tok), lang))
    if tok.type == "THIS_PERIOD":
        return THIS_WORDS[_period_in(tok)][0 if lang == "en" else 1]
    found = re.search(r"\d+(?:\.\d+)?\s*[%％]?", text)
    n_text = found.group(0).replace(" ", "") if found else text
    if "{u}" in template:
        n = int(_number_in(tok))
        return template.format(n=n, u=period_word(_period_in(tok), n, lang))
    return template.format(n=n_text)




def _quantity(text: str, lang: str) -> str:
    """'48h' → '48 hours' / '48 小时'; '25万' stays '25万'."""
    from .units import UNIT_WORDS, parse_quantity
    digits = digits_in(text)
    word = text[len(digits):].strip()
    _value, unit = parse_quantity(text)
    if word in ("万元",):
        return digits + word
    forms = UNIT_WORDS[lang][unit or ""]
    name = forms[0] if digits == "1" else forms[1]
    return f"{digits}{name}" if unit in ("yuan", "wan") else f"{digits} {name}"


def _spell(tok: Token, nxt: Token | None, lang: str, names: Spellings) -> str:
    if tok.type == "NAME":
        return _name(tok, nxt, lang, names)
    if base_type(tok.type) in KEYWORDS:
        return spelling(base_type(tok.type), lang)
    if tok.type in PHRASES:
        return _phrase(tok, lang)
    if tok.type in _PUNCT:
        return _PUNCT[tok.type]
    if tok.type in ("QUANTITY", "DURATION"):
        return _quantity(str(tok), lang)
    return str(tok)


def _name(tok: Token, nxt: Token | None, lang: str, names: Spellings) -> str:
    """A function's name, a weekday (always before `at`), or a field, form or role in the
    language's spelling: its label in zh, its id in en (names.py found which is which)."""
    if nxt is not None and nxt.type == "LPAR":
        canon = FUNCTION_BY_SPELLING.get(str(tok))
        if canon:
            forms = FUNCTIONS[canon]
            return forms[0] if lang == "en" else forms[1]
    if nxt is not None and base_type(nxt.type) == "AT":
        return weekday_spelling(str(tok), lang)
    spelled = names.get((tok.line, tok.column))
    if spelled is not None:
        return spelled[0] if lang == "en" else spelled[1]
    return str(tok)


def format_text(text: str, lang: str | None = None, filename: str = "<input>",
                names: Spellings | None = None) -> str:
    """The canonical text of a rule file.  Raises RuleError if it does not parse.  `names`:
    where the file names fields, forms and roles, with their ids and labels
    (names.resolve_names), so they are written in `lang` too."""
    parse(text, filename)                      # real diagnostics for a broken file
    if not text.endswith("\n"):
        text += "\n"
    lang = lang or detect_lang(text)
    lines = text.splitlines()
    tokens = [t for t in _leaves(_token_parser().parse(ascii_twins(text))) if t.type != "$END"]
    out: list[str] = []
    # Comments on the first lines: the lexer drops a comment on line 1, and a newline token
    # carries the rest.
    head_end = tokens[0].line if tokens and tokens[0].type == "_NL" else \
        (tokens[0].line - 1 if tokens else len(lines))
    head = lines[:head_end]
    pending = _comment_block("\n" + "\n".join(head)) if head else []
    level = 0
    current: list[str] = []
    last: Any = None                            # the previous token on this line
    for i, tok in enumerate(tokens):
        if tok.type == "_INDENT":
            level += 1
            continue
        if tok.type == "_DEDENT":
            level -= 1
            continue
        if tok.type == "_NL":
            if current:
                line = "    " * level + "".join(current)
                trailing = _trailing_comment(lines, last)
                out.append(line + (f"  {trailing}" if trailing else ""))
                current = []
            pending = pending + _comment_block(str(tok))
            if pending and not out and pending[0] == "":
                pending = pending[1:]
            continue
        if not current and pending:
            for c in pending:
                out.append(("    " * level + c) if c else "")
            pending = []
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        word = _spell(tok, nxt, lang, names or {})
        if base_type(tok.type) == "CHANGES_PER_CYCLE" and lang == "en" and last is not None and str(last) == "1":
            word = "change per cycle"
        if current and tok.type not in _NO_SPACE_BEFORE and last.type not in _NO_SPACE_AFTER \
                and not (tok.type == "LPAR" and last.type == "NAME"):
            current.append(" ")
        current.append(word)
        last = tok
    if current:
        out.append("    " * level + "".join(current))
    for c in pending:
        if c:
            out.append(c)
    while out and not out[-1]:
        out.pop()
    # Blank line between top-level declarations that had none.
    return "\n".join(out) + "\n"


def _comment_block(nl_text: str) -> list[str]:
    """Comment lines and (collapsed) blank lines carried by a newline token."""
    parts = nl_text.split("\n")[1:]
    out: list[str] = []
    for i, part in enumerate(parts):
        s = part.strip()
        if s.startswith("#"):
            out.append(s)
        elif not s and i < len(parts) - 1 and (not out or out[-1] != ""):
            out.append("")
    return out


def _trailing_comment(lines, last: Optional[Token]) -> str | None:
    if last is None or not last.end_line:
        return None
    raw = lines[last.end_line - 1] if last.end_line <= len(lines) else ""
    rest = raw[(last.end_column or 1) - 1:]
    idx = rest.find("#")
    return rest[idx:].strip() if idx >= 0 else None


__all__ = ["format_text", "detect_lang"]
