"""A reload parses and compiles only what changed (dsl/reuse.py): every gunicorn worker loads the
new set at once while answering, so the load's CPU decides how soon the last one follows."""
from __future__ import annotations

import pytest

from conftest import RULES, SCHEMAS
from trimtab.dsl import reuse
from trimtab.dsl import ruleset as loading
from trimtab.dsl.ruleset import load_sources, read_rule_files
from trimtab.dsl.schemas import load_schemas

FACTS = {"account": "A-1", "rep": "r1", "date": "2026-06-08", "days_outstanding": 50}


@pytest.fixture
def counted(monkeypatch):
    """The loader's parser and compiler, counting their calls; nothing kept from before."""
    reuse.PARSED.clear()
    reuse.COMPILED.clear()
    calls = {"parse": 0, "compile": 0}
    real_parse, real_compile = loading.parse, compile

    def parse(text, name):
        calls["parse"] += 1
        return real_parse(text, name)

    def compile_(src, *args, **kwargs):
        if args[:1] == ("<rule>",):
            calls["compile"] += 1
        return real_compile(src, *args, **kwargs)
    monkeypatch.setattr(loading, "parse", parse)
    monkeypatch.setattr("trimtab.dsl.functions.compile", compile_, raising=False)
    yield calls
    reuse.PARSED.clear()
    reuse.COMPILED.clear()


def shipped():
    return read_rule_files(RULES), load_schemas(SCHEMAS)


def edited(sources, old: str, new: str):
    out = [(name, text.replace(old, new, 1)) for name, text in sources]
    assert out != sources, f"{old!r} is in no file"
    return out


def overdue(ruleset) -> bool:
    [decision] = [d for d in ruleset.evaluate("receivables", FACTS) if d.rule == "应收超期"]
    return decision.value is True


def test_a_second_load_parses_and_compiles_only_the_changed_file(counted):
    sources, schemas = shipped()
    first = load_sources(sources, schemas, keep=True)
    files, shapes = counted["parse"], counted["compile"]
    assert files == len(sources) and shapes == first.shapes > 1

    second = load_sources(edited(sources, "days_outstanding > 60 days", "days_outstanding > 45 days"),
                          schemas, keep=True)
    assert counted["parse"] - files == 1                # alerts.rules alone
    assert counted["compile"] - shapes <= 1             # at most the edited rule's new shape
    assert second.shapes == first.shapes                # still counted per set
    # Each set keeps its own meaning though the unchanged files' nodes are shared.
    assert overdue(second) and not overdue(first)
    assert not overdue(load_sources(sources, schemas, keep=True)) and counted["parse"] - files == 1


def test_a_file_that_does_not_parse_is_not_kept(counted):
    sources, schemas = shipped()
    broken = edited(sources, "when days_outstanding > 60 days", "when days_outstanding >")
    with pytest.raises(loading.RuleError):
        load_sources(broken, schemas, keep=True)
    with pytest.raises(loading.RuleError):
        load_sources(broken, schemas, keep=True)
    # The other files parsed well and are kept; the broken one is parsed (and refused) again.
    assert counted["parse"] == len(sources) + 1


def test_what_is_kept_is_bounded_by_its_characters():
    kept = reuse.Kept(limit=10)
    kept.put("aaaa", 1, 4)
    kept.put("bbbb", 2, 4)
    assert kept.get("aaaa") == 1                        # now the most recently used
    kept.put("cccc", 3, 4)                              # 12 > 10: the least recently used goes
    assert kept.get("bbbb") is None and kept.get("aaaa") == 1
    kept.put("x" * 11, 4, 11)                           # larger than the whole: never kept
    assert kept.held == 8 and kept.get("x" * 11) is None


def test_one_parser_serves_every_thread():
    """A gunicorn worker's thread that loads a new set parses with the parser the worker built
    at start (building one took a quarter of a second of the reload)."""
    import threading

    from trimtab.dsl.parser import get_parser
    built = []
    thread = threading.Thread(target=lambda: built.append(get_parser()))
    thread.start()
    thread.join()
    assert built[0] is get_parser()


