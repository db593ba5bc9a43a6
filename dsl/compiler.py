"""Stage 4: checked AST → Python functions.

Each rule becomes generated Python source, compiled once when the rule set loads.  Field
reads are hoisted and type-checked once; decimal constants become globals; comparisons run
as plain Python operators.  A second variant of the same function records a trace: the value
of every comparison and clause, by node id, for the explanation.

Safety: the source is built only from our own templates.  Names from rule files and schemas
enter it only as values passed to the rule's factory (see const()); rule text never becomes code.
"""
from __future__ import annotations

from decimal import Decimal

from . import ast as A
from .annotations import Annotations
from .check_exprs import HISTORY_FUNCS
from .kinds import KINDS
from .limits import MAX_RULE_SOURCE
from .runtime import namespace
from .units import UNITS

_PY_OP = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


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
        self.read_lines: list[str] = []
        self.formulas: dict[str, A.Formula] = {f.name: f for f in rule.formulas}
        self.formula_vars: dict[str, str] = {}
        self.depth = 0
        self.walrus = 0
        self.lines: list[str] = []
        self.history_memo: dict[int, bool] = {}

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
        var = self.reads.get(field.name)
        if var is not None:
            return var
        var = f"x{len(self.reads)}"
        self.reads[field.name] = var
        name = self.const(field.name)
        self.read_lines.append(f"{var} = f[{name}]")
        kind, scale = field.kind, _scale(field)
        if kind == "integer":
            self.read_lines.append(
                f"if type({var}) is not int: {var} = as_integer({var}, {name}, R)")
        elif kind == "number":
            self.read_lines.append(
                f"if type({var}) is not D and type({var}) is not int: "
                f"{var} = as_number({var}, {name}, R)")
        else:
            cls = {"string": "str", "date": "str", "boolean": "bool", "array": "list"}[kind]
            self.read_lines.append(
                f"if type({var}) is not {cls}: {var} = as_kind({var}, {self.const(kind)}, {name}, R)")
        if scale != 1:
            self.read_lines.append(f"{var} = {var} * {self.const(scale)}")
        return var

    def read_entry(self, field, entry: str) -> str:
        scale = _scale(field)
        if field.kind in ("number", "integer") and scale == 1 and entry.startswith("it"):
            # List items are read inline: a call per item field would double a split's cost.
            w, key = f"w{self.walrus}", self.const(field.name)
            self.walrus += 1
            fix = "as_number" if field.kind == "number" else "as_integer"
            ok = f"type({w}) is int" if field.kind == "integer" else \
                f"type({w}) is D or type({w}) is int"
            return f"({w} if ({ok} if ({w} := {entry}[{key}]) is not None else False) " \
                   f"else {fix}({w}, {key}, R))"
        return f"read({entry}, {self.const(field.name)}, {self.const(field.kind)}, {self.const(scale)}, R)"

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
            # right, result), typed when someone reads the trace; no call on the hot path.
            left, right = self.gen(node.left, ctx), self.gen(node.right, ctx)
            return (f"(ap((CMP, {self.ann.id_of(node)}, (tl := {left}), (tr := {right}), "
                    f"(tc := tl {_PY_OP[node.op]} tr))) or tc)")
        return self.compare_plain(node, ctx)

    def gen_Call(self, node: A.Call, ctx) -> str:
        func, line = node.func, self.const(node.loc.line)
        if node.window is not None:
            return self.gen_window(node, ctx)
        if func in HISTORY_FUNCS:
            field = self.ann.bound(node.args[0]).field
            args = (f"{ctx.history}, {self.const(field.name)}, {self.const(field.kind)}, "
                    f"{self.const(_scale(field))}, R")
            if func == "baseline":
                return f"baseline({args}, {line})"
            prior = f"previous({args})"
            if func == "previous":
                return prior
            current = self.gen(node.args[0], ctx)
            if func == "change":
                return f"({current} - {prior})"
            return f"growth({current}, {prior}, R, {self.const(field.name)})"
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
            self.emit(f"{indent}return NT(DEC, (SELF, f, ({', '.join(parts)},), T if trace else [], None))")
        else:
            self.emit(f"{indent}return ({', '.join(parts)},)")

    def ty(self, node):
        """The type the checker gave an expression."""
        return self.ann.typed(node)

    def clause(self, node, code: str) -> str:
        """A clause-level value, recorded in the trace when tracing.  A plain comparison
        already left its own record (values and result), so it needs no second one; a streak
        or a history comparison does, since its result is more than the one comparison."""
        if not self.traced:
            return code
        if isinstance(node, A.Compare) and node.consecutive is None and not self.uses_history(node):
            return code
        return f"(ap((VAL, {self.ann.id_of(node)}, (tv := {code}))) or tv)"

    def formulas_block(self):
        for i, formula in enumerate(self.rule.formulas):
            var = f"v{i}"
            self.emit(f"{var} = {self.clause(formula.expr, self.gen(formula.expr))}")
            self.formula_vars[formula.name] = var

    # ------------------------------------------------------------------ the function
    def source(self, form, calendar: bool = False) -> str:
        """The function's text: `value(f, h=())` (the headline) or, traced,
        `evaluate(f, h=(), trace=True)` → a Decision, never an exception.  `calendar`: the
        rule reads earlier periods, so history is laid out on the calendar first."""
        self.form = form
        self.formulas_block()
        KINDS[self.rule.kind].compile(self, self.rule)
        body = self.read_lines + self.lines
        if not self.traced:
            text = [f"def {'value' if self.value_only else 'detail'}(f, h=()):"]
            if calendar:
                text.append("    h = timeline(SCHEMA, f, h, R)")
            text.append("    try:")
            text += [f"        {line}" for line in body]
            return "\n".join(text + [f"    {line}" for line in _RAISE]) + "\n"
        text = ["def evaluate(f, h=(), trace=True):", "    T = []"]
        if calendar:
            text += ["    try:", "        h = timeline(SCHEMA, f, h, R)",
                     "    except EvalError as e:", f"        return {_FAILED.format(error='e')}",
                     "    except Exception as e:", f"        return {_FAILED.format(error=_INTERNAL)}"]
        text.append("    try:")
        if any("ap((" in line for line in body):
            text.append("        ap = T.append")
        text += [f"        {line}" for line in body]
        return "\n".join(text + [f"    {line}" for line in _DECIDED]) + "\n"


