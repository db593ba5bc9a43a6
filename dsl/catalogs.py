"""Message catalogs: English source text in, the reader's language out.

Every text a person reads is written in English in the code (the gettext msgid) and translated
in a gettext catalog beside the package: dsl/locale/zh_CN/LC_MESSAGES/trimtab_dsl.po (and its
compiled .mo).  A diagnostic's code is its message's msgctxt.  `scripts/messages.sh` extracts,
updates and compiles the catalogs (docs/messages.md); at run time only the standard library's
gettext reads the .mo files, once per language, so a lookup is a dictionary access.

`word(...)` marks a word that is an argument of a message (a type, a unit, a kind of rule):
it stays English in English messages and is looked up in the catalog for the others.
"""
from __future__ import annotations

import gettext
from pathlib import Path

LOCALES = {"zh": "zh_CN"}          # the languages besides English (the source) and their catalogs


class Catalog:
    """One gettext domain in one locale directory; its translations are read on first use."""

    def __init__(self, directory: Path, domain: str):
        self.directory, self.domain = directory, domain
        self._by_lang: dict[str, dict[str, str]] = {}

    def entries(self, lang: str) -> dict[str, str]:
        """The compiled catalog of `lang`: {msgid or "context\\x04msgid": translation}."""
        found = self._by_lang.get(lang)
        if found is None:
            found = self._by_lang[lang] = self._read(lang)
        return found

    def _read(self, lang: str) -> dict[str, str]:
        locale = LOCALES.get(lang)
        if locale is None:
            return {}
        mo = gettext.translation(self.domain, str(self.directory), languages=[locale], fallback=True)
        return dict(getattr(mo, "_catalog", {}))    # GNUTranslations keeps its entries there

    def text(self, lang: str, msgid: str, context: str | None = None) -> str:
        """`msgid` in `lang`: English as written; another language's translation, else English."""
        if lang == "en":
            return msgid
        key = msgid if context is None else f"{context}\x04{msgid}"
        return self.entries(lang).get(key, msgid)


CATALOG = Catalog(Path(__file__).parent / "locale", "trimtab_dsl")


def tr(lang: str, msgid: str) -> str:
    """A text of the language's (explanations, diffs): English as written, else its translation."""
    return msgid if lang == "en" else CATALOG.text(lang, msgid)


def word(text: str) -> str:
    """Marks a word that a message interpolates, for extraction; translated when rendered."""
    return text
