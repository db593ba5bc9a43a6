"""One diagnostic type for everything that has a location, one error type that carries them,
and one way to print it.

Codes are namespaced by the stage that found the problem (`parse.*`, `check.*`, `load.*`,
`eval.*`, `git.*` for versions, `test.*` for rule-test files, `decode.*` for JSON bodies).
Messages are English texts in messages.py, translated through the gettext catalogs
(catalogs.py) by code and language, so every stage says what went wrong in zh-CN and en with
the same arguments.

Every stage refuses with RuleError.  The earlier per-stage types are gone: DiagnosticError and
EvalError (this module), VersionError (versions.py), TestFileError (rule_tests.py) and
DecodeError (decode.py) — catch RuleError and look at `code`.  Two thin subclasses stay, in
runtime.py, because the compiled rules catch them and nothing else: NoHistory (too few earlier
periods: the condition is false) and its MissingPeriod.
"""
from __future__ import annotations

import locale
import os
from dataclasses import dataclass, field, replace

from .catalogs import CATALOG
from .messages import MESSAGES

MAX_DIAGNOSTICS = 50   # per run: enough to fix a file in one go, not a wall of noise
UNPLACED = "<input>"   # the file of a diagnostic not (yet) placed anywhere


@dataclass(frozen=True)
class Diagnostic:
    code: str                       # e.g. "check.unknown_field"
    args: dict = field(default_factory=dict, compare=False, hash=False)
    file: str = UNPLACED
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
        if self.line:       # a place known to the line only (an evaluation's clause): file:line
            return f"{self.file}:{self.line}:{self.column}" if self.column else f"{self.file}:{self.line}"
        return "trimtab" if self.file == UNPLACED else self.file   # nowhere in a file: the tool speaks

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


# Arguments that carry a word of ours (a type, a unit, a kind of rule, a clause, a stage) rather
# than a name the user wrote: rendered in the message's language too.
WORD_ARGS = frozenset({"expected", "found", "left", "right", "kind", "clause", "what", "unit",
                       "actual", "wanted", "why", "kinds"})


def _words(lang: str, value):
    """A word argument in `lang`; a tuple of words (`kinds`) as a list: alert, score / 预警、积分."""
    if isinstance(value, tuple):
        return CATALOG.text(lang, ", ").join(CATALOG.text(lang, w) for w in value)
    return CATALOG.text(lang, value) if lang != "en" and isinstance(value, str) and value else value


def render_message(code: str, args: dict, lang: str) -> str:
    source = MESSAGES.get(code)
    if source is None:
        return f"{code} {args}"
    template = CATALOG.text(lang, source, code)
    args = {k: _words(lang, v) if k in WORD_ARGS else v for k, v in args.items()}
    try:
        return template.format(**args)
    except (KeyError, IndexError):
        return f"{template} {args}"


class RuleError(Exception):
    """Everything the language refuses, at every stage: one or more located Diagnostics.

    Build it from diagnostics collected by a stage (`RuleError(diags)`), or from one code and
    its arguments and then place it: `raise RuleError.of("test.unknown_form", …).at(path, 12)`.
    Its text is rendered only when someone asks (str, message, to_json), so an error raised
    and caught in the normal flow of evaluation (NoHistory) costs no formatting.
    """

    def __init__(self, diagnostics: Diagnostic | list[Diagnostic]):
        super().__init__()
        self.diagnostics = [diagnostics] if isinstance(diagnostics, Diagnostic) else list(diagnostics)

    @classmethod
    def of(cls, code: str, **args) -> RuleError:
        return cls(Diagnostic(code, args))

    def at(self, file: str, line: int = 0, column: int = 0, source_line: str = "") -> RuleError:
        """This error, its diagnostics that have no place yet placed at file:line:column."""
        self.diagnostics = [d if d.line or d.file != UNPLACED else
                            replace(d, file=file, line=line, column=column, source_line=source_line)
                            for d in self.diagnostics]
        return self

    @property
    def code(self) -> str:
        return self.diagnostics[0].code

    @property
    def details(self) -> dict:
        """The first diagnostic's arguments (the rule, the field, the JSON path …)."""
        return self.diagnostics[0].args

    def message(self, lang: str = "en") -> str:
        return self.diagnostics[0].message(lang)

    def to_json(self, lang: str = "en") -> dict:
        return self.diagnostics[0].to_json(lang)

    def __str__(self) -> str:
        return "\n".join(d.format("en") for d in self.diagnostics)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({', '.join(repr(d.code) for d in self.diagnostics)})"

    def __reduce__(self):           # pickles with its diagnostics (and a subclass's fields)
        return _rebuild, (self.__class__, self.__dict__)


def _rebuild(cls, state: dict) -> RuleError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    return err


def default_lang() -> str:
    """zh when the locale says Chinese, else en.  Read when asked, never at import time."""
    for var in ("TRIMTAB_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    loc = locale.getlocale()[0] or ""
    return "zh" if loc.lower().startswith("zh") else "en"


def suggest(name: str, candidates, cutoff: float = 0.6) -> str | None:
    """The candidate nearest `name`, in the script it was written in: a misspelt Chinese label
    is offered a Chinese label (or keyword), an English id an English one; another script only
    when nothing of its own is near."""
    import difflib
    pool = list(candidates)
    own = [c for c in pool if _is_chinese(c) == _is_chinese(name)]
    for group in (own, pool):
        matches = difflib.get_close_matches(name, group, n=1, cutoff=cutoff)
        if matches:
            return matches[0]
    return None


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
