"""A Decision is a msgspec Struct the garbage collector does not track (dsl/decision.py): safe
only while nothing a Decision refers to refers back to it.  These hold that claim on the
shipped rules — a decision that fired, one that did not and one stopped by an error, traced or
not, with its details, words and compact form asked for — by dropping it with the collector
switched off and finding its facts gone with it."""
from __future__ import annotations

import gc
import weakref

from serverkit import week


class Facts(dict):
    """The facts as the server passes them, weakly referable."""


def _dropped_with_its_facts(shipped, raw: dict, trace: bool) -> bool:
    facts = Facts(raw)              # made here: the caller holds no reference to it
    gone = weakref.ref(facts)
    decisions = shipped.evaluate("weekly_metrics", facts, [], trace=trace, as_of="2026-05-11")
    assert decisions and {type(d).__name__ for d in decisions} == {"Decision"}
    assert not any(gc.is_tracked(d) for d in decisions)
    for d in decisions:             # what the server asks of each (plan.stored_doc, the answer)
        d.to_json("zh", with_trace=False), d.compact(), d.details, d.explain("en")
    del decisions, facts, d
    return gone() is None


def test_decisions_are_freed_by_their_counts_alone(shipped):
    was = gc.isenabled()
    gc.disable()                    # only reference counts free them: no cycle may pass through
    try:
        for trace in (True, False):
            assert _dropped_with_its_facts(shipped, week(1, 5, 0.9), trace)
            fired = dict(week(5, 2, 0.5), contract_amount=100000, negative_feedback=4)
            assert _dropped_with_its_facts(shipped, fired, trace)
            broken = week(1, 5, 0.9)
            del broken["conversion_rate"]           # evaluation errors: RuleError, traceback
            assert _dropped_with_its_facts(shipped, broken, trace)
    finally:
        if was:
            gc.enable()


def test_fields_by_name(shipped):
    facts = Facts(week(1, 5, 0.9))
    d = shipped.evaluate("weekly_metrics", facts, [], trace=True, as_of="2026-05-11")[0]
    assert d.compiled.name == d.rule and d.facts is facts and d.error is None
    assert d.value == d.outcome[0] and isinstance(d.records, list)
    # the generated evaluate() passes them in this order: the fields are declared in it
    import msgspec
    assert msgspec.structs.astuple(d)[:5] == (d.compiled, d.facts, d.outcome, d.records, d.error)
    assert d.built is None and d.details is d.built           # built when asked, then kept
