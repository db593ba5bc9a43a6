"""Full-width punctuation, as a Chinese keyboard types it: read as its ASCII twin where that
can mean only one thing, named precisely where it cannot.

The reading happens on the text before the lexer sees it, one character for one, so every
line and column stays where it was; texts in quotes and comments are left as written.
docs/language.md has the table.
"""
from __future__ import annotations

import re

IDEOGRAPHIC_SPACE = "\u3000"

# Read as the ASCII character: each has one meaning in the language.
TWINS = {
    "＜": "<", "＞": ">", "＝": "=", "！": "!", "＋": "+", "－": "-", "＊": "*", "／": "/",
    "（": "(", "）": ")", "，": ",", "：": ":", "％": "%", "．": ".", "［": "[", "］": "]",
    "｛": "{", "｝": "}", IDEOGRAPHIC_SPACE: " ",   # a full-width space inside a line
}

# Refused with their name and the fix: each could mean more than one thing.
# char → (English name, Chinese name, what to do in en, in zh)
# What to write instead of a quotation mark rules do not read (en, zh).
USE_DOUBLE_QUOTES = ("write texts in double quotes: \"…\" or “…”", "文本请用双引号：\"…\" 或 “…”")

NAMED = {
    "；": ("full-width semicolon", "全角分号",
          "rules use no semicolons: delete it (a line that opens a block ends with `:`)",
          "规则中不使用分号，请删除（开启段落的行以 `：` 结尾）"),
    ";": ("semicolon", "分号",
          "rules use no semicolons: delete it (a line that opens a block ends with `:`)",
          "规则中不使用分号，请删除（开启段落的行以 `：` 结尾）"),
    "。": ("full stop", "句号",
          "a rule line needs no full stop: delete it (a decimal point is `.`)",
          "规则行末不需要句号，请删除（小数点请用 `.`）"),
    "‘": ("single quotation mark", "单引号", *USE_DOUBLE_QUOTES),
    "’": ("single quotation mark", "单引号", *USE_DOUBLE_QUOTES),
    "「": ("corner bracket", "直角引号", *USE_DOUBLE_QUOTES),
    "」": ("corner bracket", "直角引号", *USE_DOUBLE_QUOTES),
    "＂": ("full-width quotation mark", "全角引号", "write texts in \"…\" or “…”",
          "文本请用 \"…\" 或 “…”"),
    "＃": ("full-width number sign", "全角井号", "a comment starts with `#`",
          "注释以半角 `#` 开头"),
    IDEOGRAPHIC_SPACE: ("full-width space in the indentation", "缩进中的全角空格",
                        "indent with ordinary spaces (4 per level)",
                        "请用半角空格缩进（每层 4 个）"),
}

_ANY = re.compile("[" + re.escape("".join(TWINS)) + "]")
# Quoted texts and comments are kept as written; leading white space with a full-width space
# in it is kept too (an indentation's width is not guessed: the lexer refuses it, by name).
_KEEP_OR_TWIN = re.compile(r'"[^"\n]*"|“[^”\n]*”|#[^\n]*|^[ \t]*\u3000[\u3000 \t]*|'
                           + _ANY.pattern, re.MULTILINE)


def _swap(match: re.Match) -> str:
    found = match.group(0)
    return TWINS.get(found, found)


def ascii_twins(text: str) -> str:
    """`text` with its full-width twins read as ASCII, outside quotes and comments."""
    if not _ANY.search(text):
        return text
    return _KEEP_OR_TWIN.sub(_swap, text)


def named(char: str) -> dict | None:
    """The message arguments naming a character the lexer refused, if it is one of ours."""
    entry = NAMED.get(char)
    if entry is None:
        return None
    return {"char": char, "name": entry[0], "name_zh": entry[1], "fix": entry[2], "fix_zh": entry[3]}