# An evaluation error of the facts (a missing field, a wrong type, no result) said as what
# went wrong: raised by the value function, a Decision with its error from `evaluate`.
_ERRORS = [("KeyError", "EvalError('eval.missing_field', rule=R, field=e.args[0])"),
           ("(TypeError, AttributeError)", "EvalError('eval.bad_shape', rule=R, form=FORM, detail=str(e))"),
           # decimal.Overflow, InvalidOperation (NaN), int() of a huge value: no result
           ("(ArithmeticError, ValueError)", "EvalError('eval.out_of_range', rule=R, detail=e.__class__.__name__)")]
_RAISE = [line for exc, err in _ERRORS for line in (f"except {exc} as e:", f"    raise {err} from None")]
_FAILED = "NT(DEC, (SELF, f, None, T if trace else [], {error}))"
_INTERNAL = "EvalError('eval.internal', rule=R, line=LINE, detail=f'{e.__class__.__name__}: {str(e)[:120]}')"
# Total: a bug of ours is still this rule's own error, never an exception.
_DECIDED = [line for exc, err in [("EvalError", "e"), *_ERRORS, ("Exception", _INTERNAL)]
            for line in (f"except {exc} as e:", f"    return {_FAILED.format(error=err)}")]


def reads_periods(nodes) -> bool:
    """Does a rule (its nodes) look at earlier periods — a streak, a window or a history
    function?  Then its history is laid out on the calendar (periods.timeline) first."""
    for node in nodes:
        if isinstance(node, A.Compare) and node.consecutive is not None:
            return True
        if isinstance(node, A.Call) and (node.window is not None or node.func in HISTORY_FUNCS):
            return True
    return False


_NAMESPACE = namespace()    # the helpers generated code may call; copied per rule


def compile_rule(rule: A.Rule, form, ann: Annotations, code_cache: dict | None = None):
    """(decide, evaluate) functions, the generated source and the functions' globals.

    decide(facts, history=()) → the headline value (EvalError when the facts do not fit);
    evaluate(facts, history=(), trace=True) → a Decision (its error set when they do not
    fit), with the trace records.  The caller puts the Decision type (DEC) and the compiled
    rule (SELF) into the globals before calling them.

    The functions are made by a factory whose parameters are the rule's values: the body
    reads them as closure cells (as fast as locals), so the source depends only on the
    rule's shape and `code_cache` (source → code object, owned by the caller: one per
    rule-set load) lets rules of one shape share a single compile().
    """
    variants = [(True, False)]
    if KINDS[rule.kind].value_variant:
        variants.insert(0, (False, True))
    calendar = reads_periods(ann.nodes)
    parts, consts = [], {}
    for traced, value_only in variants:
        comp = RuleCompiler(rule, ann, traced, value_only)
        parts.append(comp.source(form, calendar))
        consts.update(comp.consts)      # names carry the variant's prefix: no clashes
    body = "\n".join("    " + line if line else line for p in parts for line in p.splitlines())
    if len(body) > 2 * MAX_RULE_SOURCE:
        raise TooComplex(rule.name)
    returned = "value, evaluate" if len(variants) == 2 else "evaluate"
    src = f"def make({', '.join(consts)}):\n{body}\n    return {returned}\n"
    code = code_cache.get(src) if code_cache is not None else None
    if code is None:
        code = compile(src, "<rule>", "exec")
        if code_cache is not None:
            code_cache[src] = code
    ns = dict(_NAMESPACE)
    ns.update(R=rule.name, FORM=form.name, SCHEMA=form, LINE=rule.loc.line)
    exec(code, ns)      # source generated from our templates only (see module doc)
    made = ns["make"](*consts.values())
    if len(variants) == 2:
        value, evaluate = made
        return value, evaluate, src, ns
    evaluate = made

    def decide(facts, history=()):
        decision = evaluate(facts, history, False)
        if decision[4] is not None:
            raise decision[4]
        return decision[2][0]
    return decide, evaluate, src, ns
