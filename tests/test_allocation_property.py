"""Split and pool children sum exactly to the parent at the rule's scale (issue #15), on
10,000 random cases each: raw weights, adjustments with rebalancing, scales from 0.01 元 to
万, both rounding modes.  The functions are the ones the compiled rules and the reference
interpreter call (kinds/split.split_shares, kinds/pool.pool_shares)."""
from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from trimtab.dsl.amounts import Scale, round_to
from trimtab.dsl.kinds.pool import pool_shares
from trimtab.dsl.kinds.split import split_shares

# About 50 s of CPU for the 20,000 cases (hypothesis's generation dominates): a slow test.
pytestmark = pytest.mark.slow

CASES = settings(max_examples=10_000, derandomize=True, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])

money = st.decimals(min_value=0, max_value=10 ** 12, places=2, allow_nan=False,
                    allow_infinity=False)
raw = st.decimals(min_value=0, max_value=10 ** 6, places=3, allow_nan=False,
                  allow_infinity=False)
scales = st.builds(Scale, st.sampled_from([Decimal("0.01"), Decimal(1), Decimal(10000)]),
                   st.just(2), st.sampled_from(["half_up", "half_even"]))
adjustment = st.one_of(st.just(0), st.decimals(min_value=Decimal("-0.3"), max_value=Decimal("0.3"),
                                               places=3, allow_nan=False, allow_infinity=False))


def _on_scale(values, scale) -> bool:
    return all((Decimal(v) / scale.step) == (Decimal(v) / scale.step).to_integral_value()
               for v in values)


@CASES
@given(total=money, rows=st.lists(st.tuples(raw, raw, raw), min_size=1, max_size=12),
       adjust=st.lists(adjustment, min_size=12, max_size=12), scale=scales)
def test_split_children_sum_to_the_parent(total, rows, adjust, scale):
    weights = [Decimal("0.5"), Decimal("0.3"), Decimal("0.2")]
    band = SimpleNamespace(band=Decimal("0.15"), limit=Decimal("0.3"), rebalance=True)
    n = len(rows)
    got = split_shares(total, rows, weights, adjust[:n], [False] * n, list(range(n)), band, scale)
    if got is None:                 # every weight's column is zero: nothing to share by
        assert all(not any(r) for r in rows)
        return
    finals, bases, _violations = got
    parent = round_to(total, scale)
    assert sum(bases) == parent and sum(finals) == parent
    assert _on_scale(bases, scale) and _on_scale(finals, scale)
    # Rounding moves no child by a full step or more from its exact share.
    fine = split_shares(total, rows, weights, None, None, None, None, Scale(Decimal("1E-6"), 6))
    assert fine is not None
    assert all(abs(b - e) < scale.step + Decimal("1E-6") for b, e in zip(bases, fine[0]))


@CASES
@given(size=money, contributions=st.lists(raw, min_size=1, max_size=12), scale=scales)
def test_pool_shares_sum_to_the_size(size, contributions, scale):
    whole = sum(contributions, Decimal(0))
    if not whole:
        return
    shares, rounded = pool_shares(size, contributions, whole, scale)
    assert rounded == round_to(size, scale)
    assert sum(shares) == rounded and _on_scale(shares, scale)
