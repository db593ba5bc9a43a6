"""The checker's unit traps: a plain number compared with a percentage.

`pipeline_coverage < 75` passes the unit rules (a plain number takes the other side's unit)
and means 7,500%: percentages are fractions.  So a plain number on the other side of a
percentage is an error with the fix (`75%`), unless it can only mean a fraction: 0, or a
number written with a point and smaller than 1 (`< 0.75` is 75%, unambiguous).  Arithmetic
is left alone: `1 + industry_growth` is the idiom for growing by a rate.

A mixin of Checker (checker.py), called by the expression pass (check_exprs.py).
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import ast as A
from .types import Ty


def plain_number(node: A.Expr) -> A.Num | None:
    """The literal of `75` or `-20` written without a unit, or None."""
    inner = node.operand if isinstance(node, A.Neg) else node
    if isinstance(inner, A.Num) and inner.unit is None:
        return inner
    return None


def reads_as_fraction(num: A.Num) -> bool:
    """0 and 0.75 can only be fractions; 75, 1 and 1.5 may mean percents."""
    value = Decimal(num.value)
    return value == 0 or ("." in num.text and abs(value) < 1)


class UnitChecks:
    if TYPE_CHECKING:       # provided by Checker
        def error(self, code: str, loc: A.Loc | None, width: int | None = None, **args: Any) -> None: ...

    def plain_against_percent(self, left: A.Expr, lt: Ty, right: A.Expr, rt: Ty) -> bool:
        """Report a plain number on one side of a percentage; True when one was reported."""
        for num_side, other, other_ty in ((right, left, lt), (left, right, rt)):
            num = plain_number(num_side)
            if num is None or other_ty.kind != "number" or other_ty.dim != "ratio" \
                    or other_ty.literal or reads_as_fraction(num):
                continue
            sign = "-" if isinstance(num_side, A.Neg) else ""
            written = f"{sign}{num.text or num.value}"
            shown = f"{sign}{(Decimal(num.value) * 100).normalize():f}%"
            name = f"`{other.dotted}`" if isinstance(other, A.Ref) else None
            self.error("check.plain_number_vs_percent", num_side.loc, value=written, shown=shown,
                       name=name or "the other side", name_zh=name or "另一侧")
            return True
        return False

    def plain_percent_example(self, num: A.Num, field: str) -> bool:
        """`example pipeline_coverage = 70 → …`: the same trap in an example; True if reported."""
        if num.unit is not None or reads_as_fraction(num):
            return False
        written = num.text or str(num.value)
        self.error("check.plain_number_vs_percent", num.loc, value=written,
                   shown=f"{(Decimal(num.value) * 100).normalize():f}%",
                   name=f"`{field}`", name_zh=f"`{field}`")
        return True
