"""`baseline()` over a Timeline keeps running sums for all the baselines of an evaluation
(dsl/runtime.py `_running_sums`): a streak's condition reads the baseline as it stood before
each period it looks back on.  Whatever the history holds — gaps, ints, Decimals, values
read() refuses, defaults, scales — and in whatever order the baselines are asked for, each
must be what reading the entries one by one gives: the same value, or the same error."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings, strategies as st

from baselinekit import one_by_one, outcome
from trimtab.dsl import runtime
from trimtab.dsl.periods import Gap, Timeline


values = st.one_of(
    st.integers(-10 ** 6, 10 ** 6), st.integers(0, 9),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10 ** 6, max_value=10 ** 6),
    st.sampled_from([Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("1E+999999")]),
    st.booleans(), st.none(), st.text(max_size=3), st.floats(allow_nan=False, allow_infinity=False))
entries = st.one_of(
    st.builds(lambda v: {"rate": v}, values),
    st.builds(lambda v: {"rate": v}, st.decimals(places=2, min_value=0, max_value=1)),
    st.dictionaries(st.sampled_from(["rate", "other"]), values, max_size=2),
    st.builds(lambda n: Gap(f"2026-W{n:02d}"), st.integers(1, 52)),
    st.just([1, 2]), st.none())


@settings(max_examples=1500, deadline=None)
@given(history=st.lists(entries, max_size=10), kind=st.sampled_from(["number", "integer"]),
       scale=st.sampled_from([1, 1, 24, Decimal("0.01")]),
       default=st.one_of(st.none(), st.just(0), st.just(Decimal("0.5"))),
       order=st.lists(st.integers(0, 10), max_size=12))
def test_every_baseline_of_a_timeline_reads_as_entry_by_entry(history, kind, scale, default, order):
    timeline = Timeline(history)
    args = ("rate", kind, scale, "规则", 3, default)
    for upto in order + [None] + list(range(len(history) + 1)):
        upto = None if upto is None else min(upto, len(history))
        expected = outcome(one_by_one, history if upto is None else history[:upto], *args)
        assert outcome(runtime.baseline, timeline, *args, upto=upto) == expected, upto


def test_a_streaks_baselines_read_the_history_once(monkeypatch):
    """Sixty periods, a baseline for now and for each of three periods before: the entries
    are read once (the sums), not four times."""
    timeline = Timeline([{"rate": Decimal(k) / 100} for k in range(60)])
    reads = []
    real = runtime.read

    def counting(*args, **kwargs):
        reads.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(runtime, "read", counting)
    got = [runtime.baseline(timeline, "rate", "number", 1, "规则", 3, upto=upto)
           for upto in (None, 59, 58, 57)]
    assert len(reads) == 60
    monkeypatch.undo()
    assert got == [one_by_one(timeline[:k], "rate", "number", 1, "规则", 3) for k in (60, 59, 58, 57)]
    # a plain list (the language's own tests pass one): read entry by entry, as before
    assert runtime.baseline(list(timeline), "rate", "number", 1, "规则", 3, upto=2) == Decimal("0.005")
    assert outcome(runtime.baseline, Timeline([Gap("2026-W01")]), "rate", "number", 1, "规则", 3)[2] \
        == "eval.no_history"
