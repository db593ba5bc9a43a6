"""The checker's expression pass: names resolved, every expression typed with its unit.

A mixin of Checker (checker.py): it uses the checker's error reporting and scopes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, TypeGuard

from . import ast as A
from .annotations import Annotations, Binding
from .diagnostics import suggest
from .keywords import BOOL_WORDS, FUNCTIONS
from .limits import MAX_EXPR_DEPTH
from .periods import INSIDE
from .rounding import ROUNDING, check_round
from .schemas import FieldType, FormSchema, spellings
from .types import BOOL, INTEGER, NUMBER, STRING, Ty
from .units import dimension

HISTORY_FUNCS = ("baseline", "previous", "change", "growth")
PERIOD_ZH = {"day": "日", "week": "周", "biweek": "双周", "month": "月", "quarter": "季度"}
AGGREGATES = ("average", "sum", "min", "max")


@dataclass
class Scope:
    rule: A.Rule
    form: FormSchema
    formulas: dict = field(default_factory=dict)     # name -> Ty
    item_list: Optional[FieldType] = None            # the list field of a `where`
    ann: Annotations = field(default_factory=Annotations)   # the rule's side tables


class ExprChecks:
    if TYPE_CHECKING:       # provided by Checker and LimitChecks, which this mixes into
        depth: int
        references: dict[str, A.Reference]

        def error(self, code: str, loc: A.Loc | None, width: int | None = None, **args: Any) -> None: ...
        def limit_num(self, num: A.Num) -> bool: ...
        def limit_count(self, n: int, loc: A.Loc, what: str, low: int = 1) -> bool: ...
        def plain_against_percent(self, left: A.Expr, lt: Ty, right: A.Expr, rt: Ty) -> bool: ...

    def condition(self, node: A.Expr, scope: Scope):
        ty = self.expr(node, scope)
        if ty.kind != "bool":
            self.error("check.not_a_condition", node.loc, found=ty.describe())

    def same_unit(self, a: Ty, b: Ty, loc, op) -> Ty:
        """The unit both sides share, or a unit-mismatch diagnostic."""
        if a.kind != b.kind:
            if {a.kind, b.kind} <= {"string", "date"}:
                return a
            self.error("check.type_mismatch", loc, expected=a.describe(), found=b.describe())
            return a
        if a.kind != "number" or a.dim == b.dim:
            return Ty(a.kind, a.dim, a.enum or b.enum, a.literal and b.literal,
                      a.integer and b.integer)
        if a.literal:
            return Ty("number", b.dim)
        if b.literal:
            return Ty("number", a.dim)
        words = {"compare": "compare", "+": "add", "-": "subtract"}
        self.error("check.unit_mismatch", loc, op=words.get(op, op), left=a.describe(),
                   right=b.describe())
        return a

    # ------------------------------------------------------------------ expressions
    def expr(self, node: A.Expr, scope: Scope, allow_word: bool = False) -> Ty:
        nid = scope.ann.add(node)
        if self.depth >= MAX_EXPR_DEPTH:
            # Refused here, before code generation or Python's compiler meet the depth.
            self.error("check.too_deep", node.loc, limit=MAX_EXPR_DEPTH)
            raise TooDeep
        self.depth += 1
        try:
            ty = scope.ann.types[nid] = getattr(self, "expr_" + type(node).__name__)(node, scope)
        finally:
            self.depth -= 1
        if not allow_word and _is_word(node, scope):
            # Only a comparison with an enumerated field can give a bare word a meaning.
            self.unresolved_word(node, scope)
            scope.ann.bind(node, Binding("const", node.dotted, value=node.dotted))
        return ty

    def expr_Num(self, node: A.Num, scope) -> Ty:
        self.limit_num(node)
        dim = dimension(node.unit)
        return Ty("number", dim, literal=dim is None, integer=isinstance(node.value, int))

    def expr_Str(self, node, scope) -> Ty:
        return STRING

    def expr_Ref(self, node: A.Ref, scope: Scope) -> Ty:
        head, rest = node.parts[0], node.parts[1:]
        form = scope.form
        if scope.item_list is not None and head in scope.item_list.items and not rest:
            f = scope.item_list.items[head]
            scope.ann.bind(node, Binding("item", head, f))
            return self.field_ty(f)
        if head in scope.formulas and not rest:
            scope.ann.bind(node, Binding("formula", head))
            return scope.formulas[head]
        if head in form.fields:
            f = form.fields[head]
            if not rest:
                scope.ann.bind(node, Binding("list" if f.kind == "array" else "field", head, f))
                return Ty("list") if f.kind == "array" else self.field_ty(f)
            if f.kind == "array" and len(rest) == 1 and rest[0] in f.items:
                scope.ann.bind(node, Binding("list_field", rest[0], f.items[rest[0]], f))
                return Ty("list")
            self.error("check.unknown_item_field", node.loc, name=".".join(rest), list=head,
                       suggestion=suggest(rest[0], spellings(f.items)))
            return NUMBER
        if head in self.references and len(rest) == 1:
            ref = self.references[head]
            num = ref.items.get(rest[0])
            if num is None:
                self.error("check.unknown_reference", node.loc, name=node.dotted,
                           suggestion=suggest(rest[0], ref.items))
                return NUMBER
            scope.ann.bind(node, Binding("const", node.dotted, value=num.value))
            return Ty("number", dimension(num.unit), integer=isinstance(num.value, int))
        if not rest and head in BOOL_WORDS:
            scope.ann.bind(node, Binding("const", head, value=BOOL_WORDS[head]))
            return BOOL
        if not rest:
            # A bare word may be a value of an enumerated field: `needs_report = complete`.
            scope.ann.bind(node, Binding("enum_word", head))
            return Ty("string", enum=("?",))
        names = spellings(form.fields) + list(scope.formulas) + list(self.references)
        self.error("check.unknown_field", node.loc, name=node.dotted, form=form.name,
                   suggestion=suggest(node.dotted, names))
        return NUMBER

    def field_ty(self, f) -> Ty:
        if f.kind in ("integer", "number"):
            return Ty("number", dimension(f.unit), integer=f.kind == "integer" and not f.unit)
        if f.kind == "boolean":
            return BOOL
        if f.kind == "string":
            return Ty("string", enum=tuple(f.enum) if f.enum else None)
        return Ty(f.kind)

    def unresolved_word(self, node, scope, enum_options=None, field_name=None):
        """Report a bare word that is neither a field nor (when given) an allowed value."""
        names = spellings(scope.form.fields) + list(scope.formulas)
        if scope.item_list is not None:
            names += spellings(scope.item_list.items)
        if enum_options:
            self.error("check.enum_value", node.loc, value=node.dotted, field=field_name,
                       options=", ".join(enum_options),
                       suggestion=suggest(node.dotted, list(enum_options) + names))
        else:
            self.error("check.unknown_field", node.loc, name=node.dotted, form=scope.form.name,
                       suggestion=suggest(node.dotted, names))

    def expr_Compare(self, node: A.Compare, scope: Scope) -> Ty:
        lt = self.expr(node.left, scope, allow_word=True)
        rt = self.expr(node.right, scope, allow_word=True)
        lw, rw = _is_word(node.left, scope), _is_word(node.right, scope)
        if lw or rw:
            self.resolve_words(node, lt, rt, lw, rw, scope)
        elif lt.kind == "number" or rt.kind == "number":
            if not self.plain_against_percent(node.left, lt, node.right, rt):
                self.same_unit(lt, rt, node.loc, "compare")
        elif lt.kind != rt.kind:
            self.error("check.type_mismatch", node.right.loc, expected=lt.describe(),
                       found=rt.describe())
        elif node.op not in ("=", "!=") and lt.kind in ("bool", "string"):
            self.error("check.type_mismatch", node.loc, expected="a number", found=lt.describe())
        else:
            self.check_enum_literal(node.left, node.right, lt, rt, scope)
        if node.consecutive is not None:
            self.needs_history(node.consecutive.unit, node.consecutive.loc, "consecutive", scope)
            self.limit_count(node.consecutive.n, node.consecutive.loc, "N", low=0)
        return BOOL

    def resolve_words(self, node, lt, rt, lw, rw, scope):
        if lw and rw:
            self.unresolved_word(node.left, scope)
            scope.ann.bind(node.left, Binding("const", node.left.dotted, value=node.left.dotted))
            return
        word, other, other_ty = (node.left, node.right, rt) if lw else (node.right, node.left, lt)
        if other_ty.kind == "string" and other_ty.enum and word.dotted in other_ty.enum:
            scope.ann.bind(word, Binding("const", word.dotted, value=word.dotted))
            scope.ann.types[scope.ann.id_of(word)] = Ty("string", enum=other_ty.enum)
        elif other_ty.kind == "string" and not other_ty.enum:
            self.unresolved_word(word, scope)
        else:
            self.unresolved_word(word, scope, other_ty.enum,
                                 getattr(scope.ann.binding(other), "name", "?"))
        if scope.ann.binding(word).kind == "enum_word":
            scope.ann.bind(word, Binding("const", word.dotted, value=word.dotted))

    def check_enum_literal(self, left, right, lt, rt, scope):
        for lit, other_ty, other in ((right, lt, left), (left, rt, right)):
            if isinstance(lit, A.Str) and other_ty.enum and lit.value not in other_ty.enum:
                self.error("check.enum_value", lit.loc, value=lit.value,
                           field=getattr(scope.ann.binding(other), "name", "?"),
                           options=", ".join(other_ty.enum), suggestion=suggest(lit.value, other_ty.enum))

    def needs_history(self, unit, loc, what, scope: Scope):
        form = scope.form
        if scope.item_list is not None:
            self.error("check.history_in_item", loc)
        elif form.period is None:
            self.error("check.no_history_for_form", loc, what=what, form=form.name)
        elif unit is not None and unit != form.period:
            self.error("check.period_mismatch", loc, form=form.name, actual=form.period, wanted=unit)

    def needs_coarser(self, window: A.Window, what: str, scope: Scope):
        """`this month` adds up the form's periods inside the current month: the form must
        have periods, and they must lie inside months (days do; weeks straddle them)."""
        self.needs_history(None, window.loc, what, scope)
        actual = scope.form.period
        if actual is not None and window.unit not in INSIDE.get(actual, ()):
            self.error("check.window_not_coarser", window.loc, form=scope.form.name,
                       unit=window.unit, unit_zh=PERIOD_ZH[window.unit],
                       actual=actual, actual_zh=PERIOD_ZH.get(actual, actual))

    def expr_BoolOp(self, node: A.BoolOp, scope) -> Ty:
        for item in node.items:
            self.condition(item, scope)
        return BOOL

    def expr_Not(self, node: A.Not, scope) -> Ty:
        self.condition(node.operand, scope)
        return BOOL

    def expr_Neg(self, node: A.Neg, scope) -> Ty:
        ty = self.expr(node.operand, scope)
        if ty.kind != "number":
            self.error("check.type_mismatch", node.loc, expected="a number", found=ty.describe())
        return ty

    def expr_PercentOf(self, node: A.PercentOf, scope) -> Ty:
        self.expr(node.percent, scope)
        ty = self.expr(node.operand, scope)
        if ty.kind != "number":
            self.error("check.type_mismatch", node.operand.loc, expected="a number",
                       found=ty.describe())
            return NUMBER
        return Ty("number", ty.dim, literal=ty.literal)

    def expr_Binary(self, node: A.Binary, scope) -> Ty:
        a, b = self.expr(node.left, scope), self.expr(node.right, scope)
        for side, ty in ((node.left, a), (node.right, b)):
            if ty.kind != "number":
                self.error("check.type_mismatch", side.loc, expected="a number", found=ty.describe())
                return NUMBER
        if node.op in ("+", "-"):
            return self.same_unit(a, b, node.loc, node.op)
        if node.op == "*":
            if a.dim in (None, "ratio"):
                return Ty("number", b.dim if b.dim else (a.dim if not a.literal else b.dim),
                          literal=a.literal and b.literal, integer=a.integer and b.integer)
            if b.dim in (None, "ratio"):
                return Ty("number", a.dim)
            self.error("check.unit_mismatch", node.loc, op="multiply", left=a.describe(),
                       right=b.describe())
            return NUMBER
        if isinstance(node.right, A.Num) and node.right.value == 0:
            self.error("check.zero_divisor", node.right.loc)
        if b.literal:
            return Ty("number", a.dim)              # 1000万 / 4 is money
        if a.dim == b.dim:
            return Ty("number", "ratio")            # money / money, visits / visits
        if b.dim == "ratio":
            return Ty("number", a.dim)
        if a.literal and b.dim is None:
            return Ty("number")
        self.error("check.unit_mismatch", node.loc, op="divide", left=a.describe(), right=b.describe())
        return NUMBER

    def expr_Call(self, node: A.Call, scope: Scope) -> Ty:
        func = node.func
        if not func:
            self.error("check.unknown_function", node.loc, width=len(node.spelled), name=node.spelled,
                       suggestion=suggest(node.spelled, [s for v in FUNCTIONS.values() for s in v]))
            return NUMBER
        args = node.args
        if node.window is not None:
            return self.window_call(node, scope)
        if func in HISTORY_FUNCS:
            if len(args) != 1 or node.where is not None or not self.is_form_number(args[0], scope):
                self.error("check.bad_arguments", node.loc, name=node.spelled,
                           expected="one numeric field of the form")
                return NUMBER
            self.needs_history(None, node.loc, node.spelled, scope)
            ty = scope.ann.typed(args[0])
            return Ty("number", "ratio") if func == "growth" else Ty("number", ty.dim)
        if func in ("count", "any", "all") or (func in AGGREGATES and self.is_list_arg(args, scope)):
            return self.list_call(node, scope)
        if node.where is not None:
            self.error("check.where_not_allowed", node.where.loc)
        if func == "abs" and len(args) == 1:
            ty = self.expr(args[0], scope)
            return ty if ty.kind == "number" else NUMBER
        if func in ROUNDING:
            return check_round(self, node, scope)
        if func in ("min", "max") and len(args) >= 2:
            tys = [self.expr(a, scope) for a in args]
            ty = tys[0]
            for other, arg in zip(tys[1:], args[1:]):
                ty = self.same_unit(ty, other, arg.loc, "compare")
            return ty
        self.error("check.bad_arguments", node.loc, name=node.spelled,
                   expected=_ARG_HELP.get(func, "other arguments"))
        return NUMBER

    def is_form_number(self, arg, scope) -> bool:
        ty = self.expr(arg, scope)
        b = scope.ann.binding(arg)
        return isinstance(arg, A.Ref) and b is not None and b.kind == "field" and ty.kind == "number"

    def is_list_arg(self, args, scope) -> bool:
        if len(args) != 1 or not isinstance(args[0], A.Ref):
            return False
        head = scope.form.fields.get(args[0].parts[0])
        return head is not None and head.kind == "array"

    def window_call(self, node: A.Call, scope: Scope) -> Ty:
        window = A.given(node.window)
        if window.so_far:
            self.needs_coarser(window, node.spelled, scope)
        else:
            self.needs_history(window.unit, window.loc, node.spelled, scope)
            if window.n < 1:
                self.error("check.bad_interval", window.loc, what="window", unit=window.unit)
            else:
                self.limit_count(window.n, window.loc, "N")
        if len(node.args) != 1 or node.where is not None:
            self.error("check.bad_arguments", node.loc, name=node.spelled,
                       expected="(field, last N periods)")
            return NUMBER
        arg = node.args[0]
        if node.func == "count":
            self.condition(arg, scope)
            return INTEGER
        if node.func not in AGGREGATES:
            self.error("check.bad_arguments", node.loc, name=node.spelled,
                       expected=_ARG_HELP.get(node.func, "other arguments"))
            return NUMBER
        ty = self.expr(arg, scope)
        if ty.kind != "number":
            self.error("check.window_needs_field", arg.loc)
            return NUMBER
        return Ty("number", ty.dim)

    def list_call(self, node: A.Call, scope: Scope) -> Ty:
        func, args = node.func, node.args
        if len(args) != 1 or not isinstance(args[0], A.Ref):
            self.error("check.bad_arguments", node.loc, name=node.spelled,
                       expected=_ARG_HELP[func])
            return NUMBER
        self.expr(args[0], scope)
        b = scope.ann.binding(args[0])
        if b is None or b.kind not in ("list", "list_field"):
            self.error("check.not_a_list", args[0].loc, name=args[0].dotted, form=scope.form.name,
                       suggestion=suggest(args[0].dotted, spellings(scope.form.fields, "array")))
            return NUMBER
        lst = b.field if b.kind == "list" else b.list_field
        if node.where is not None:
            self.condition(node.where, Scope(scope.rule, scope.form, scope.formulas, lst, scope.ann))
        elif func in ("any", "all"):
            self.error("check.bad_arguments", node.loc, name=node.spelled, expected=_ARG_HELP[func])
        if func == "count":
            return INTEGER
        if func in ("any", "all"):
            return BOOL
        if b.kind != "list_field" or b.field.kind not in ("integer", "number"):
            self.error("check.bad_arguments", node.loc, name=node.spelled, expected=_ARG_HELP[func])
            return NUMBER
        return self.field_ty(b.field)


_ARG_HELP = {
    "average": "(field, last N periods) or (list.field [where …])",
    "sum": "(field, last N periods) or (list.field [where …])",
    "min": "(a, b, …), (field, last N periods) or (list.field [where …])",
    "max": "(a, b, …), (field, last N periods) or (list.field [where …])",
    "count": "(list [where …]) or (condition, last N periods)",
    "any": "(list where condition)", "all": "(list where condition)",
    "abs": "(number)",
    "round": "(number, places)", "round_half_even": "(number, places)",
}


class TooDeep(Exception):
    """Unwinds the checks of a rule whose expression is too deep, once that is reported."""


def _is_word(node, scope: Scope) -> TypeGuard[A.Ref]:
    if not isinstance(node, A.Ref):
        return False
    b = scope.ann.binding(node)
    return b is not None and b.kind == "enum_word"
