"""The grammar's LALR tables cached on disk, so a process loads them instead of building them.

Building the tables takes a few tenths of a second per grammar (the parser's and the
formatter's); loading them takes milliseconds.  The cache file's name carries a digest of
everything the tables depend on (grammar text, options, Lark's and Python's versions), so a
changed grammar never meets stale tables.  Where it lives, in order: beside the package (its
__pycache__, as trusted as the code), else the user's cache directory ($XDG_CACHE_HOME or
~/.cache, under trimtab/).  A file is written to a temporary name and renamed into place, so
concurrent processes (gunicorn workers) never read half a file; a directory we cannot write
to is skipped, and without any, the tables are built as before.  A cache file we did not
write ourselves (another owner, or writable by others) is never loaded: it is a pickle.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

import lark
from lark import Lark


def _digest(grammar: str, options: dict) -> str:
    text = grammar + repr(sorted((k, v) for k, v in options.items() if k != "postlex"))
    text += lark.__version__ + repr(sys.version_info[:2])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _places() -> list[Path]:
    places = [Path(__file__).resolve().parent / "__pycache__"]
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache" if Path.home() else None)
    if base:
        places.append(Path(base) / "trimtab")
    return places


def _trusted(path: Path) -> bool:
    st = path.stat()
    owner_ok = not hasattr(os, "getuid") or st.st_uid == os.getuid()
    return owner_ok and not st.st_mode & 0o022


def _load(path: Path, postlex: Any) -> Optional[Lark]:
    try:
        if not _trusted(path):
            return None
        with path.open("rb") as f:
            parser = Lark.__new__(Lark)
            parser._load(f, postlex=postlex)        # what Lark's own cache= option calls
            return parser
    except Exception:       # a damaged or foreign file: build the tables instead
        return None


def _save(parser: Lark, places: list[Path], name: str) -> Optional[Path]:
    for place in places:
        try:
            place.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=place, prefix=".grammar-", suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                parser.save(f)
            os.chmod(tmp, 0o644)
            os.replace(tmp, place / name)
            return place / name
        except OSError:
            continue
    return None


def cached_lark(grammar: str, **options: Any) -> Lark:
    """Lark(grammar, **options) (an LALR parser), its tables loaded from the disk cache when
    they are there and saved to it when they were not."""
    name = f"grammar-{_digest(grammar, options)}.lark-tables"
    places = _places()
    for place in places:
        found = place / name
        if found.is_file():
            parser = _load(found, options.get("postlex"))
            if parser is not None:
                return parser
    parser = Lark(grammar, **options)
    _save(parser, places, name)
    return parser
