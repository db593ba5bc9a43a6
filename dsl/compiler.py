"""Stage 4: checked AST → Python functions.

Each rule becomes generated Python source, compiled once when the rule set loads.  Field
reads are hoisted and type-checked once; decimal constants become closure cells; comparisons
run as plain Python operators.  The traced variant of the same body records a trace: the
value of every comparison and clause, by node id, for the explanation.  This module writes
the body (RuleCompiler, with each kind's compile hook); functions.py makes the functions.

Safety: the source is built only from our own templates.  Names from rule files and schemas
enter it only as values passed to the rule's factory (see const()); rule text never becomes code.
"""
from __future__ import annotations

import re
from decimal import Decimal

from . import ast as A
from .annotations import Annotations
from .amounts import round_to
from .check_exprs import HISTORY_FUNCS
from .rounding import ROUNDING, round_scale
from .trace import Valued
from .kinds import KINDS
from .limits import MAX_RULE_SOURCE
from .units import UNITS

_PY_OP = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_PY_KINDS = {"string": "str", "date": "str", "boolean": "bool", "array": "list"}
_NAME = re.compile(r"[A-Za-z_]\w*")          # a bare name: a local or a constant


class TooComplex(Exception):
    """The rule's generated code would exceed MAX_RULE_SOURCE characters."""


class Ctx:
    """Where field reads come from: the current facts (hoisted locals) or a history entry."""

    def __init__(self, entry: str | None = None, history: str = "h"):
        self.entry = entry          # None: the current facts; else a Python expression
        self.history = history      # the history before that entry


CURRENT = Ctx()


def _scale(field) -> int | Decimal:
    return UNITS[field.unit][1] if field.unit and field.unit != "percent" else 1


