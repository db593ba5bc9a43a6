"""The split's C helper (trimtab.dsl._splitcore) under load: it runs in every server worker, so
each of its entry points — plan, shares, allocate, operate — on its answered, None and error
paths is called thousands of times, and neither the traced memory (tracemalloc: PyMem and
object allocations) nor the reference count of any argument or constant it touches may grow.
A forgotten Py_DECREF on any path shows as one or the other.  (tests/test_splitcore.py holds
its answers to the Python path's.)"""
from __future__ import annotations

import gc
import subprocess
import sys
import tracemalloc
from decimal import Context, Decimal, getcontext, localcontext
from types import SimpleNamespace

import pytest

from trimtab.dsl import splitting
from trimtab.dsl.amounts import Amount, Scale
from trimtab.dsl.splitting import plan_of

CORE = splitting._splitcore
ROUNDS, WARM = 2_000, 50
SLACK = 2048            # bytes: tracemalloc's own bookkeeping, not a per-call leak (≥ 16 bytes × ROUNDS)


def _cases():
    """name → (a call, the objects whose reference counts it must leave alone, how often)."""
    cent, band = Scale(Decimal("0.01"), 2), SimpleNamespace(band=Decimal("0.1"), limit=Decimal("0.3"), rebalance=True)
    weights = [Decimal("0.5"), Decimal("0.3"), Decimal("0.2")]
    rows = [(Decimal("1.5"), 2, Decimal("0.25")), (Decimal(3), 0, Decimal("1E+2")), (7, Decimal("0.001"), 1)]
    total, adj = Decimal("1000.00"), [Decimal("0.2"), Decimal("-0.5"), 0]
    blanks, keys = [True, False, True], ["a", "b", "c"]
    plain, banded = plan_of(weights, None, cent), plan_of(weights, band, cent)
    unbalanced = plan_of(weights, SimpleNamespace(band=Decimal(0), limit=None, rebalance=False), cent)
    fields = ("x", "y", "z")
    by_item = plan_of(weights, None, cent, fields)
    items = [dict(zip(fields, row)) for row in rows]
    one = plan_of([Decimal(1)], None, cent)
    huge, nan, flt = Decimal("1E+9999"), Decimal("NaN"), 1.5
    args = (weights, 2, 2, False, None, None, False, Amount, None)
    other = Context(prec=10)
    # past 256 children the set of free children's indices holds ints not cached by CPython
    many = [(Decimal(i % 7), i, 1) for i in range(300)]
    many_adj, many_blanks, many_keys = [Decimal("0.01")] * 10 + [0] * 290, [False] * 300, list(range(300))
    assert plain and banded and unbalanced and by_item and one

    def in_other_context():
        with localcontext(other):
            return CORE.shares(total, rows, plain, None, None, None)

    cases = {
        "plan": (lambda: CORE.plan(*args), args),
        "plan/fields": (lambda: CORE.plan(weights, 2, 2, True, Decimal("0.1"), None, True, Amount, fields), fields),
        "plan/none: a weight of 31 digits": (lambda: CORE.plan([Decimal(10 ** 30)], 2, 2, 0, None, None, 0, Amount,
                                                               None), ()),
        "plan/none: not a Decimal type": (lambda: CORE.plan(weights, 2, 2, 0, None, None, 0, int, None), ()),
        "plan/none: a huge band": (lambda: CORE.plan(weights, 2, 2, 0, huge, None, 0, Amount, None), (huge,)),
        "plan/error: wrong type": (lambda: CORE.plan("weights", 2, 2, 0, None, None, 0, Amount, None), ()),
        "shares": (lambda: CORE.shares(total, rows, plain, None, None, None), (total, rows, plain)),
        "shares/band, rebalanced": (lambda: CORE.shares(total, rows, banded, adj, blanks, keys),
                                    (total, rows, banded, *adj, *blanks, *keys)),
        "shares/band": (lambda: CORE.shares(total, rows, unbalanced, adj, blanks, keys), (unbalanced, *adj, *keys)),
        "shares/band, rebalanced, 300 children": (lambda: CORE.shares(total, many, banded, many_adj, many_blanks,
                                                                      many_keys), (many, *many_adj), ROUNDS // 10),
        "shares/items": (lambda: CORE.shares(total, items, by_item, None, None, None), (by_item, *items, *fields)),
        "shares/none: a float score": (lambda: CORE.shares(10, [(flt,)], one, None, None, None), (flt, one)),
        "shares/none: a huge exponent": (lambda: CORE.shares(10, [(huge,)], one, None, None, None), (huge,)),
        "shares/none: NaN": (lambda: CORE.shares(10, [(nan,)], one, None, None, None), (nan,)),
        "shares/none: a missing field": (lambda: CORE.shares(10, [{"y": 1}], by_item, None, None, None), ()),
        "shares/none: no weight": (lambda: CORE.shares(10, [(0,), (0,)], one, None, None, None), ()),
        "shares/none: another context": (in_other_context, (other,)),
        "shares/error: not a plan": (lambda: CORE.shares(10, [(1,)], "plan", None, None, None), ()),
        "shares/error: argument count": (lambda: CORE.shares(10, [(1,)], one), ()),
        "allocate": (lambda: CORE.allocate([Decimal("1.005"), Decimal("2.5")], total, plain), (plain,)),
        "allocate/none": (lambda: CORE.allocate([huge], total, plain), (huge,)),
        "allocate/error: wrong type": (lambda: CORE.allocate((1,), total, plain), ()),
        "operate": (lambda: [CORE.operate(op, total, Decimal("3")) for op in "+*/<"], (total,)),
        "operate/none": (lambda: CORE.operate("/", total, 0), ()),
        "operate/error": (lambda: CORE.operate("++", total, 1), ()),
    }
    # the constants every call may touch: none of them may gain or lose a reference
    constants = (None, True, False, Amount, Decimal, sys.intern("beyond_limit"), sys.intern("reason_required"),
                 getcontext())
    return {name: (case[0], case[1] + constants, case[2] if len(case) > 2 else ROUNDS) for name, case in cases.items()}


def _refcounts(objects) -> list[int]:
    """Counted the same way before and after, on a line of its own: inside a comprehension
    the comprehension's function (its __doc__ is None) would count once more on one side."""
    return [sys.getrefcount(o) for o in objects]


def _grown(watched, deltas, rounds: int) -> bool:
    """A reference kept or dropped on every call moves a count by `rounds`.  Objects the whole
    process shares — None, True, False, small ints — also move with anything else running
    (a CI run saw None's count drop by 31 while a test's background thread dropped a
    database), so for them only a per-call change counts; every other object must not move."""
    for obj, delta in zip(watched, deltas):
        shared = obj is None or type(obj) in (bool, int)
        if abs(delta) >= rounds // 2 if shared else delta:
            return True
    return False


def _call(call):
    try:
        call()
    except (TypeError, ValueError):     # the error paths: the exception is the answer
        pass


def _assert_the_path(name, call):
    """Each case takes the path its name says: an answer, None (the Python path), an error."""
    if "/error" in name:
        with pytest.raises((TypeError, ValueError)):
            call()
    else:
        assert (call() is None) == ("/none" in name), name


@pytest.fixture(autouse=True)
def _helper():
    if CORE is None:
        pytest.fail("trimtab.dsl._splitcore is not built: `pip install -e .` builds it (setup.py)")


# Where the calls' allocations are traced to: the C helper's to the frame that calls it (this
# file), the Python path's to the split's modules.
OURS = [tracemalloc.Filter(True, __file__), tracemalloc.Filter(True, splitting.__file__),
        tracemalloc.Filter(True, sys.modules[Amount.__module__].__file__)]


def _traced_here() -> int:
    """Bytes of live allocations traced to the calls' own frames.  tracemalloc counts every
    thread, and another test's thread in this process (a database dropped in the background)
    once grew the total by 3,706 bytes during a case."""
    snapshot = tracemalloc.take_snapshot().filter_traces(OURS)
    return sum(stat.size for stat in snapshot.statistics("filename"))


def test_no_entry_point_leaks_memory_or_references():
    grown = {}
    tracemalloc.start()
    try:
        for name, (call, watched, rounds) in _cases().items():
            _assert_the_path(name, call)
            for _ in range(WARM):
                _call(call)
            gc.collect()
            counts = _refcounts(watched)
            before = _traced_here()
            for _ in range(rounds):
                _call(call)
            gc.collect()
            after = _traced_here()
            later = _refcounts(watched)
            refs = [now - then for now, then in zip(later, counts)]
            if after - before > SLACK or _grown(watched, refs, rounds):
                grown[name] = (after - before, refs)
    finally:
        tracemalloc.stop()
    assert not grown, grown


# Python code an argument runs inside shares() (a blank's __bool__, a dict key's __eq__)
# empties the lists the helper is reading; in a child process, so that a crash is a failure.
REENTRANT = """
from decimal import Decimal
from types import SimpleNamespace
from trimtab.dsl.amounts import Scale
from trimtab.dsl.splitting import _splitcore as CORE, plan_of
cent, n = Scale(Decimal("0.01"), 2), 3
adj, keys = [Decimal("0.5")] * n, ["a"] * n
class Blank:
    def __bool__(self):
        adj.clear(); keys.clear()
        return True
plan = plan_of([Decimal(1)], SimpleNamespace(band=Decimal("0.1"), limit=None, rebalance=False), cent)
print(CORE.shares(Decimal(100), [(1,)] * n, plan, adj, [Blank()] * n, keys))
rows = []
class Key(str):
    def __hash__(self):
        return hash("x")
    def __eq__(self, other):
        rows.clear()
        return False
rows[:] = [{Key("q"): 1, "x": Decimal(i)} for i in range(1, 50)]
print(CORE.shares(Decimal(100), rows, plan_of([Decimal(1)], None, cent, ("x",)), None, None, None))
print(CORE.allocate([], Decimal(5), plan_of([Decimal(1)], None, cent)))
"""


def test_python_code_run_by_an_argument_cannot_pull_a_list_away():
    """The Python path decides then (None); and an empty allocation hands out nothing, as
    amounts.allocate does (it divided by the zero count before: undefined, -fsanitize=undefined)."""
    done = subprocess.run([sys.executable, "-c", REENTRANT], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.split()) == (0, ["None", "None", "[]"]), done.stderr[-2000:]
