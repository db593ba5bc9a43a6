"""The grammar's tables cached on disk (dsl/grammar_cache.py): loaded when present, rebuilt
when damaged or not ours, skipped where the directory cannot be written."""
from __future__ import annotations

import os

import pytest
from lark.exceptions import UnexpectedInput

from trimtab.dsl import grammar_cache
from trimtab.dsl.parser import RuleIndenter, grammar_text

SMALL = 'start: WORD+\n%import common.WORD\n%ignore " "\n'


@pytest.fixture
def places(tmp_path, monkeypatch):
    dirs = [tmp_path / "pkg", tmp_path / "user"]
    monkeypatch.setattr(grammar_cache, "_places", lambda: dirs)
    return dirs


def _files(place):
    return sorted(p.name for p in place.glob("grammar-*.lark-tables")) if place.exists() else []


def test_the_tables_are_saved_then_loaded(places, monkeypatch):
    first = grammar_cache.cached_lark(SMALL, parser="lalr")
    assert len(_files(places[0])) == 1
    built = []
    monkeypatch.setattr(grammar_cache, "Lark", _counting(built))
    again = grammar_cache.cached_lark(SMALL, parser="lalr")
    assert built == []                      # loaded from the file, not built
    assert again.parse("a b c") == first.parse("a b c")


def test_the_rule_grammar_with_its_indenter_loads_from_the_cache(places):
    text = "alert a level yellow\n    on weekly_metrics per rep\n    when x < 3\n    notify hrbp\n"
    built = grammar_cache.cached_lark(grammar_text(), parser="lalr", postlex=RuleIndenter(),
                                      maybe_placeholders=False)
    loaded = grammar_cache.cached_lark(grammar_text(), parser="lalr", postlex=RuleIndenter(),
                                       maybe_placeholders=False)
    assert loaded is not built and loaded.parse(text) == built.parse(text)


def test_a_changed_grammar_never_meets_stale_tables(places):
    grammar_cache.cached_lark(SMALL, parser="lalr")
    other = grammar_cache.cached_lark(SMALL.replace("WORD+", "WORD WORD"), parser="lalr")
    assert len(_files(places[0])) == 2
    with pytest.raises(UnexpectedInput):
        other.parse("a b c")


def test_a_damaged_or_foreign_file_is_not_loaded(places, monkeypatch):
    grammar_cache.cached_lark(SMALL, parser="lalr")
    [name] = _files(places[0])
    path = places[0] / name
    path.write_bytes(b"not a pickle")
    assert grammar_cache.cached_lark(SMALL, parser="lalr").parse("a b")      # rebuilt
    os.chmod(path, 0o666)                   # writable by others: never unpickled
    built = []
    monkeypatch.setattr(grammar_cache, "Lark", _counting(built))
    grammar_cache.cached_lark(SMALL, parser="lalr")
    assert built == [1]


def test_a_read_only_package_directory_falls_back_to_the_user_cache(places, monkeypatch):
    real = grammar_cache.tempfile.mkstemp

    def read_only_package(*args, dir=None, **kwargs):
        if dir == places[0]:
            raise PermissionError("read-only")
        return real(*args, dir=dir, **kwargs)
    monkeypatch.setattr(grammar_cache.tempfile, "mkstemp", read_only_package)
    grammar_cache.cached_lark(SMALL, parser="lalr")
    assert _files(places[0]) == [] and len(_files(places[1])) == 1


def test_no_writable_place_still_gives_a_parser(places, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError("read-only")
    monkeypatch.setattr(grammar_cache.tempfile, "mkstemp", refuse)
    parser = grammar_cache.cached_lark(SMALL, parser="lalr")
    assert parser.parse("a") and _files(places[0]) == _files(places[1]) == []


def _counting(built):
    real = grammar_cache.Lark

    class Counting(real):
        def __init__(self, *args, **kwargs):
            built.append(1)
            super().__init__(*args, **kwargs)
    return Counting
