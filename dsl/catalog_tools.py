"""Tools for the message catalogs, used by scripts/messages.sh and tests/test_catalogs.py (Babel
is a development dependency: at run time catalogs.py reads the .mo files with gettext alone).

- `extract_messages`: a Babel extraction method for messages.py — each `"code": "English"` entry
  is a message whose msgctxt is its code and whose msgid is its English text.
- `compile_catalog` (`python -m trimtab.dsl.catalog_tools PO...`): each .po → its .mo, leaving out
  fuzzy and untranslated entries.  Not `pybabel compile`: its python-format check misreads our
  brace-format texts ("75% is 0.75" holds the %-conversion "% i") and fails them.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path


def extract_messages(fileobj, keywords, comment_tags, options):
    """Yields (line, "pgettext", (code, English), comments) for every `"code": "English"` entry."""
    tree = ast.parse(fileobj.read().decode("utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        for key, value in zip(node.keys, node.values):
            if isinstance(key, ast.Constant) and isinstance(value, ast.Constant) and \
                    isinstance(key.value, str) and isinstance(value.value, str):
                yield key.lineno, "pgettext", (key.value, value.value), []


def read_catalog(po: Path):
    from babel.messages.pofile import read_po
    with po.open("rb") as f:
        return read_po(f)


def compiled_bytes(po: Path) -> bytes:
    """The .mo that `po` compiles to (fuzzy entries left out)."""
    import io
    from babel.messages.mofile import write_mo
    out = io.BytesIO()
    write_mo(out, read_catalog(po), use_fuzzy=False)
    return out.getvalue()


def compile_catalog(po: Path) -> str:
    catalog = read_catalog(po)
    entries = [m for m in catalog if m.id]
    done = [m for m in entries if m.string and not m.fuzzy]
    po.with_suffix(".mo").write_bytes(compiled_bytes(po))
    return f"{po}: {len(done)} of {len(entries)} translated"


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(compile_catalog(Path(path)))
