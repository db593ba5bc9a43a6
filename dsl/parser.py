"""Stage 1: text → Lark parse tree.  Syntax errors become `parse.*` diagnostics."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.indenter import DedentError, Indenter

from .diagnostics import Diagnostic, RuleError
from .grammar_cache import cached_lark
from .keywords import KEYWORDS, PERIOD_WORDS, PHRASES
from .limits import MAX_DIGITS, MAX_FILE_CHARS

GRAMMAR_FILE = Path(__file__).with_name("grammar.lark")


class RuleIndenter(Indenter):
    """Indentation → _INDENT/_DEDENT."""

    NL_type = "_NL"
    OPEN_PAREN_types = ["LPAR"]
    CLOSE_PAREN_types = ["RPAR"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 4


def _alternatives(spellings) -> str:
    # Longest first, so that a keyword is never cut short by a shorter spelling of another.
    parts = []
    for s in sorted(spellings, key=len, reverse=True):
        parts.append(r"\s+".join(re.escape(w) for w in s.split()))
    return "|".join(parts)


def _period_pattern() -> str:
    words = [w for ws in PERIOD_WORDS.values() for w in ws]
    return "(?:" + _alternatives(words) + ")"


MULTIWORD = {t for t, spellings in KEYWORDS.items() if any(" " in x for x in spellings)}
_SPELLING_SEP = "__"


def keyword_terminals() -> str:
    """Lark terminal definitions for every keyword and phrase, from keywords.py.

    A one-word keyword gets one string terminal per spelling (ALERT__0 "alert", ALERT__1
    "预警"): Lark then lexes a NAME and looks the word up, only among the keywords the parser
    can accept at that point (the contextual lexer), so a field may still be called `level`.
    Later stages read a token's keyword with base_type() (ALERT__1 → ALERT).
    Multi-word keywords and phrases that carry a number are regular expressions.
    """
    lines = []
    for term, spellings in KEYWORDS.items():
        if term in MULTIWORD:
            lines.append(f"{term}.3: /(?:{_alternatives(spellings)})(?!\\w)/")
        else:
            for i, word in enumerate(spellings):
                lines.append(f'{term}{_SPELLING_SEP}{i}: "{word}"')
    num, period = r"\d+(?:\.\d+)?\s*[%％]?", _period_pattern()
    nth = r"\d+(?:st|nd|rd|th)"
    phrase_regex = {
        "AT_LEAST_OF": [r"at\s+least\s+\d+\s+of(?!\w)", r"至少\s*\d+\s*项满足"],
        "CONSECUTIVE": [rf"for\s+\d+\s+consecutive\s+{period}(?!\w)", rf"连续\s*\d+\s*{period}"],
        "LAST_WINDOW": [rf"last\s+\d+\s+{period}(?!\w)", rf"最近\s*\d+\s*{period}"],
        "THIS_PERIOD": [r"this\s+(?:week|month|quarter)(?!\w)", r"本\s*(?:周|月|季度)(?!\w)"],
        "FOR_EVERY": [r"for\s+every\s+\d+(?!\d)", r"每\s*\d+\s*个"],
        "COUNTS_TOWARD": [rf"counts\s+{num}\s+toward(?!\w)", rf"按\s*{num}\s*计入"],
        "DAY_OF_MONTH": [r"on\s+day\s+\d+(?!\d)", r"\d+\s*[号日]"],
        "NTH_WEEKDAYS": [rf"on\s+the\s+{nth}(?:\s*(?:,|and)\s*{nth})*(?!\w)",
                         r"第\s*\d+(?:\s*[、,，和]\s*第?\s*\d+)*\s*个"],
    }
    assert set(phrase_regex) == set(PHRASES)
    for term, regexes in phrase_regex.items():
        lines.append(f"{term}.5: /{'|'.join(regexes)}/")
    return "\n".join(lines) + "\n"


def expand_keywords(grammar: str) -> str:
    """In the rules, a one-word keyword stands for any of its spellings."""
    for term, spellings in KEYWORDS.items():
        if term not in MULTIWORD:
            alts = "|".join(f"{term}{_SPELLING_SEP}{i}" for i in range(len(spellings)))
            grammar = re.sub(rf"(?<![\w/]){term}(?![\w:.])", f"({alts})", grammar)
    return grammar


def grammar_text() -> str:
    return expand_keywords(GRAMMAR_FILE.read_text(encoding="utf-8")) + "\n" + keyword_terminals()


def base_type(term: str) -> str:
    """ALERT__1 → ALERT."""
    return term.split(_SPELLING_SEP, 1)[0] if _SPELLING_SEP in term else term


@lru_cache(maxsize=1)
def get_parser() -> Lark:
    """The LALR parser, built once per process and its tables cached on disk (grammar_cache)."""
    # No propagate_positions: build_ast computes spans from tokens for the nodes it keeps.
    return cached_lark(grammar_text(), parser="lalr", postlex=RuleIndenter(),
                       propagate_positions=False, maybe_placeholders=False, strict=False)


# Terminal names → words a person reads in an "expected …" list.
_TERMINAL_WORDS = {   # terminal → (en, zh)
    "_NL": ("end of line", "行尾"), "_INDENT": ("an indented block", "缩进的段落"),
    "_DEDENT": ("end of block", "段落结束"), "_COLON": ("':'", "'：'"), "_COMMA": ("','", "'，'"),
    "LPAR": ("'('", "'（'"), "RPAR": ("')'", "'）'"), "_EQ": ("'='", "'='"), "_DOT": ("'.'", "'.'"),
    "NAME": ("a name", "名称"), "STRING": ("a quoted text", "带引号的文本"),
    "NUMBER": ("a number", "数字"), "INT": ("a whole number", "整数"),
    "PERCENT": ("a percentage", "百分比"), "SIGNED_PERCENT": ("a band like ±15%", "如 ±15% 的幅度"),
    "QUANTITY": ("a quantity like 48h or 25万", "如 48小时、25万 的数量"),
    "DURATION": ("a duration like 2 weeks", "如 2 周 的时长"),
    "TIME": ("a time like 09:00", "如 09:00 的时刻"), "DATE": ("a date like 2025-07-01", "如 2025-07-01 的日期"),
    "POINTS": ("points like +20", "如 +20 的分值"), "COMPARE": ("a comparison like <", "如 < 的比较"),
    "ADD_OP": ("'+' or '-'", "'+' 或 '-'"), "SUB_SIGN": ("'-'", "'-'"), "MUL_OP": ("'×' or '÷'", "'×' 或 '÷'"),
    "$END": ("end of file", "文件结尾"),
}


def _describe_expected(expected, lang: str = "en") -> str:
    words = []
    for term in sorted({base_type(t) for t in expected}):
        if term in KEYWORDS:
            en, zh = KEYWORDS[term][:2]
            words.append(f"'{en}'" if lang == "en" else f"'{zh}'")
        elif term in PHRASES:
            words.append(f"'{PHRASES[term][0 if lang == 'en' else 1].format(n='N', u='…')}'")
        else:
            pair = _TERMINAL_WORDS.get(term, (term, term))
            words.append(pair[0] if lang == "en" else pair[1])
    words = list(dict.fromkeys(words))
    if len(words) > 8:   # past a handful, a list of everything helps nobody
        words = words[:8] + ["…"]
    return (", " if lang == "en" else "、").join(words)


def parse(text: str, filename: str = "<input>"):
    """Parse one rule file.  Raises RuleError with a `parse.*` diagnostic on bad syntax."""
    if len(text) > MAX_FILE_CHARS:
        raise RuleError([Diagnostic("parse.file_too_large", {"limit": MAX_FILE_CHARS,
                                                                   "size": len(text)}, filename)])
    if not text.endswith("\n"):
        text += "\n"
    lines = text.splitlines()
    try:
        tree = get_parser().parse(text)
    except UnexpectedInput as err:
        raise RuleError([_syntax_diagnostic(err, text, lines, filename)]) from None
    except DedentError as err:
        line = _dedent_line(text, str(err))
        src = lines[line - 1] if 0 < line <= len(lines) else ""
        column = len(src) - len(src.lstrip(" \t")) + 1
        raise RuleError([Diagnostic("parse.bad_indentation", {}, filename, line, column,
                                          src)]) from None
    if _LONG_DIGITS.search(text):
        _refuse_long_numbers(tree, lines, filename)
    return tree


_LONG_DIGITS = re.compile(r"\d{%d,}" % (MAX_DIGITS + 1))
_TEXT_TOKENS = ("STRING", "NAME")


def _refuse_long_numbers(tree, lines, filename: str) -> None:
    """A number of more than MAX_DIGITS digits is refused here, before any stage converts it
    (Python's int() of a 4,301-digit text raises; of a million digits, it takes seconds).
    Digits in texts and comments are left alone."""
    diags = []
    for tok in tree.scan_values(lambda v: isinstance(v, Token)):
        if base_type(tok.type) in _TEXT_TOKENS or not _LONG_DIGITS.search(str(tok)):
            continue
        src = lines[tok.line - 1] if 0 < tok.line <= len(lines) else ""
        diags.append(Diagnostic("parse.number_too_long", {"limit": MAX_DIGITS}, filename,
                                tok.line, tok.column, src, min(len(str(tok)), 80)))
    if diags:
        raise RuleError(diags)


def _syntax_diagnostic(err: UnexpectedInput, text: str, lines, filename: str) -> Diagnostic:
    line = getattr(err, "line", 0) or 0
    column = getattr(err, "column", 0) or 0
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream or 0
        char = text[pos] if pos < len(text) else ""
        code, args = "parse.unexpected_character", {"char": char}
    elif isinstance(err, UnexpectedToken):
        tok: Token = err.token
        if tok.type == "_INDENT":
            # The indent token borrows the position of the line break before it.
            line = (tok.line or 0) + 1
            src = lines[line - 1] if 0 < line <= len(lines) else ""
            column = len(src) - len(src.lstrip(" \t")) + 1
            return Diagnostic("parse.unexpected_indent", {}, filename, line, column, src)
        if tok.type == "$END" or tok.type in ("_DEDENT", "_NL") and not str(tok).strip():
            code, args = "parse.unexpected_end", {"expected": _describe_expected(err.expected),
                                                  "expected_zh": _describe_expected(err.expected, "zh")}
            if tok.type == "_NL" or line <= 0:
                line = line if line > 0 else len(lines)
        else:
            code = "parse.unexpected_token"
            args = {"token": str(tok).strip() or tok.type,
                    "expected": _describe_expected(err.expected),
                    "expected_zh": _describe_expected(err.expected, "zh")}
    else:
        code, args = "parse.syntax_error", {"detail": str(err).splitlines()[0]}
    if line <= 0:
        line, column = len(lines), 1
    src = lines[line - 1] if 0 < line <= len(lines) else ""
    return Diagnostic(code, args, filename, line, max(column, 1), src)


def _dedent_line(text: str, message: str) -> int:
    """The first line whose indentation matches no open block (Lark does not say which)."""
    stack = [0]
    for number, raw in enumerate(text.splitlines(), 1):
        body = raw.split("#", 1)[0]
        if not body.strip():
            continue
        width = len(raw) - len(raw.lstrip(" \t"))
        if width > stack[-1]:
            stack.append(width)
            continue
        while width < stack[-1]:
            stack.pop()
        if width != stack[-1]:
            return number
    return 0
