"""What a syntax error says, and where parsing resumes after it.

A file that does not parse is read again declaration by declaration (a declaration starts
with a rule keyword at the left margin), so one mistake costs one declaration and every
other declaration still has its say.  Inside a declaration, the offending line (with the
lines indented under it) is set aside and the rest read again; an error that setting lines
aside could have caused is not reported.  Layout errors are diagnosed by trying the line at
the indentations around it: the one that reads is the fix the message gives.
"""
from __future__ import annotations

from typing import Any

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.indenter import DedentError

from .diagnostics import MAX_DIAGNOSTICS, Diagnostic, suggest
from .fullwidth import named
from .keywords import KEYWORDS, PHRASES, base_type

_LAYOUT = {"_INDENT", "_DEDENT", "_NL", "$END"}
# Terminals that start a value: one word for all of them.
_VALUE = {"NAME", "NUMBER", "PERCENT", "QUANTITY", "STRING", "LPAR", "SUB_SIGN", "INT",
          "DURATION", "DATE", "TIME", "POINTS", "SIGNED_PERCENT"}
_OPERATOR = {"COMPARE", "ADD_OP", "MUL_OP", "AND", "OR", "CONSECUTIVE"}
_PUNCT = {"_COLON": ("`:`", "`：`"), "_COMMA": ("`,`", "`，`"), "RPAR": ("`)`", "`）`"),
          "_EQ": ("`=`", "`=`"), "_DOT": ("`.`", "`.`"), "_ARROW": ("`→`", "`→`"),
          "_LBRACK": ("`[`", "`[`"), "_RBRACK": ("`]`", "`]`"), "_LBRACE": ("`{`", "`{`"),
          "_RBRACE": ("`}`", "`}`")}


def describe_expected(expected, lang: str = "en") -> str:
    """The terminals a parser state accepts, as words: keywords in `lang`, one word for
    every kind of value, one for operators, the end of a line last."""
    terms = {base_type(t) for t in expected}
    zh = lang == "zh"
    words = []
    for term in sorted(terms & set(KEYWORDS) - _OPERATOR):
        words.append(f"`{KEYWORDS[term][1 if zh else 0]}`")
    for term in sorted(terms & set(PHRASES) - _OPERATOR):
        words.append(f"`{PHRASES[term][1 if zh else 0].format(n='N', u='…')}`")
    for term in sorted(terms & set(_PUNCT)):
        words.append(_PUNCT[term][1 if zh else 0])
    if terms & _VALUE:
        words.append("一个值（字段名、数字如 8 或 80%、带引号的文本）" if zh
                     else "a value (a field, a number like 8 or 80%, a quoted text)")
    if terms & _OPERATOR:
        words.append("运算符（如 `<`、`+`、`且`）" if zh else "an operator (like `<`, `+`, `and`)")
    if len(words) > 8:   # past a handful, a list of everything helps nobody
        words = words[:8] + ["…"]
    ends = terms & {"_NL", "$END"}
    if ends:
        words.append("行尾" if zh else "the end of the line")
    if not words:
        return "更多内容" if zh else "more"
    if zh:
        return "、".join(words[:-1]) + ("或" if len(words) > 1 else "") + words[-1]
    return ", ".join(words[:-1]) + (" or " if len(words) > 1 else "") + words[-1]


def syntax_errors(lark: Lark, text: str, lines: list[str], filename: str) -> list[Diagnostic]:
    """Every syntax error of `text` (with its full-width twins read: fullwidth.py), one per
    mistake, up to MAX_DIAGNOSTICS; `lines` are the lines as written, for the display."""
    reading = text.splitlines()
    starts = _declaration_starts(lark, reading)
    diags: list[Diagnostic] = []
    reader = _Reader(lark, REREAD_FACTOR * len(text) + REREAD_CHARS)
    for first, end in zip([1] + starts, starts + [len(reading) + 1]):
        if first < end:
            diags.extend(_declaration_errors(reader, reading, first, end, lines, filename,
                                             MAX_DIAGNOSTICS - len(diags)))
        if len(diags) >= MAX_DIAGNOSTICS:
            break
    return diags[:MAX_DIAGNOSTICS]


