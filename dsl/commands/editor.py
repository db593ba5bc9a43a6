"""trimtab lsp: the language server for editors, over stdio (dsl/editor/server.py)."""
from __future__ import annotations

import sys

from .common import EXIT_OK, EXIT_USAGE


def cmd_lsp(args) -> int:
    try:
        from ..editor.server import run_stdio
    except ImportError as err:          # pygls is the optional extra `lsp`
        print(f"trimtab lsp needs pygls ({err.name} is missing): pip install 'trimtab[lsp]'",
              file=sys.stderr)
        return EXIT_USAGE
    run_stdio()
    return EXIT_OK
