"""Stage 1: text → Lark parse tree.  Syntax errors become `parse.*` diagnostics."""
from __future__ import annotations

import copy
import functools
import os
import re
import threading
from pathlib import Path

from lark import Lark, Token
from lark.exceptions import UnexpectedInput
from lark.indenter import DedentError, Indenter

from .diagnostics import Diagnostic, RuleError
from .fullwidth import ascii_twins
from .grammar_cache import cached_lark
# base_type is used here and read from here by the later stages.
from .keywords import _SPELLING_SEP, KEYWORDS, PERIOD_WORDS, PHRASES, base_type
from .limits import MAX_DIGITS, MAX_FILE_CHARS
from .parse_errors import syntax_errors

GRAMMAR_FILE = Path(__file__).with_name("grammar.lark")


class RuleIndenter(Indenter):
    """Indentation → _INDENT/_DEDENT."""

    NL_type = "_NL"
    OPEN_PAREN_types = ["LPAR"]
    CLOSE_PAREN_types = ["RPAR"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 4

    def process(self, stream):
        # Lark's indenter counts indentation and brackets on itself: each parse counts on a
        # copy of its own, so one parser serves every thread (a threaded server loading drafts
        # in two requests at once once lost rules through one shared count).
        mine = copy.copy(self)
        mine.paren_level, mine.indent_level = 0, [0]
        return mine._process(stream)


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


@functools.cache
def grammar_text() -> str:
    return expand_keywords(GRAMMAR_FILE.read_text(encoding="utf-8")) + "\n" + keyword_terminals()


_BUILT: dict = {}
_BUILDING = threading.Lock()


def _new_lock_in_the_child() -> None:
    # A process forked while another thread built the parser would find this lock held for
    # ever (reuse.py says when that happens).
    global _BUILDING
    _BUILDING = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_the_child)


def shared_parser(**options) -> Lark:
    """The LALR parser with these options, built once per process (its tables cached on disk
    by grammar_cache) and shared by every thread: a parse keeps its state in its own objects
    (RuleIndenter.process).  Once per thread, as it was, a gunicorn worker's thread that
    loaded a new rule set first spent a quarter of a second building its own."""
    key = tuple(sorted(options.items()))
    parser = _BUILT.get(key)
    if parser is None:
        with _BUILDING:
            parser = _BUILT.get(key)
            if parser is None:
                parser = _BUILT[key] = cached_lark(grammar_text(), parser="lalr",
                                                   postlex=RuleIndenter(), **options)
    return parser


def get_parser() -> Lark:
    # No propagate_positions: build_ast computes spans from tokens for the nodes it keeps.
    return shared_parser(propagate_positions=False, maybe_placeholders=False, strict=False)


def parse(text: str, filename: str = "<input>"):
    """Parse one rule file.  Raises RuleError with a `parse.*` diagnostic on bad syntax."""
    if len(text) > MAX_FILE_CHARS:
        raise RuleError([Diagnostic("parse.file_too_large", {"limit": MAX_FILE_CHARS,
                                                                   "size": len(text)}, filename)])
    if not text.endswith("\n"):
        text += "\n"
    lines = text.splitlines()
    reading = ascii_twins(text)
    try:
        tree = get_parser().parse(reading)
    except (UnexpectedInput, DedentError):
        raise RuleError(syntax_errors(get_parser(), reading, lines, filename)) from None
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