def _declaration_starts(lark: Lark, reading: list[str]) -> list[int]:
    """Line numbers (from 2) of the lines that begin a declaration: a keyword the parser
    accepts at the top of a file, at the left margin."""
    table = lark.parser.parser.parser.parse_table
    top = {base_type(t) for t in table.states[table.start_states["start"]]}
    words = {w for t in top if t in KEYWORDS for w in KEYWORDS[t]}
    return [n for n, raw in enumerate(reading[1:], 2)
            if raw[:1].strip() and raw.split(None, 1)[0] in words]


def _declaration_errors(reader, reading, first, end, lines, filename, room: int) -> list[Diagnostic]:
    """The errors of lines first…end-1, read as one piece (at most `room` of them)."""
    piece = {n: reading[n - 1] for n in range(first, end)}
    set_aside: list[int] = []          # indentations of the lines set aside so far
    out: list[Diagnostic] = []
    while len(out) < room:
        err = reader.first_error(piece, first, end, again=bool(out))
        if err is None or err is OVER:
            return out
        diag, line = _diagnose(reader, err, piece, first, end, lines, filename)
        width = _indent(piece.get(line, ""))
        if set_aside and (diag.code not in _LOCAL or width < min(set_aside)):
            return out                   # may come from what was set aside: say nothing
        out.append(diag)
        if diag.code not in _LOCAL or line <= first or line not in piece:
            return out                   # the declaration's head or its layout: one is enough
        set_aside.append(width)
        for n in _block_of(piece, line, end):
            piece[n] = ""
    return out


# Errors on one line, which setting that line aside gets past.
_LOCAL = {"parse.unexpected_token", "parse.unexpected_character", "parse.fullwidth_char",
          "parse.unexpected_end", "parse.extra_text"}


def _text(piece: dict, first: int, end: int) -> str:
    return "\n" * (first - 1) + "\n".join(piece[n] for n in range(first, end)) + "\n"


# Reading a declaration again (after setting a line aside, or to try an indentation) costs
# a parse of it; all of them together read at most this many times the file, plus this many
# characters, so a huge broken block cannot keep the parser busy: past that, a declaration's
# first error is still said, without the indentation tried and without the errors after it.
REREAD_FACTOR = 2
REREAD_CHARS = 300_000


OVER = object()


class _Reader:
    def __init__(self, lark: Lark, budget: int):
        self.lark, self.left = lark, budget

    def first_error(self, piece, first, end, again: bool = True):
        """The first error of lines first…end-1 of `piece` (None: they read); a reading
        `again` past the budget is not made (OVER)."""
        if again and self.left < 0:
            return OVER
        text = _text(piece, first, end)
        try:
            self.lark.parse(text)
        except (UnexpectedInput, DedentError) as err:
            # The parser stops at the error: what it read is what it cost.
            self.left -= (getattr(err, "pos_in_stream", None) or len(text)) if again else 0
            return err
        self.left -= len(text) if again else 0
        return None


def _indent(raw: str) -> int:
    return len(raw) - len(raw.lstrip(" \t"))


def _blank(raw: str) -> bool:
    body = raw.strip()
    return not body or body.startswith("#")


def _block_of(piece, line, end) -> list[int]:
    """`line` and the lines indented under it."""
    width, out = _indent(piece[line]), [line]
    for n in range(line + 1, end):
        if not _blank(piece[n]):
            if _indent(piece[n]) <= width:
                break
        out.append(n)
    return out


