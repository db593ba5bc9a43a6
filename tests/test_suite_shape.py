"""The test suite's own shape (docs/testing.md): a test module takes shared helpers and fixtures
from the kits (`serverkit.py`, `platformkit.py`, `workbenchkit.py`, …) and conftest.py, never
from another test module — importing a test module runs its tests' module-level setup, and
moving a test would break its neighbours (it did: test_platform_events imported a helper that
test_platforms no longer had)."""
from __future__ import annotations

import ast

from conftest import ROOT


def borrowed_from_test_modules() -> dict[str, list[str]]:
    found = {}
    for path in sorted((ROOT / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            taken = [n for n in names if n.split(".")[0].startswith("test_")]
            if taken:
                found.setdefault(path.name, []).extend(taken)
    return found


def test_no_test_module_imports_another():
    assert not borrowed_from_test_modules()
