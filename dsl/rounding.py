"""round(x, 2), round(x, 万), round(x, 0.01万) and round_half_even(…): what they round to,
checked once and read by the compiler and the reference interpreter alike."""
from __future__ import annotations

from decimal import Decimal
from typing import Optional

from . import ast as A
from .amounts import MONEY_PLACES, scale_from
from .annotations import Annotations, Binding
from .types import NUMBER, Ty


def check_round(ck, node: A.Call, scope) -> Ty:
    """round(x, 2), round(x, 万), round(x, 0.01万): the value's type, rounded."""
    if len(node.args) != 2 or node.where is not None:
        ck.error("check.round_places", node.loc, name=node.spelled)
        return NUMBER
    ty = ck.expr(node.args[0], scope)
    how = round_arg(node.args[1])
    if how is None or not isinstance(node.args[1], A.Ref):
        ck.expr(node.args[1], scope)
    else:
        nid = scope.ann.add(node.args[1])
        scope.ann.bind(node.args[1], Binding("const", node.args[1].dotted, value=how[0]))
        scope.ann.types[nid] = Ty("number", "money")
    if how is None:
        ck.error("check.round_places", node.args[1].loc, name=node.spelled)
    elif how[2] and ty.kind == "number" and ty.dim != "money" and not ty.literal:
        arg = node.args[1]
        ck.error("check.scale_not_money", arg.loc,
                 text=arg.dotted if isinstance(arg, A.Ref) else getattr(arg, "text", ""))
    return Ty("number", ty.dim) if ty.kind == "number" else NUMBER


ROUNDING = {"round": "half_up", "round_half_even": "half_even"}   # function → its mode
_SCALE_WORDS = {"元": Decimal(1), "万": Decimal(10000), "万元": Decimal(10000)}


def round_arg(arg) -> Optional[tuple]:
    """What round(x, ARG) rounds to: (step, places or None, is money), or None.  A whole
    number is decimal places (2 → 0.01, -4 → 10000); 万, 元, 0.01万 are money steps."""
    sign = 1
    if isinstance(arg, A.Neg) and isinstance(arg.operand, A.Num):
        arg, sign = arg.operand, -1
    if isinstance(arg, A.Ref) and sign == 1 and arg.dotted in _SCALE_WORDS:
        return _SCALE_WORDS[arg.dotted], None, True
    if not isinstance(arg, A.Num):
        return None
    if arg.unit is None and isinstance(arg.value, int) and arg.value <= 10:
        places = sign * arg.value
        return Decimal(1).scaleb(-places), max(places, 0), False
    if arg.unit in ("yuan", "wan") and sign == 1 and arg.value > 0:
        return Decimal(arg.value), None, True
    return None


def round_scale(node: A.Call, ann: Annotations):
    """The amounts.Scale of a checked round(…) call: money keeps at least its two places."""
    step, places, money = A.given(round_arg(node.args[1]))
    money = money or ann.typed(node.args[0]).dim == "money"
    return scale_from(step, None if places is None else
                      max(places, MONEY_PLACES) if money else places, ROUNDING[node.func], money)
