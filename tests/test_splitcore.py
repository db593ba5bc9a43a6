"""The split's C helper (trimtab.dsl._splitcore) against the Python path it stands in for
(splitting.split_shares_py): over many generated splits, wherever the helper answers, its
finals, bases and violations are the Python path's to the last digit and exponent, and it
answers None (the Python path decides) wherever that path would raise.  Also: the helper is
built and used by the normal install."""
from __future__ import annotations

import importlib.util
import os
import random
from decimal import Context, Decimal, Inexact, ROUND_HALF_UP, localcontext
from types import SimpleNamespace

import pytest
from conftest import ROOT

from trimtab.dsl import splitting
from trimtab.dsl.amounts import Scale
from trimtab.dsl.splitting import plan_of, split_shares_py

CASES, SEED = 6_000, 20261130
STEPS = [(Decimal("0.01"), 2), (Decimal(1), 2), (Decimal(10000), 2), (Decimal("1E+4"), 0),
         (Decimal("0.001"), 3), (Decimal("1E-6"), 6), (Decimal(1), 0), (Decimal("0.05"), 2)]
CORE = splitting._splitcore


def _number(rng, signed=False):
    """A score, total or adjustment: mostly as forms send them, often at the edges (zeros of
    both signs and exponents, 28 and 31 digits, exponents far up and down)."""
    roll = rng.random()
    if roll < 0.06:
        value = rng.choice([0, Decimal(0), Decimal("-0"), Decimal("0E+5"), Decimal("0.000")])
    elif roll < 0.25:
        value = rng.randint(0, 10 ** rng.randint(0, 15))
    elif roll < 0.3:
        value = Decimal(rng.randint(1, 10 ** 28 - 1)).scaleb(rng.randint(-40, 5))
    elif roll < 0.32:
        value = Decimal(rng.randint(10 ** 29, 10 ** 31 - 1)).scaleb(-rng.randint(0, 30))
    elif roll < 0.37:
        value = Decimal(rng.randint(1, 9)).scaleb(rng.randint(-45, 30))
    else:
        places = rng.randint(0, 6)
        value = Decimal(rng.randint(0, 10 ** (places + rng.randint(0, 9)))).scaleb(-places)
    if signed and rng.random() < 0.5:
        value = -value
    return value


def _weights(rng):
    roll = rng.random()
    if roll < 0.4:
        return [Decimal("0.5"), Decimal("0.3"), Decimal("0.2")]
    if roll < 0.5:
        third = Decimal(1) / 3
        return [third, third, 1 - 2 * third]
    return [Decimal(rng.randint(0, 100)).scaleb(-2) for _ in range(rng.randint(1, 4))]


def _adjustment(rng):
    roll = rng.random()
    if roll < 0.3:
        return rng.choice([0, Decimal(0), Decimal("-0.00")])
    if roll < 0.35:
        return rng.choice([1, -1, Decimal("0.1"), Decimal("-0.1"), Decimal("0.3")])
    if roll < 0.4:
        return Decimal(rng.randint(-10 ** 27, 10 ** 27)).scaleb(-28)
    return Decimal(rng.randint(-400, 400)).scaleb(-3)


def _case(rng):
    width_weights = _weights(rng)
    n = rng.randint(1, 12)
    tie = rng.random() < 0.2          # equal rows: equal remainders, ties go to the first listed
    base = tuple(_number(rng, signed=rng.random() < 0.05) for _ in width_weights)
    rows = [base if tie else tuple(_number(rng, signed=rng.random() < 0.05) for _ in width_weights)
            for _ in range(n)]
    total = _number(rng, signed=rng.random() < 0.1)
    step, places = rng.choice(STEPS)
    scale = Scale(step, places, rng.choice(["half_up", "half_even"]))
    adjust = adjustments = blanks = keys = None
    if rng.random() < 0.6:
        adjust = SimpleNamespace(band=rng.choice([Decimal("0.1"), Decimal(0), Decimal("0.15")]),
                                 limit=rng.choice([None, Decimal("0.3"), Decimal("0.15")]),
                                 rebalance=rng.random() < 0.6)
        adjustments = [_adjustment(rng) for _ in range(n)]
        blanks = [rng.random() < 0.5 for _ in range(n)]
        keys = [f"r{i}" for i in range(n)]
    return total, rows, width_weights, adjustments, blanks, keys, adjust, scale


