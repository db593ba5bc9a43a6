"""Amounts at a stated scale: rounding with a named mode, and shares that add up.

A split or a pool divides a parent exactly (28 digits), then rounds its children to the rule's
scale (0.01 元 unless the rule says `round to 万` etc.) by the largest-remainder method: every
child is rounded down to the scale, and the units still missing to reach the parent (itself
rounded to the scale) go one each to the children with the largest remainders; ties go to the
child listed first.  The children then sum to the parent exactly, whatever the weights.

Rounding is half-up (四舍五入, what finance expects) unless a rule asks for half-even
(banker's rounding).  A rounded value is an `Amount`: a Decimal that keeps its places, which
JSON carries as a decimal string with exactly those places (words.plain).
"""
from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import NamedTuple, Optional, Sequence

MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}
MONEY_PLACES = 2                    # 元 with 分: money is always written with two places
CENT = Decimal("0.01")
AMOUNT_DIGITS = 28                  # the decimal context's precision: an amount's units fit in it


class Amount(Decimal):
    """A number rounded to a stated scale.  Arithmetic on it gives a plain Decimal: a sum of
    rounded values is not itself a stated rounding."""

    __slots__ = ()

    @property
    def places(self) -> int:
        exponent = self.as_tuple().exponent
        return max(0, -exponent) if isinstance(exponent, int) else 0


class Scale(NamedTuple):
    """How a rule rounds: the step (in the canonical unit: 元 for money), the places a rounded
    value is written with, and the mode."""
    step: Decimal
    places: int
    mode: str = "half_up"


def places_of(step: Decimal, money: bool) -> int:
    """The places a value rounded to `step` is written with: the step's own, and at least
    two for money (10200000.00 元 even when rounded to 万)."""
    exponent = step.normalize().as_tuple().exponent
    own = max(0, -exponent) if isinstance(exponent, int) else 0
    return max(own, MONEY_PLACES) if money else own


def default_scale(money: bool) -> Scale:
    """A split's or a pool's scale when its rule states none: 0.01 (元 for money)."""
    return Scale(CENT, places_of(CENT, money))


def round_to(value, scale: Scale) -> Amount:
    """`value` rounded to a multiple of the scale's step, written with its places."""
    units = (Decimal(value) / scale.step).to_integral_value(rounding=MODES[scale.mode])
    return _written(units * scale.step, scale.places)


def round_places(value, places: int, mode: str = "half_up") -> Amount:
    """round(x, 2): `value` rounded to `places` decimals (negative: to tens, hundreds …)."""
    step = Decimal(1).scaleb(-places)
    return round_to(value, Scale(step, max(places, 0), mode))


def allocate(values: Sequence, scale: Scale, total=None) -> list:
    """`values` rounded to the scale so that they sum exactly to `total` (default: their own
    sum) rounded to the scale — the largest-remainder method (see the module's doc)."""
    exact = [v if v.__class__ is Decimal else Decimal(v) for v in values]
    whole = sum(exact, Decimal(0)) if total is None else Decimal(total)
    shift = power_of_ten(scale.step)
    if shift is not None:           # a step of 10^-shift: the units are an exact shift away
        units = [v.scaleb(shift) for v in exact]
        wanted = whole.scaleb(shift)
    else:
        units = [v / scale.step for v in exact]
        wanted = whole / scale.step
    if wanted.adjusted() >= AMOUNT_DIGITS or (units and max([u.adjusted() for u in units]) >= AMOUNT_DIGITS):
        # past what an amount holds at this step (quantize would refuse it too): the rule's
        # eval.out_of_range, before an int of a million digits is made
        raise InvalidOperation(f"an amount beyond {AMOUNT_DIGITS} digits at step {scale.step}")
    floors = [math.floor(u) for u in units]             # ints
    left = int(wanted.to_integral_value(MODES[scale.mode])) - sum(floors)     # positional: cheaper
    if units and left:
        # Largest remainder first; sorted() is stable, so ties go to the item listed first.
        below = [f - u for f, u in zip(floors, units)]
        order = sorted(range(len(units)), key=below.__getitem__)
        if left < 0:                # only when `total` is below the values' sum
            order = order[::-1]
        # Usually |left| < len(units); a total far from the values' sum (28 digits cannot hold
        # it at this step) spreads the whole rounds evenly first — never a loop per unit.
        rounds, extra = divmod(abs(left), len(order))
        step = 1 if left > 0 else -1
        for k, i in enumerate(order):
            floors[i] += step * (rounds + (k < extra))
    return _all_written(floors, scale, shift)


def _all_written(floors: list, scale: Scale, shift: Optional[int]) -> list:
    """Each count of steps as an Amount.  quantize, not scaleb: an amount past 28 digits must
    fail here (the rule's out_of_range).  For a step of 10^-shift, an amount that fits is
    read from its digits instead, which gives the same Decimal (the step's exponent, or the
    places' when they are more) at a fraction of the cost."""
    if shift is not None and floors:
        pad = scale.places - shift                  # zeros after the count's digits
        if 0 <= pad <= AMOUNT_DIGITS and -_FITS[pad] < min(floors) and max(floors) < _FITS[pad]:
            tail = "0" * pad + f"E-{scale.places}"
            return [Amount(f"{f}{tail}") for f in floors]
    return [_written(f * scale.step, scale.places) for f in floors]


# The counts of steps whose digits, padded with `pad` zeros, fit in an amount's 28 digits.
_FITS = [10 ** (AMOUNT_DIGITS - pad) for pad in range(AMOUNT_DIGITS + 1)]


def amount_sum(values: Sequence, places: int) -> Amount:
    """The sum of amounts, written with their places."""
    return _written(sum(values, Decimal(0)), places)


@lru_cache(maxsize=64)
def power_of_ten(step: Decimal) -> Optional[int]:
    """-e when `step` is 10^e (0.01 → 2): dividing by it is then an exact, cheap shift."""
    sign, digits, exponent = step.normalize().as_tuple()
    return -exponent if digits == (1,) and not sign and isinstance(exponent, int) else None


def _written(value: Decimal, places: int) -> Amount:
    return Amount(value.quantize(Decimal(1).scaleb(-places)))


def scale_from(step: Optional[Decimal], places: Optional[int], mode: str, money: bool) -> Scale:
    """The scale a rule states (`round to 万`), or the default for its kind of number."""
    if step is None:
        return default_scale(money)._replace(mode=mode)
    return Scale(step, places_of(step, money) if places is None else places, mode)