def test_a_file_larger_than_what_is_kept_is_parsed_and_not_kept(counted):
    """A file larger than the whole bound is parsed and not kept, and pushes none of the files
    kept before it out (kept and then evicted, it would have emptied the cache on its way)."""
    sources, schemas = shipped()
    load_sources(sources, schemas, keep=True)
    padding = "# " + "x" * (reuse.KEEP_PARSED_CHARS + 10) + "\n"
    name, text = sources[-1]
    big = sources[:-1] + [(name, text + padding)]
    load_sources(big, schemas, keep=True)
    assert reuse.PARSED.get(big[-1]) is None
    assert all(reuse.PARSED.get(key) is not None for key in sources)


def test_a_draft_leaves_nothing_behind(counted):
    """Drafts (the workbench, replays of drafts) are loaded without `keep`: whatever an editor
    types never fills a worker's memory, nor pushes the served version's files out."""
    sources, schemas = shipped()
    load_sources(sources + [("rules/new.rules", "")], schemas)
    assert reuse.PARSED.held == 0 and reuse.COMPILED.held == 0 and not reuse.PARSED.items


def test_every_kept_file_counts_its_name_and_a_fixed_cost():
    """Empty files cost nothing to parse and took no room: a draft of twenty new empty files a
    load grew the cache without end."""
    kept = reuse.Kept(limit=10 * reuse.ENTRY_COST)
    for i in range(100):
        kept.put(("x" * 40 + str(i), ""), object(), reuse.entry_size("x" * 40 + str(i), ""))
    assert len(kept.items) < 10 and kept.held <= kept.limit


def test_a_process_forked_while_a_cache_was_locked_can_still_load():
    """The job worker forks a job while its sweeper thread may be loading: the child must not
    inherit a lock that nobody in it will ever release."""
    import os

    from trimtab.dsl import parser
    with reuse.PARSED.lock, parser._BUILDING:
        pid = os.fork()
        if pid == 0:                                   # the child: one thread, its own locks
            ok = reuse.PARSED.lock.acquire(timeout=2) and parser._BUILDING.acquire(timeout=2)
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


TWO_OF_ONE_SHAPE = """alert few level yellow
    on weekly_metrics per rep
    when effective_visits < 3
    notify hrbp

alert fewer level red
    on weekly_metrics per rep
    when effective_visits < 1
    notify hrbp
"""


def _two_of_one_shape():
    from conftest import shared_sources
    rules = load_sources(shared_sources() + [("case.rules", TWO_OF_ONE_SHAPE)], load_schemas(SCHEMAS))
    return [next(r for r in rules.rules if r.name == name) for name in ("few", "fewer")]


def test_a_value_only_function_is_compiled_on_the_first_decide_once_per_shape(counted):
    """The server decides with `evaluate` alone; `decide` (replay) pays when first read."""
    few, fewer = _two_of_one_shape()
    loaded = counted["compile"]
    assert "value" not in few.evaluate.__globals__ and "decide" not in vars(few)
    decide = few.decide                 # what a caller holds is the generated function itself
    assert counted["compile"] == loaded + 1
    assert decide.__name__ == "value" and decide.__globals__ is few.evaluate.__globals__
    assert decide({"rep": "r1", "effective_visits": 2}) is True and few.decide is decide
    assert fewer.decide({"rep": "r1", "effective_visits": 2}) is False    # its own threshold
    assert counted["compile"] == loaded + 1                               # the same shape's code
    assert few.decide({"rep": "r1", "effective_visits": 3}) is False


def test_a_value_only_function_that_cannot_compile_is_the_rules_located_error(monkeypatch):
    from trimtab.dsl import functions
    from trimtab.dsl.diagnostics import RuleError
    few, _ = _two_of_one_shape()
    monkeypatch.setattr(functions, "MAX_RULE_SOURCE", 10)
    for _ in range(2):                  # and again: nothing half-made is left behind
        with pytest.raises(RuleError) as info:
            few.decide({"rep": "r1", "effective_visits": 2})
        assert (info.value.code, info.value.diagnostics[0].location()) == ("check.too_complex", "case.rules:1:1")