def _python(case):
    try:
        return split_shares_py(*case)
    except (ArithmeticError, ValueError) as e:      # the rule's eval.out_of_range
        return e


def _same_amounts(xs, ys) -> bool:
    return len(xs) == len(ys) and all(type(x) is type(y) and x.as_tuple() == y.as_tuple()
                                      for x, y in zip(xs, ys))


def _assert_same(got, want, case):
    assert not isinstance(want, Exception), (case, want)
    assert want is not None, case
    (finals, bases, violations), (py_finals, py_bases, py_violations) = got, want
    assert _same_amounts(bases, py_bases), (case, bases, py_bases)
    assert _same_amounts(finals, py_finals), (case, finals, py_finals)
    assert (finals is bases) == (py_finals is py_bases), case
    assert len(violations) == len(py_violations) and all(
        k == pk and a is pa and code == pc for (k, a, code), (pk, pa, pc) in zip(violations, py_violations)), case


@pytest.fixture(autouse=True)
def _helper():
    if CORE is None:
        pytest.fail("trimtab.dsl._splitcore is not built: `pip install -e .` builds it (setup.py)")


def test_the_helper_gives_the_python_paths_shares_or_none():
    rng = random.Random(SEED)
    answered = planned = 0
    for _ in range(CASES):
        case = _case(rng)
        total, rows, weights, adjustments, blanks, keys, adjust, scale = case
        plan = plan_of(weights, adjust, scale)
        if not plan:
            continue
        planned += 1
        got = CORE.shares(total, rows, plan, adjustments, blanks, keys)
        if got is not None:
            answered += 1
            _assert_same(got, _python(case), case)
    # The edges above are drawn often on purpose; most splits are still the helper's.
    assert planned > CASES * 0.8 and answered > planned * 0.6, (planned, answered)


