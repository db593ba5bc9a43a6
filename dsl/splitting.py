"""A split's shares (kinds/split): the Python reference, and the optional C helper that gives
the same shares faster.

`split_shares` asks the helper (trimtab.dsl._splitcore, built by setup.py where a C compiler is
there) first; it answers with the very Amounts `split_shares_py` gives, or with None where it
cannot vouch for that (an operand past 28 digits, another decimal context, a scale not a
power of ten, anything the Python path refuses), and then `split_shares_py` decides.  Set
TRIMTAB_PURE_PYTHON=1 to have the Python path decide every split.
"""
from __future__ import annotations

import os
from decimal import Decimal
from functools import lru_cache

from .amounts import MODES, Amount, allocate, power_of_ten

try:
    from . import _splitcore  # type: ignore[attr-defined]   # a C module, no stubs
except ImportError:         # built without a compiler (setup.py's extension is optional)
    _splitcore = None

# The helper, or None: the Python path alone (TRIMTAB_PURE_PYTHON=1, or no helper built).
CORE = None if os.environ.get("TRIMTAB_PURE_PYTHON") else _splitcore


def split_shares(total, rows, weights, adjustments, blanks, keys, adjust, scale, plan=None):
    """(finals, bases, violations), or None when no weight has any score to share by; `plan`
    is plan_of(weights, adjust, scale), made once by a compiled rule (worked out here if None)."""
    core = CORE
    if core is not None:
        if plan is None:
            plan = plan_of(weights, adjust, scale)
        if plan:
            got = core.shares(total, rows, plan, adjustments, blanks, keys)
            if got is not None:
                return got
    return split_shares_py(total, rows, weights, adjustments, blanks, keys, adjust, scale)


def plan_of(weights, adjust, scale, fields=None):
    """The rule's constants as the helper reads them, or False (no helper built, or a split
    it leaves to the Python path whatever the facts); used only while CORE is set.
    `fields`: the weights' item fields, for a helper given the list's items, not rows."""
    shift = power_of_ten(scale.step)
    if _splitcore is None or shift is None or scale.mode not in MODES:
        return False
    got = _splitcore.plan(list(weights), shift, scale.places, scale.mode == "half_up",
                          None if adjust is None else adjust.band, None if adjust is None else adjust.limit,
                          adjust is not None and adjust.rebalance, Amount, fields)
    return False if got is None else got


def split_shares_py(total, rows, weights, adjustments, blanks, keys, adjust, scale):
    """(finals, bases, violations), or None when no weight has any score to share by: the
    reference the C helper is held to.

    Each weight's column is normalised (a child's value over the column's sum), so raw inputs
    (potential in 万, headcounts, priority points) count by the stated weights; a column that
    is zero for every child drops out and the other weights share its part."""
    if not rows:
        return None
    # Decimal + int converts the int exactly, as Decimal(int) would: the sums are the same.
    sums = [sum(column, ZERO) for column in zip(*rows)]
    live = [j for j, s in enumerate(sums) if s]
    tw = sum((weights[j] for j in live), ZERO)
    if not tw:
        return None
    # Per column, one factor: the parent's share per unit of that column's score (a division
    # per column instead of one per child and column; allocation absorbs the last digit).
    factors = [total * weights[j] / (sums[j] * tw) for j in live]
    if len(live) == len(weights):       # each row's weighted sum, added in the column order
        exact = _weighted_sums(len(weights))(rows, *factors)
    else:
        exact = [sum([k * r[j] for j, k in zip(live, factors)]) for r in rows]
    bases = allocate(exact, scale, total)
    if adjust is None:
        return bases, bases, []
    violations = []
    for key, a, blank in zip(keys, adjustments, blanks):
        if adjust.limit is not None and abs(a) > adjust.limit:
            violations.append((key, a, "beyond_limit"))
        elif abs(a) > adjust.band and blank:
            violations.append((key, a, "reason_required"))
    finals = [b * (1 + a) for b, a in zip(exact, adjustments)]
    if not adjust.rebalance:
        return allocate(finals, scale), bases, violations
    return allocate(_rebalanced(finals, exact, adjustments, total), scale, total), bases, violations


ZERO = Decimal(0)


@lru_cache(maxsize=None)
def _weighted_sums(width: int):
    """rows, k0, k1, … → [k0 * r[0] + k1 * r[1] + …] for rows of `width` scores: one list
    comprehension with the products written out (a generator and a sum per row cost more
    than the arithmetic).  The additions are sum()'s, in its order, from its int 0 (which
    gives a zero share the exponent sum() gives it: allocate's digit check reads it)."""
    names = [f"r{j}" for j in range(width)]
    expr = "0 + " + " + ".join(f"k{j} * {n}" for j, n in enumerate(names))
    source = (f"def weighted(rows, {', '.join(f'k{j}' for j in range(width))}):\n"
              f"    return [{expr} for {', '.join(names)}, in rows]\n")
    space: dict = {}
    exec(source, space)          # generated from the template above only
    return space["weighted"]


def _rebalanced(finals, bases, adjustments, total):
    """The children nobody adjusted absorb the difference, in proportion to their shares; when
    every child was adjusted (or the others have none), all are scaled to the total."""
    free = {i for i, a in enumerate(adjustments) if not a}
    room = sum((bases[i] for i in free), Decimal(0))
    if room:
        gap = total - sum(finals, Decimal(0))
        return [f + gap * bases[i] / room if i in free else f for i, f in enumerate(finals)]
    have = sum(finals, Decimal(0))
    return [f * total / have for f in finals] if have else finals
