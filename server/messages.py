"""The server's messages in the reader's language (docs/messages.md, "The server's messages").

A refusal's text is written in English in the code as `msg("English {named} text", named=…)`:
the English is the gettext msgid of the server's catalog
(server/locale/zh_CN/LC_MESSAGES/trimtab_server.po, read by dsl/catalogs.py's Catalog), and the
arguments are kept apart so the message is rendered in the request's language when it is
answered, not when it is raised.  A `Msg` is the English text itself (a str), so logs, `str(err)`
and tests that compare English keep working.

An argument that is itself a `Msg` (a word of ours: "meeting", "alert"), or a list of them, is
rendered in the same language; anything else (ids, names, numbers) is shown as given.  A message without arguments is
not formatted, so its braces are literal.
"""
from __future__ import annotations

from pathlib import Path

from trimtab.dsl.catalogs import Catalog

CATALOG = Catalog(Path(__file__).parent / "locale", "trimtab_server")


class Msg(str):
    """An English message (the str) that can render itself in another language."""

    msgid: str
    args: dict
    english: str | None

    def __new__(cls, msgid: str, args: dict | None = None, english: str | None = None):
        args = args or {}
        self = super().__new__(cls, english if english is not None else _fill(msgid, args, "en"))
        self.msgid, self.args, self.english = msgid, args, english
        return self

    def render(self, lang: str) -> str:
        if lang == "en":
            return str.__str__(self)
        return _fill(CATALOG.text(lang, self.msgid), self.args, lang)

    def __reduce__(self):               # pickles (and copies) keep the msgid and arguments
        return (Msg, (self.msgid, self.args, self.english))


LIST_SEPARATORS = {"en": ", ", "zh": "、"}


def _shown(value, lang: str):
    if isinstance(value, Msg):
        return value.render(lang)
    if isinstance(value, list):         # a list of words: "2 rules, 1 files" / "2 条规则、1 个文件"
        return LIST_SEPARATORS.get(lang, ", ").join(str(_shown(v, lang)) for v in value)
    return value


def _fill(template: str, args: dict, lang: str) -> str:
    if not args:
        return template
    return template.format(**{k: _shown(v, lang) for k, v in args.items()})


def msg(msgid: str, **args) -> Msg:
    """A message of the server: English msgid with {named} arguments (extracted by pybabel)."""
    return Msg(msgid, args)


def verbatim_english(english: str, msgid: str, **args) -> Msg:
    """A message whose English is another program's own text (jsonschema's), kept word for
    word, and whose other languages come from the catalog's `msgid`."""
    return Msg(msgid, args, english)


class LanguageMessage(Msg):
    """A message of the language's catalog (a RuleError's: dsl/messages.py), kept so it is
    rendered in the reader's language when shown, like a Msg; its str is the English."""

    def __new__(cls, err):
        self = str.__new__(cls, err.message("en"))
        self.msgid, self.args, self.english, self.error = err.code, {}, None, err
        return self

    def render(self, lang: str) -> str:
        return self.error.message(lang)

    def __reduce__(self):
        return (LanguageMessage, (self.error,))


def render(message, lang: str) -> str:
    """A message in `lang`: a Msg rendered, any other text (already in its language) as is."""
    return message.render(lang) if isinstance(message, Msg) else str(message)