def _above(piece, line, first, width=None, below=None) -> int:
    """The nearest line above `line` indented by exactly `width`, or by less than `below`,
    or (neither given) any line: 0 if there is none."""
    for n in range(line - 1, first - 1, -1):
        if _blank(piece[n]):
            continue
        w = _indent(piece[n])
        if (width is None and below is None) or w == width or (below is not None and w < below):
            return n
    return 0


def _next_line(piece, after, end) -> int:
    for n in range(after + 1, end):
        if not _blank(piece[n]):
            return n
    return 0


def _quote(piece, n) -> str:
    """A line as a message quotes it: without its comment, cut short when long."""
    body = piece.get(n, "").split(" #", 1)[0].strip()
    return body if len(body) <= 40 else body[:39] + "…"


def _expected(err: UnexpectedToken) -> set:
    # An error the contextual lexer raises lists what that lexer state knows, not what the
    # parser wanted (an _INDENT is never lexed): ask the parser's state.
    interactive = getattr(err, "interactive_parser", None)
    if interactive is not None:
        return set(interactive.accepts())
    state: Any = getattr(err, "state", None)
    try:
        return set(state.parse_conf.parse_table.states[state.position])
    except (AttributeError, KeyError):
        return set(err.expected or ())


def _diagnose(reader, err, piece, first, end, lines, filename) -> tuple[Diagnostic, int]:
    """The diagnostic of the first error of a piece, and the line it stands on."""
    def at(code, args, line, column=0, width=1):
        src = lines[line - 1] if 0 < line <= len(lines) else ""
        return Diagnostic(code, args, filename, line, column or _indent(src) + 1, src, width), line

    if isinstance(err, DedentError):
        line, deeper, outer = _unmatched_dedent(piece, first, end)
        return at("parse.bad_indentation", {
            "width": _indent(piece[line]), "deeper": deeper, "outer": outer,
            "deeper_line": _quote(piece, _above(piece, line, first, width=deeper)),
            "outer_line": _quote(piece, _above(piece, line, first, width=outer))}, line)
    if isinstance(err, UnexpectedCharacters):
        char = piece[err.line][err.column - 1] if err.column <= len(piece[err.line]) else ""
        args = named(char)
        if args:
            return at("parse.fullwidth_char", args, err.line, err.column)
        return at("parse.unexpected_character", {"char": char}, err.line, err.column)
    return at(*_token_error(reader, err, piece, first, end))


def _token_error(reader, err: UnexpectedToken, piece, first, end) -> tuple:
    """(code, args, line, column, width) of an unexpected token."""
    tok: Token = err.token
    expected = _expected(err)
    last = max((n for n in piece if not _blank(piece[n])), default=first)
    where = tok.line if tok.line and tok.type != "$END" else last
    line = where if tok.type not in _LAYOUT else _next_line(piece, where, end)
    # A line that reads at another indentation is a layout mistake, wherever the parser
    # stumbled on it (`notify` under `when at least 1 of:` reads as a field name first).
    fix = _try_widths(reader, piece, first, end, line) if line > first else None
    if fix is not None:
        return *_layout_fix(piece, first, line, fix, tok.type == "_INDENT"), line, 0, 1
    if "_INDENT" in expected:
        head = _above(piece, line or last + 1, first)
        return "parse.empty_block", {"header": _quote(piece, head)}, head, 0, 1
    if tok.type == "_INDENT":
        above = _quote(piece, _above(piece, line, first))
        return "parse.unexpected_indent", {"above": above, "sibling": above}, line, 0, 1
    words = {"expected": describe_expected(expected), "expected_zh": describe_expected(expected, "zh")}
    if tok.type in _LAYOUT:
        end_line = where if tok.type != "$END" else last
        spaced = _spaced_keyword(piece[end_line])
        if spaced:
            words["suggestion"] = spaced
        return "parse.unexpected_end", words, end_line, len(piece[end_line].rstrip()) + 1, 1
    args = {"token": str(tok).strip() or tok.type, **words}
    if not {base_type(t) for t in expected} - {"_NL", "$END", "_DEDENT"}:
        return "parse.extra_text", args, tok.line, tok.column, len(str(tok))
    suggestion = (_keyword_like(str(tok), expected) or _misspelt_first_word(piece.get(tok.line, ""))
                  or _spaced_keyword(piece.get(tok.line, "")))
    if suggestion:
        args["suggestion"] = suggestion
    return "parse.unexpected_token", args, tok.line, tok.column, len(str(tok))


