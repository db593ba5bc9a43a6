"""The message catalogs (docs/messages.md): every English text the code marks has a confirmed
zh-CN translation, and the committed .mo files are what their .po files compile to."""
from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from trimtab.dsl.catalog_tools import compiled_bytes, read_catalog

ROOT = Path(__file__).resolve().parent.parent
DOMAINS = {"trimtab_dsl": ("scripts/babel-dsl.cfg", "dsl"), "trimtab_server": ("scripts/babel-server.cfg", "server")}
POS = sorted(ROOT.glob("*/locale/*/LC_MESSAGES/*.po"))


def extracted(domain: str) -> set[tuple[str | None, str]]:
    """(msgctxt, msgid) of every text the code marks, as scripts/messages.sh extracts them."""
    cfg, folder = DOMAINS[domain]
    with (ROOT / cfg).open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords={"tr": (2,)})
    return {(context, msgid) for _file, _line, msgid, _comments, context in found
            if isinstance(msgid, str) and _file.startswith(folder + "/")}


def test_there_is_a_catalog_per_domain():
    assert {p.stem for p in POS} == set(DOMAINS) and all(p.parent.parent.name == "zh_CN" for p in POS)


@pytest.mark.parametrize("po", POS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_compiled_catalog_is_not_stale(po):
    mo = po.with_suffix(".mo")
    assert mo.exists() and mo.read_bytes() == compiled_bytes(po), \
        f"{mo.relative_to(ROOT)} is stale: run `bash scripts/messages.sh compile`"


@pytest.mark.parametrize("po", POS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_marked_text_has_a_confirmed_translation(po):
    catalog = read_catalog(po)
    translated = {(m.context, m.id) for m in catalog if m.id and m.string and not m.fuzzy}
    fuzzy = sorted(f"{m.context}: {m.id}" for m in catalog if m.id and m.fuzzy)
    missing = sorted(f"{c}: {i}" for c, i in extracted(po.stem) - translated)
    assert not fuzzy, f"fuzzy in {po.name} (confirm the translation, drop the flag): {fuzzy}"
    assert not missing, f"no zh translation in {po.name} (run scripts/messages.sh, translate): {missing}"