def test_the_items_are_read_as_the_compiled_rule_reads_them():
    """The compiled rule hands the helper the list's items (dicts) and the weights' fields."""
    rng = random.Random(SEED + 1)
    answered = 0
    for _ in range(CASES // 3):
        total, rows, weights, _a, _b, _k, _adjust, scale = case = _case(rng)
        fields = tuple(f"f{j}" for j in range(len(weights)))
        plan = plan_of(weights, None, scale, fields)
        if not plan:
            continue
        items = [dict(zip(fields, row)) for row in rows]
        got = CORE.shares(total, items, plan, None, None, None)
        if got is not None:
            answered += 1
            _assert_same(got, _python((total, rows, weights, None, None, None, None, scale)), case)
    assert answered > CASES // 3 * 0.5
    plan = plan_of([Decimal(1)], None, Scale(Decimal("0.01"), 2), ("x",))
    for items in ([{"y": 1}], [{"x": None}], [{"x": 1.5}], [{"x": True}], [{"x": "1"}], [[1]]):
        assert CORE.shares(10, items, plan, None, None, None) is None, items


def test_ties_negative_adjustments_and_totals_below_the_sum():
    scale = Scale(Decimal("0.01"), 2)
    band = SimpleNamespace(band=Decimal("0.1"), limit=Decimal("0.3"), rebalance=True)
    cases = [
        (100, [(1,), (1,), (1,)], [Decimal(1)], None, None, None, None, scale),        # 33.34, 33.33, 33.33
        (Decimal("-100"), [(1,), (1,), (1,)], [Decimal(1)], None, None, None, None, scale),
        (100, [(1,), (1,), (1,)], [Decimal(1)], [Decimal("-0.2"), Decimal("-0.2"), 0],
         [True, False, True], ["a", "b", "c"], band, scale),
        (100, [(1,), (1,), (1,)], [Decimal(1)], [Decimal("-0.25"), Decimal("0.25"), Decimal("0.5")],
         [True, True, False], ["a", "b", "c"], band, scale),
        (10 ** 6, [(1, 2), (2, 1)], [Decimal("0.5"), Decimal("0.5")], None, None, None, None,
         Scale(Decimal(10000), 2)),                                                    # 万
        (5, [(Decimal("1E-20"),), (Decimal("2E-20"),)], [Decimal(1)], None, None, None, None, scale),
        # Found by a longer run of the test above: _rebalanced sums the room over the set of
        # unadjusted children, which iterates 8 before 3 and 6; the rounding of the sum tells.
        (Decimal("7804272086976234473559723661"),
         [(300645,), (Decimal("1"),), (Decimal("4.961607"),), (Decimal("363034.8349"),), (Decimal("97.7494"),),
          (Decimal("943.47262"),), (Decimal("282878.900332"),), (Decimal("69589894"),), (38898906,)],
         [Decimal("0.59")], [Decimal("-0.157"), Decimal("0.1"), Decimal("-0.199"), 0,
                             Decimal("0.0581193818378279864076811831"), Decimal("0.191"), 0, Decimal("0.246"),
                             Decimal("0")],
         [False] * 9, list(range(9)), SimpleNamespace(band=Decimal("0.15"), limit=Decimal("0.15"), rebalance=True),
         Scale(Decimal(1), 0, "half_even")),
    ]
    for case in cases:
        plan = plan_of(case[2], case[6], case[7])
        got = CORE.shares(case[0], case[1], plan, case[3], case[4], case[5])
        assert got is not None, case
        _assert_same(got, _python(case), case)


def test_overflow_and_refusals_are_left_to_the_python_path():
    scale = Scale(Decimal("0.01"), 2)
    plan = plan_of([Decimal(1)], None, scale)
    for total, rows in [(Decimal("1E+40"), [(1,)]),                    # an amount past 28 digits
                        (5, [(Decimal("1234567890123456789012345678901"),)]),   # 31 digits in
                        (5, [(Decimal("1E+9999"),)]), (5, [(Decimal("NaN"),)]),
                        (5, [(Decimal("Infinity"),)]), (10 ** 30, [(1,)]), (5, [(0,), (0,)]),
                        (5, []), (5, [(1.5,)]), (5, [(True,)])]:
        assert CORE.shares(total, rows, plan, None, None, None) is None, (total, rows)
    assert plan_of([Decimal(1)], None, Scale(Decimal("0.05"), 2)) is False      # not a power of ten
    assert plan_of([Decimal("1234567890123456789012345678901")], None, scale) is False


def test_another_decimal_context_is_left_to_the_python_path():
    plan, rows = plan_of([Decimal(1)], None, Scale(Decimal("0.01"), 2)), [(1,), (2,)]
    assert CORE.shares(100, rows, plan, None, None, None) is not None
    for settings in ({"prec": 10}, {"rounding": ROUND_HALF_UP}, {"Emax": 100}, {"Emin": -100},
                     {"traps": [Inexact]}):
        with localcontext(Context(**settings)):
            assert CORE.shares(100, rows, plan, None, None, None) is None, settings


def test_the_helper_is_built_and_the_compiled_split_uses_it(monkeypatch):
    """The normal install builds the helper (setup.py) and a compiled split decides through
    it: with the Python path made to fail, the bench's split still decides."""
    if os.environ.get("TRIMTAB_PURE_PYTHON"):
        pytest.skip("TRIMTAB_PURE_PYTHON=1 asks for the Python path")
    assert splitting.CORE is CORE
    spec = importlib.util.spec_from_file_location("bench_dsl", ROOT / "tests" / "bench" / "bench_dsl.py")
    B = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(B)
    rules = B.load(B.HERE / "rules", B.HERE / "forms")
    raw = [B.gen_split(random.Random(1)) for _ in range(20)]
    facts = B.decoded("split", rules, raw)
    want = [rules.rule("split").decide(f, (), True) for f in facts]

    def refuse(*args):
        raise AssertionError("the Python path ran")
    monkeypatch.setattr(splitting, "split_shares_py", refuse)
    assert [rules.rule("split").decide(f, (), True) for f in facts] == want
    assert [rules.rule("split").decide(B.as_decimal(f)) for f in raw] == want


def _operand(rng) -> Decimal:
    """Up to 28 digits at exponents from -60 to 40, with the shapes that round at a tie:
    5 × 10^27 (a product's dropped half), a half step plus a tail far below (a sticky digit)."""
    roll = rng.random()
    if roll < 0.05:
        return Decimal(0).scaleb(rng.randint(-60, 40))
    if roll < 0.15:
        return Decimal("5" + "0" * 27).scaleb(rng.randint(-40, 20)).copy_sign(rng.choice([1, -1]))
    if roll < 0.25:
        return Decimal(f"5{'0' * rng.randint(6, 20)}{rng.randint(1, 9)}").scaleb(rng.randint(-60, 0))
    digits = rng.randint(1, 28)
    return Decimal(rng.randint(10 ** (digits - 1), 10 ** digits - 1)).scaleb(rng.randint(-60, 40)) \
        .copy_sign(rng.choice([1, -1]))


def _written(value: Decimal):
    """as_tuple(), a zero's sign left out (the helper does not keep it; nothing reads it)."""
    sign, digits, exponent = value.as_tuple()
    return (0 if digits == (0,) else sign, digits, exponent)


def test_each_operation_rounds_as_the_decimal_context_does():
    rng = random.Random(SEED + 2)
    with localcontext(Context()):
        for _ in range(60_000):
            a, b = _operand(rng), _operand(rng)
            if rng.random() < 0.3:          # the same leading place: aligned digit by digit
                b = b.scaleb(a.adjusted() - b.adjusted())
            for op, want in (("+", a + b), ("*", a * b), ("/", a / b if b else None)):
                got = CORE.operate(op, a, b)
                if want is None:
                    assert got is None
                    continue
                assert got is not None and _written(got) == _written(want), (a, op, b, got, want)
            assert CORE.operate("<", a, b) == (a > b) - (a < b), (a, b)


def test_the_largest_remainder_is_amounts_allocate():
    """amounts.allocate against the helper's, with totals far above and below the values'
    sum (units handed out and taken back, the last listed first), ties and negative values."""
    from trimtab.dsl.amounts import allocate
    rng = random.Random(SEED + 3)
    answered = 0
    for _ in range(CASES):
        step, places = rng.choice(STEPS[:-1])
        scale = Scale(step, places, rng.choice(["half_up", "half_even"]))
        n = rng.randint(1, 10)
        value = _operand(rng).scaleb(-rng.randint(0, 10)) if rng.random() < 0.8 else Decimal(rng.randint(0, 10 ** 6))
        values = [value if rng.random() < 0.3 else Decimal(rng.randint(-10 ** 9, 10 ** 9)).scaleb(-rng.randint(0, 8))
                  for _ in range(n)]
        total = rng.choice([sum(values), sum(values) + rng.randint(-10 ** 6, 10 ** 6), _number(rng, signed=True)])
        try:
            want = allocate(values, scale, total)
        except ArithmeticError:
            want = None
        got = CORE.allocate(values, total, plan_of([Decimal(1)], None, scale))
        if got is not None:
            answered += 1
            assert want is not None and _same_amounts(got, want), (values, total, scale, got, want)
    assert answered > CASES * 0.5