_ZH_SPELLINGS = sorted((w for spellings in KEYWORDS.values() for w in spellings if not w.isascii()),
                       key=len, reverse=True)


def _spaced_keyword(raw: str) -> str | None:
    """`当 effective_visits` for a line that begins `当effective_visits`: a Chinese keyword run
    into the next word reads as one name."""
    words = raw.split(None, 1)
    if not words:
        return None
    for spelling in _ZH_SPELLINGS:
        rest = words[0][len(spelling):]
        if words[0].startswith(spelling) and rest[:1].isascii() and rest[:1].isalnum():
            return f"{spelling} {rest}"
    return None


_SPELLINGS = {w for spellings in KEYWORDS.values() for w in spellings}


def _misspelt_first_word(raw: str) -> str | None:
    """`notify` for a line that begins `notfy hrbp`: the parser took the misspelt keyword for
    a name (a formula's) and stumbled on the word after it."""
    words = raw.split(None, 1)
    if not words or words[0] in _SPELLINGS:
        return None
    return suggest(words[0], _SPELLINGS, cutoff=0.75)


def _keyword_like(word: str, expected) -> str | None:
    spellings = [w for t in {base_type(t) for t in expected} if t in KEYWORDS for w in KEYWORDS[t]]
    return suggest(word, spellings)


def _try_widths(reader, piece, first, end, line):
    """The indentation at which `line` (with its block) reads, nearest first, if any does."""
    width = _indent(piece[line])
    whole = _block_of(piece, line, end)
    widths = {_indent(piece[n]) for n in range(first, line) if not _blank(piece[n])}
    above = _above(piece, line, first)
    if above:
        widths.add(_indent(piece[above]) + 4)
    for w in sorted(widths - {width}, key=lambda w: (abs(w - width), w)):
        # In, the line goes alone (what follows it may be its siblings); out, with its block.
        block = [line] if w > width else whole
        trial = dict(piece)
        for n in block:
            if not _blank(piece[n]):
                trial[n] = " " * max(0, _indent(piece[n]) + w - width) + piece[n].lstrip(" \t")
        err = reader.first_error(trial, first, end)
        if err is OVER:
            return None
        if err is None or (isinstance(err, UnexpectedInput) and (err.line or 0) > block[-1]):
            return w
    return None


def _layout_fix(piece, first, line, width, indented_too_far) -> tuple[str, dict]:
    if width > _indent(piece[line]):
        return "parse.missing_indent", {"header": _quote(piece, _above(piece, line, first, below=width))}
    sibling = _quote(piece, _above(piece, line, first, width=width))
    if indented_too_far:
        return "parse.unexpected_indent", {"above": _quote(piece, _above(piece, line, first)),
                                           "sibling": sibling}
    block = _quote(piece, _above(piece, line, first, below=_indent(piece[line])))
    return "parse.misplaced_line", {"block": block, "sibling": sibling}


def _unmatched_dedent(piece, first, end) -> tuple[int, int, int]:
    """The first line whose indentation matches no open block, the indentation of the block
    it left and of the one it is in (Lark does not say which line)."""
    stack = [0]
    for n in range(first, end):
        raw = piece[n]
        if _blank(raw):
            continue
        width = _indent(raw)
        if width > stack[-1]:
            stack.append(width)
            continue
        deeper = stack[-1]
        while width < stack[-1]:
            deeper = stack.pop()
        if width != stack[-1]:
            return n, deeper, stack[-1]
    return first, 0, 0
