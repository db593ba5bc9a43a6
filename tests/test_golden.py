"""Golden diagnostics: what `trimtab check` prints for broken files, in en and zh.

Set UPDATE_GOLDEN=1 to rewrite the expected files after an intended change of wording: each
test whose file it rewrites fails (so such a run is never green), the diff then shows in review.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import shared_sources
from trimtab.dsl.diagnostics import RuleError
from trimtab.dsl.ruleset import load_sources

GOLDEN = Path(__file__).parent / "golden"


def render(path: Path, schemas, lang: str) -> str:
    sources = shared_sources() + [(path.name, path.read_text(encoding="utf-8"))]
    try:
        load_sources(sources, schemas)
    except RuleError as err:
        return "\n".join(d.format(lang) for d in err.diagnostics) + "\n"
    return "ok\n"


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.rules")))
def test_golden(name, lang, schemas):
    path = GOLDEN / f"{name}.rules"
    got = render(path, schemas, lang)
    expected_file = GOLDEN / f"{name}.{lang}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1" and \
            (not expected_file.exists() or expected_file.read_text(encoding="utf-8") != got):
        expected_file.write_text(got, encoding="utf-8")
        pytest.fail(f"rewrote {expected_file.name}: review its diff, then run again without "
                    "UPDATE_GOLDEN (a rewriting run never passes)")
    assert expected_file.exists(), f"run with UPDATE_GOLDEN=1 to create {expected_file.name}"
    assert got == expected_file.read_text(encoding="utf-8")
    assert got != "ok\n", "a golden file must hold at least one diagnostic"
