"""Code actions: a "did you mean" applied in place, and the file's keywords translated.

A diagnostic's range may cover more than the misspelt word (`notify regional_supervisor`
underlines the whole line's list); the word replaced is the one in the range most like the
suggestion, so the fix touches that word only.
"""
from __future__ import annotations

import difflib
import re
from typing import NamedTuple

from lark.exceptions import LarkError

from ..diagnostics import RuleError

_WORD = re.compile(r"[^\W\d]\w*")
MIN_LIKENESS = 0.5


class Fix(NamedTuple):
    title: str
    line: int               # 0-based
    start: int              # characters
    end: int
    text: str


def did_you_mean(line_text: str, line: int, start: int, end: int, suggestion: str, lang: str) -> Fix | None:
    """Replace the word within [start, end) of the line most like `suggestion` by it."""
    best, likeness = None, MIN_LIKENESS
    for m in _WORD.finditer(line_text, start, max(end, start + 1)):
        if m.group() == suggestion:
            continue
        ratio = difflib.SequenceMatcher(None, m.group(), suggestion).ratio()
        if ratio > likeness:
            best, likeness = m, ratio
    if best is None:
        return None
    title = f"改为 `{suggestion}`" if lang == "zh" else f"Change to `{suggestion}`"
    return Fix(title, line, best.start(), best.end(), suggestion)


def translations(text: str, lang: str) -> list[tuple[str, str]]:
    """(title, whole new text) for each keyword language the file is not already in; none
    when it does not parse."""
    from ..formatter import detect_lang, format_text
    try:
        current = detect_lang(text)
        out = []
        for target in ("zh", "en"):
            if target != current:
                title = {("zh", "zh"): "关键字改为中文", ("zh", "en"): "关键字改为英文",
                         ("en", "zh"): "Translate keywords to Chinese",
                         ("en", "en"): "Translate keywords to English"}[(lang, target)]
                out.append((title, format_text(text, target)))
        return out
    except (RuleError, LarkError):          # a file being typed: nothing to offer
        return []
