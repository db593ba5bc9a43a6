"""Running sums kept across evaluations (dsl/running_sums.py): a keeper of a subject's history
(the server's cache) keeps a field's sums beside its entries, so a webhook's baseline is a
subtraction, not a walk over up to sixty periods.  Whatever the keeper does to its list
between evaluations — periods added at the end, the oldest cut, an entry replaced or inserted
inside — and whatever the entries hold, each baseline must be what reading its own entries one
by one gives: the same value to the last digit (its repr), or the same error."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings, strategies as st

from baselinekit import one_by_one, outcome
from trimtab.dsl import runtime
from trimtab.dsl.periods import Gap, Timeline
from trimtab.dsl.running_sums import RunningSums

ARGS = ("rate", "number", 1, "规则", 3, None)


class Keeper:
    """A subject's entries with their RunningSums, changed as server/domain/history.Subject
    changes them."""

    def __init__(self):
        self.entries, self.sums = [], RunningSums()

    def apply(self, op, value) -> None:
        kind, at = op
        if kind == "append" or not self.entries:
            self.entries.append(value)
        elif kind == "cut":
            n = at % (len(self.entries) + 1)
            del self.entries[:n]
            if n:
                self.sums.cut(n)
        else:           # "replace" or "insert" inside the list
            at %= len(self.entries)
            self.sums.changed(at)
            if kind == "replace":
                self.entries[at] = value
            else:
                self.entries.insert(at, value)

    def history(self, start: int, end: int, gaps: int) -> Timeline:
        """The entries [start, end) as the server hands them to the rules, with `gaps` periods
        without a submission after them."""
        out = Timeline(self.entries[start:end])
        out.kept = self.sums.window(start) + (len(out),)
        out.extend(Gap(f"2027-W{k:02d}") for k in range(1, gaps + 1))
        return out


same_exponent = st.decimals(places=2, min_value=-10 ** 6, max_value=10 ** 6)
values = st.one_of(
    same_exponent, same_exponent, same_exponent, st.integers(-10 ** 9, 10 ** 9),
    st.decimals(places=3, min_value=-10, max_value=10),                 # another exponent
    st.just(Decimal("-0.00")), st.just(Decimal("0.00")),
    st.just(Decimal("9" * 21 + ".00")), st.just(Decimal("-" + "9" * 20)),   # near the bound
    st.just(Decimal("1E+20")), st.just(Decimal("0.0000001")), st.just(10 ** 22),
    st.just(Decimal("0.000001")), st.just(Decimal("123456789012345678901234.5")),
    st.just(Decimal("0.21000000000000002")), st.just(Decimal("12345678901.5")),
    st.sampled_from([Decimal("NaN"), Decimal("Infinity"), None, "x", True]),
    st.floats(allow_nan=False, allow_infinity=False, width=16))
entries = st.one_of(st.builds(lambda v: {"rate": v}, values), st.just({"other": 1}))
ops = st.tuples(st.sampled_from(["append"] * 6 + ["cut", "replace", "insert"]), st.integers(0, 99))


@settings(max_examples=600, deadline=None)
@given(steps=st.lists(st.tuples(ops, entries, st.integers(0, 70), st.integers(0, 3),
                                st.integers(0, 5)), max_size=40),
       stale=st.booleans())
def test_a_kept_baseline_is_the_walks_to_the_last_digit(steps, stale):
    keeper, held = Keeper(), []
    for op, value, width, gaps, short in steps:
        keeper.apply(op, value)
        end = max(0, len(keeper.entries) - short)   # mostly up to the newest, sometimes not
        history = keeper.history(max(0, end - width), end, gaps)
        held.append(history)
        # Asked of the history just taken, and (`stale`) of ones taken before the keeper changed.
        for h in (held if stale else [history]):
            plain = list(h)
            for upto in (None, len(h), len(h) - 1, len(h) // 2, 1, 0):
                if upto is not None and not 0 <= upto <= len(h):
                    continue
                expected = outcome(one_by_one, plain if upto is None else plain[:upto], *ARGS)
                assert outcome(runtime.baseline, h, *ARGS, upto=upto) == expected, (upto, plain)


def test_sliding_sixty_periods_reads_each_entry_once(monkeypatch):
    """A week's webhook after another's: its baseline reads the one new entry, not sixty."""
    keeper = Keeper()
    for k in range(60):
        keeper.apply(("append", 0), {"rate": Decimal(k).scaleb(-2)})
    reads = []
    real = runtime.read
    monkeypatch.setattr(runtime, "read", lambda *a: (reads.append(1), real(*a))[1])
    first = runtime.baseline(keeper.history(0, 60, 1), *ARGS)
    assert len(reads) == 60
    for week in range(60, 70):
        keeper.apply(("append", 0), {"rate": Decimal(str(week / 100))})     # exponents vary
        if len(keeper.entries) > 65:
            keeper.apply(("cut", 1), None)
        reads.clear()
        end = len(keeper.entries)
        got = runtime.baseline(keeper.history(end - 60, end, 0), *ARGS)
        assert len(reads) == 1, week
        assert repr(got) == repr(one_by_one(keeper.entries[end - 60:end], *ARGS[:5]))
    assert first == Decimal("0.295")


def test_a_window_has_the_exponent_of_its_own_entries():
    """0.25 and then 0.5, 0.5: the walk's sum of the later two has exponent −1, while the
    difference of the running sums carries the −2 of 0.25 before them — quantized back."""
    keeper = Keeper()
    for v in ("0.25", "0.5", "0.5"):
        keeper.apply(("append", 0), {"rate": Decimal(v)})
    assert runtime.baseline(keeper.history(0, 3, 0), *ARGS) == Decimal("0.4166666666666666666666666667")
    got = runtime.baseline(keeper.history(1, 3, 0), *ARGS)
    assert repr(got) == repr(Decimal("0.5")) and repr(got) != repr(Decimal("0.50"))


def test_an_entry_that_stopped_the_sums_replaced_lets_them_go_on(monkeypatch):
    """The latest week sent again with a number where it had text: the sums that stopped at
    it read the corrected entry alone, not the weeks before it again."""
    keeper = Keeper()
    for k in range(10):
        keeper.apply(("append", 0), {"rate": Decimal(k)})
    keeper.apply(("append", 0), {"rate": "x"})
    assert outcome(runtime.baseline, keeper.history(0, 11, 0), *ARGS)[0] == "raised"
    keeper.apply(("replace", 10), {"rate": Decimal(10)})
    reads = []
    real = runtime.read
    monkeypatch.setattr(runtime, "read", lambda *a: (reads.append(1), real(*a))[1])
    assert runtime.baseline(keeper.history(0, 11, 0), *ARGS) == 5
    assert len(reads) == 1