class RuleCompiler:
    def __init__(self, rule: A.Rule, ann: Annotations, traced: bool, value_only: bool = False):
        self.rule = rule
        self.ann = ann                  # the checker's side tables: ids, types, bindings
        self.traced = traced
        self.value_only = value_only    # return the headline value alone (the `decide` path)
        self.const_prefix = "T" if traced else ("V" if value_only else "")
        self.consts: dict[str, object] = {}
        self.reads: dict[str, str] = {}         # field -> local variable
        self.read_fields: list[tuple] = []      # (local variable, field, its name's constant)
        self.formulas: dict[str, A.Formula] = {f.name: f for f in rule.formulas}
        self.formula_vars: dict[str, str] = {}
        self.depth = 0
        self.walrus = 0
        self.lines: list[str] = []
        self.history_memo: dict[int, bool] = {}
        self.folded: dict[int, A.Expr] = {}     # clause node id -> a verdict left unrecorded
        # clause node id -> (its part of the result, the local set once it ran, its value's
        # local): a record the kind works out from its result when read (kinds/score.derived)
        self.derived: dict[int, tuple] = {}

    # ------------------------------------------------------------------ small pieces
    def const(self, value) -> str:
        """Every value a rule brings (numbers, texts, field names, line numbers) becomes a
        parameter of the rule's factory (see compile_rule), so the generated source depends
        only on the rule's shape: rules that differ only in values share compiled code."""
        if value is None:
            return "None"
        key = f"{self.const_prefix}C{len(self.consts)}"
        self.consts[key] = value
        return key

    def read_current(self, field) -> str:
        """A field of the current facts: read once, at the top of the function (read_block)."""
        var = self.reads.get(field.name)
        if var is None:
            var = self.reads[field.name] = f"x{len(self.reads)}"
            self.read_fields.append((var, field, self.const(field.name)))
        return var

    def check_line(self, var: str, field, name: str) -> str:
        """`var`, read from the facts, made the field's exact kind or a RuleError."""
        if field.kind == "integer":
            return f"if {var}.__class__ is not int: {var} = as_integer({var}, {name}, R)"
        if field.kind == "number":
            return (f"if {var}.__class__ is not D and {var}.__class__ is not int: "
                    f"{var} = as_number({var}, {name}, R)")
        cls = _PY_KINDS[field.kind]
        return f"if {var}.__class__ is not {cls}: {var} = as_kind({var}, {self.const(field.kind)}, {name}, R)"

    def read_block(self) -> list[str]:
        """The reads of the current facts, at the top of the function, one by one in the
        order the rule uses them, each checked and scaled to its canonical unit: a missing or
        mistyped field is the rule's error whichever clause needs it.  (Reading them with one
        itemgetter and checking their types against a set of signatures was measured: three
        times slower.)

        Facts the caller vouches for (`valid`: validated against the form's schema, e.g. by
        dsl/decode.py's decoder or the server's intake) already have each field's exact type,
        so that branch reads without the checks — about 130 instructions a field — except
        for a field whose schema admits more than one type (null, say)."""
        checked, trusted = [], []
        for var, field, name in self.read_fields:
            read = self.fetch_line(var, field, name)
            scale = [f"{var} = {var} * {self.const(_scale(field))}"] if _scale(field) != 1 else []
            check = [self.check_line(var, field, name)]
            checked += [read, *check, *scale]
            trusted += [read, *(check if not field.exact_type else []), *scale]
        if trusted == checked:
            return checked
        return (["if valid:"] + [f"    {line}" for line in trusted]
                + ["else:"] + [f"    {line}" for line in checked])

    def fetch_line(self, var: str, field, name: str) -> str:
        """`var` = the field of the facts; missing, the form's default when it gives one."""
        if field.default is None:
            return f"{var} = f[{name}]"
        return f"{var} = f.get({name}, {self.const(field.default)})"

    def read_entry(self, field, entry: str, valid: bool = False) -> str:
        """A field of a list item or history entry; `valid`: of facts the caller vouches for
        (read_block), so a list item's field of one exact type is read as it is."""
        scale = _scale(field)
        if field.default is not None:
            return f"read({entry}, {self.const(field.name)}, {self.const(field.kind)}, {self.const(scale)}, R, " \
                   f"{self.const(field.default)})"
        if valid and field.exact_type and scale == 1 and entry.startswith("it"):
            return f"{entry}[{self.const(field.name)}]"
        if field.kind in ("number", "integer") and scale == 1 and entry.startswith("it"):
            # List items are read inline: a call per item field would double a split's cost.
            w, key = f"w{self.walrus}", self.const(field.name)
            self.walrus += 1
            fix = "as_number" if field.kind == "number" else "as_integer"
            ok = f"{w}.__class__ is int" if field.kind == "integer" else \
                f"{w}.__class__ is D or {w}.__class__ is int"
            return f"({w} if ({ok} if ({w} := {entry}[{key}]) is not None else False) " \
                   f"else {fix}({w}, {key}, R))"
        return f"read({entry}, {self.const(field.name)}, {self.const(field.kind)}, {self.const(scale)}, R)"

    def number_as_is(self, field) -> bool:
        """Whether read_entry reads this list item field as the int or Decimal it holds, any
        other value going to as_number (no default, no unit's scale): what the C helper of
        the split reads in its place (splitting.py)."""
        return field.default is None and field.kind == "number" and _scale(field) == 1

    def item_var(self) -> str:
        return f"it{self.depth}"

    # ------------------------------------------------------------------ expressions
    def gen(self, node: A.Expr, ctx: Ctx = CURRENT) -> str:
        code = getattr(self, "gen_" + type(node).__name__)(node, ctx)
        if len(code) > MAX_RULE_SOURCE:     # windows and formulas inside windows repeat code
            raise TooComplex(self.rule.name)
        return code

    def gen_Num(self, node: A.Num, ctx) -> str:
        return self.const(node.value)

    def gen_Str(self, node: A.Str, ctx) -> str:
        return self.const(node.value)

    def gen_Ref(self, node: A.Ref, ctx) -> str:
        b = self.ann.bound(node)
        if b.kind == "const":
            return self.const(b.value)
        if b.kind == "formula":
            if ctx.entry is None:
                return self.formula_vars[b.name]
            return "(" + self.gen(self.formulas[b.name].expr, ctx) + ")"
        if b.kind == "item":
            return self.read_entry(b.field, f"it{self.depth - 1}")
        if b.kind in ("field", "list"):
            if ctx.entry is None:
                return self.read_current(b.field)
            return self.read_entry(b.field, ctx.entry)
        raise AssertionError(f"unexpected binding {b.kind}")

    def gen_Binary(self, node: A.Binary, ctx) -> str:
        a, b = self.gen(node.left, ctx), self.gen(node.right, ctx)
        if node.op == "/":
            return f"div({a}, {b}, R, {self.const(node.loc.line)})"
        return f"({a} {node.op} {b})"

    def gen_Neg(self, node: A.Neg, ctx) -> str:
        return f"(-{self.gen(node.operand, ctx)})"

    def gen_PercentOf(self, node: A.PercentOf, ctx) -> str:
        return f"({self.const(node.percent.value)} * {self.gen(node.operand, ctx)})"

    def gen_BoolOp(self, node: A.BoolOp, ctx) -> str:
        return "(" + f" {node.op} ".join(self.gen(i, ctx) for i in node.items) + ")"

    def gen_Not(self, node: A.Not, ctx) -> str:
        return f"(not {self.gen(node.operand, ctx)})"

    def gen_Compare(self, node: A.Compare, ctx) -> str:
        code = self.compare_once(node, ctx)
        if node.consecutive is not None and ctx.entry is None:
            n = node.consecutive.n
            inner = Ctx("h[i]", "h[:i]")
            test = self.compare_plain(node, inner)
            code = f"consecutive({code}, h, {self.const(n)}, lambda i: {test}, R)"
        if self.uses_history(node) or (node.consecutive is not None and ctx.entry is None):
            if self.traced and ctx.entry is None:
                return f"guarded_traced(T, {self.ann.id_of(node)}, lambda: {code})"
            return f"guarded(lambda: {code})"
        return code

    def compare_plain(self, node: A.Compare, ctx) -> str:
        return f"({self.gen(node.left, ctx)} {_PY_OP[node.op]} {self.gen(node.right, ctx)})"

    def compare_once(self, node: A.Compare, ctx) -> str:
        if self.traced and ctx.entry is None and self.depth == 0:
            # Inline record: a plain tuple tagged with its type (trace.Compared: node id, left,
            # right), typed when someone reads the trace, which works out the result from the
            # two sides again (Decision.trace).  `T.append(…)` written out each time is
            # specialised by CPython 3.11 to a direct append, cheaper than a bound
            # `ap = T.append` (a method object per call, a generic call per record).
            left, right = self.gen(node.left, ctx), self.gen(node.right, ctx)
            # A side that is a bare name (a local, a constant) is used as it is; another is
            # computed once into tl / tr.
            lv, rv = (x if _NAME.fullmatch(x) else t for x, t in ((left, "tl"), (right, "tr")))
            lw, rw = (x if _NAME.fullmatch(x) else f"({t} := {x})" for x, t in ((left, "tl"), (right, "tr")))
            return (f"(T.append((CMP, {self.ann.id_of(node)}, {lw}, {rw})) "
                    f"or {lv} {_PY_OP[node.op]} {rv})")
        return self.compare_plain(node, ctx)

    def gen_Call(self, node: A.Call, ctx) -> str:
        func, line = node.func, self.const(node.loc.line)
        if node.window is not None:
            return self.gen_window(node, ctx)
        if func in HISTORY_FUNCS:
            field = self.ann.bound(node.args[0]).field
            args = (f"{ctx.history}, {self.const(field.name)}, {self.const(field.kind)}, "
                    f"{self.const(_scale(field))}, R")
            default = "" if field.default is None else f", {self.const(field.default)}"
            if func == "baseline":
                if ctx.history == "h[:i]":      # the history before period i: no copy of it
                    return f"baseline(h{args[len(ctx.history):]}, {line}{default}, upto=i)"
                return f"baseline({args}, {line}{default})"
            prior = f"previous({args}{default})"
            if func == "previous":
                return prior
            current = self.gen(node.args[0], ctx)
            if func == "change":
                return f"({current} - {prior})"
            return f"growth({current}, {prior}, R, {self.const(field.name)})"
        if func in ROUNDING:
            scale = round_scale(node, self.ann)
            return f"{self.const(round_to)}({self.gen(node.args[0], ctx)}, {self.const(scale)})"
        if func in ("abs", "min", "max") and node.args and not self.is_list(node.args[0]):
            return f"{func}({', '.join(self.gen(a, ctx) for a in node.args)})"
        return self.gen_list_call(node, ctx)

    def gen_list_call(self, node: A.Call, ctx) -> str:
        b = self.ann.bound(node.args[0])
        lst = b.field if b.kind == "list" else b.list_field
        source = self.read_current(lst) if ctx.entry is None else self.read_entry(lst, ctx.entry)
        it = self.item_var()
        self.depth += 1
        try:
            cond = self.gen(node.where, ctx) if node.where is not None else None
            value = self.read_entry(b.field, it) if b.kind == "list_field" else None
        finally:
            self.depth -= 1
        filt = f" if {cond}" if cond else ""
        func, line = node.func, self.const(node.loc.line)
        if func == "count":
            return f"sum(1 for {it} in {source}{filt})"
        if func in ("any", "all"):
            return f"{func}({cond} for {it} in {source})"
        values = f"[{value} for {it} in {source}{filt}]"
        if func == "sum":
            return f"sum({values})"
        helper = {"average": "average", "min": "minimum", "max": "maximum"}[func]
        return f"{helper}({values}, R, {line})"

    def gen_window(self, node: A.Call, ctx) -> str:
        window = A.given(node.window)
        n, line = window.n, self.const(window.loc.line)
        arg = node.args[0]
        current = self.gen(arg, ctx)
        earlier = n - 1
        entry = Ctx("h[i]", "h[:i]")
        # The window is the calendar's last N periods: a Gap in it contributes nothing.
        rng = f"range(max(0, len(h) - {self.const(earlier)}), len(h))"
        if window.so_far:       # `this month`: as many as lie in it before the current period
            earlier = 1
            rng = f"range(max(0, len(h) - so_far(SCHEMA, f, {self.const(window.unit)}, R)), len(h))"
        if node.func == "count":
            test = self.gen(arg, entry)
            tail = f" + sum(1 for i in {rng} if present(h[i]) and {test})" if earlier else ""
            return f"(int(bool({current})){tail})"
        values = f"[{current}]"
        if earlier:
            values = f"([{current}] + [{self.gen(arg, entry)} for i in {rng} if present(h[i])])"
        if node.func == "sum":
            return f"sum({values})"
        helper = {"average": "average", "min": "minimum", "max": "maximum"}[node.func]
        return f"{helper}({values}, R, {line})"

    def is_list(self, node) -> bool:
        b = self.ann.binding(node) if isinstance(node, A.Ref) else None
        return b is not None and b.kind in ("list", "list_field")

    def uses_history(self, node) -> bool:
        """Does the expression read earlier periods (so it may lack them)?  Memoised per node."""
        found = self.history_memo.get(id(node))
        if found is None:
            found = self.history_memo[id(node)] = self._uses_history(node)
        return found

    def _uses_history(self, node) -> bool:
        if isinstance(node, A.Call):
            return node.func in HISTORY_FUNCS or any(self.uses_history(a) for a in node.args)
        for child in ("left", "right", "operand"):
            sub = getattr(node, child, None)
            if isinstance(sub, A.Expr) and self.uses_history(sub):
                return True
        if isinstance(node, A.BoolOp):
            return any(self.uses_history(i) for i in node.items)
        return False

    # ------------------------------------------------------------------ statements
    def emit(self, line: str):
        self.lines.append(line)

    def emit_return(self, *parts: str, indent: str = "") -> None:
        """Return the kind's result, the fields of its NamedTuple as a plain tuple (typed when
        someone reads it: Decision.raw) — or, in the value-only variant, the headline alone
        (the `decide` path skips building details)."""
        if self.value_only:
            self.emit(f"{indent}return {parts[0]}")
        elif self.traced:
            # A result of constants alone (a status's case) is one constant tuple, not a
            # tuple built on every evaluation.
            raw = self.const(tuple(self.consts[p] for p in parts)) \
                if all(p in self.consts for p in parts) else f"({', '.join(parts)},)"
            self.emit(f"{indent}return DEC(SELF, f, {raw}, TR, None)")
        else:
            self.emit(f"{indent}return ({', '.join(parts)},)")

    def ty(self, node):
        """The type the checker gave an expression."""
        return self.ann.typed(node)

    def clause(self, node, code: str) -> str:
        """A clause-level value, recorded in the trace when tracing.  A plain comparison
        already left its own record (values and result), so it needs no second one; a streak
        or a history comparison does, since its result is more than the one comparison.  Nor
        does `and` / `or` / `not` over plain comparisons: its verdict follows from their
        records, so it is folded (self.folded) and Decision.trace adds it when read."""
        if not self.traced:
            return code
        if isinstance(node, A.Compare) and node.consecutive is None and not self.uses_history(node):
            return code
        if self.depth == 0 and isinstance(node, (A.BoolOp, A.Not)) and self.recorded(node):
            self.folded[self.ann.id_of(node)] = node
            return code
        # A yes/no outcome (what almost every clause gives) appends one of two records made
        # at load, not a tuple built on every evaluation; any other value is recorded as is.
        rid = self.ann.id_of(node)
        yes, no = self.const((Valued, rid, True)), self.const((Valued, rid, False))
        return (f"(T.append({yes}) or True if (tv := {code}) is True else T.append({no}) or False"
                f" if tv is False else T.append((VAL, {rid}, tv)) or tv)")

    def recorded(self, node) -> bool:
        """Is the expression's value determined by its comparisons' own trace records?"""
        if isinstance(node, A.Compare):
            return node.consecutive is None and not self.uses_history(node)
        if isinstance(node, A.Not):
            return self.recorded(node.operand)
        return isinstance(node, A.BoolOp) and all(self.recorded(i) for i in node.items)

    def formulas_block(self):
        for i, formula in enumerate(self.rule.formulas):
            var = f"v{i}"
            self.emit(f"{var} = {self.clause(formula.expr, self.gen(formula.expr))}")
            self.formula_vars[formula.name] = var

    # ------------------------------------------------------------------ the body
    def body(self, form) -> list[str]:
        """The function's statements: the reads of the facts, the formulas, the kind's own."""
        self.form = form
        self.formulas_block()
        KINDS[self.rule.kind].compile(self, self.rule)
        return self.read_block() + self.lines
