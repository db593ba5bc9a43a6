"""Refusals: the code decides the HTTP status, in one table (server/core/errors.py)."""
from __future__ import annotations

import ast

import pytest

from conftest import ROOT
from trimtab.server.core.errors import STATUS, DomainError, status_of


def raised_codes() -> dict[str, list[str]]:
    """Every literal code a DomainError is built with in server/, and where."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "server").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            builders = ("DomainError", "_refuse") if path.name == "oauth.py" else ("DomainError",)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in builders:
                first = node.args[0] if node.args else None
                assert not (isinstance(first, ast.Constant) and isinstance(first.value, int)), \
                    f"{path}:{node.lineno}: a status where the code belongs; the table decides it"
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.setdefault(first.value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_code_the_server_raises_has_its_status_in_the_table():
    codes = raised_codes()
    assert len(codes) > 40                       # the scan sees the server's refusals
    missing = {code: where for code, where in codes.items() if code not in STATUS}
    assert not missing, missing


def test_the_table_lists_no_code_nobody_raises():
    raised = set(raised_codes()) | {"method_not_allowed", "internal", "database_unavailable",
                                     "body_too_large", "not_found", "bad_request"}
    # codes passed through a variable (signature checks name theirs at the call)
    source = "\n".join(p.read_text() for p in (ROOT / "server").rglob("*.py")
                       if p != ROOT / "server" / "errors.py") + (ROOT / "dsl" / "values.py").read_text()
    unused = {c for c in STATUS if c not in raised and f'"{c}"' not in source}
    assert not unused, unused


@pytest.mark.parametrize("code, status", [("schema_violation", 422), ("signature_invalid", 401),
                                          ("out_of_scope", 403), ("stale_current_target", 409),
                                          ("eval.budget_exceeded", 422), ("git.unknown_revision", 422),
                                          ("body_too_large", 413), ("rate_limited", 429)])
def test_a_code_gives_its_status(code, status):
    assert status_of(code) == status
    assert DomainError(code, "m").status == status


def test_an_unlisted_code_is_a_bug_not_a_guess():
    with pytest.raises(KeyError):
        DomainError("made_up_code", "m")
