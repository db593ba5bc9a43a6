"""One diagnostic type for everything that has a location, and one way to print it.

Codes are namespaced by the stage that found the problem (`parse.*`, `check.*`, `eval.*`,
`load.*`).  Messages are looked up in a catalogue by code and language, so every stage says
what went wrong in zh-CN and en with the same arguments.
"""
from __future__ import annotations

import locale
import os
from dataclasses import dataclass, field

from .messages import MESSAGES

MAX_DIAGNOSTICS = 50   # per run: enough to fix a file in one go, not a wall of noise


@dataclass(frozen=True)
class Diagnostic:
    code: str                       # e.g. "check.unknown_field"
    args: dict = field(default_factory=dict, compare=False, hash=False)
    file: str = "<input>"
    line: int = 0                   # 1-based; 0 when the problem has no place in a file
    column: int = 0                 # 1-based
    source_line: str = ""           # the offending line, for the caret display
    width: int = 1                  # how many characters the caret underlines

    def message(self, lang: str = "en") -> str:
        return render_message(self.code, self.args, lang)

    def hint(self, lang: str = "en") -> str | None:
        suggestion = self.args.get("suggestion")
        if not suggestion:
            return None
        return render_message("hint.did_you_mean", {"suggestion": suggestion}, lang)

    def location(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file

    def format(self, lang: str = "en") -> str:
        """`file:line:col: code: message`, then the source line and a caret under the spot."""
        text = f"{self.location()}: {self.code}: {self.message(lang)}"
        hint = self.hint(lang)
        if hint:
            text += f" — {hint}"
        if self.line and self.source_line:
            src = self.source_line.rstrip("\n").replace("\t", " ")
            pad = _display_width(src[: max(self.column - 1, 0)])
            caret_len = max(_display_width(src[self.column - 1: self.column - 1 + self.width]), 1)
            text += f"\n    {src}\n    {' ' * pad}{'^' * caret_len}"
        return text

    def to_json(self, lang: str = "en") -> dict:
        return {"code": self.code, "message": self.message(lang), "hint": self.hint(lang),
                "file": self.file, "line": self.line, "column": self.column}


def _display_width(text: str) -> int:
    """Terminal columns: CJK characters take two, so the caret lands under the right spot."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def render_message(code: str, args: dict, lang: str) -> str:
    entry = MESSAGES.get(code)
    if entry is None:
        return f"{code} {args}"
    template = entry.get(lang) or entry["en"]
    try:
        return template.format(**args)
    except (KeyError, IndexError):
        return f"{template} {args}"


class DiagnosticError(Exception):
    """Raised by a stage that cannot go on; carries every diagnostic collected so far."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(d.format("en") for d in self.diagnostics))


class EvalError(Exception):
    """A fact did not fit a rule at evaluation time (missing field, wrong type, ÷0)."""

    def __init__(self, code: str, **args):
        self.code = code
        self.args_ = args
        super().__init__(render_message(code, args, "en"))

    def message(self, lang: str = "en") -> str:
        return render_message(self.code, self.args_, lang)

    def to_json(self, lang: str = "en") -> dict:
        return {"code": self.code, "message": self.message(lang), **{
            k: v for k, v in self.args_.items() if k in ("field", "rule", "line")}}


def default_lang() -> str:
    """zh when the locale says Chinese, else en.  Read when asked, never at import time."""
    for var in ("TRIMTAB_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    loc = locale.getlocale()[0] or ""
    return "zh" if loc.lower().startswith("zh") else "en"


def suggest(name: str, candidates) -> str | None:
    import difflib
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None
