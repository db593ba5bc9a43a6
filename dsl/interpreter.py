"""A small reference interpreter: walks the checked AST directly, slowly and plainly.

It exists to be obviously right.  The tests run every case through it and through the
compiled evaluator and require the same answer, so a code-generation bug cannot hide.
"""
from __future__ import annotations

from decimal import Decimal

from . import ast as A
from . import periods
from . import runtime as rt
from .amounts import round_to
from .check_exprs import HISTORY_FUNCS
from .diagnostics import RuleError
from .rounding import ROUNDING, round_scale
from .kinds import KINDS
from .units import UNITS


def _scale(field):
    return UNITS[field.unit][1] if field.unit and field.unit != "percent" else 1


class Env:
    """Facts, their raw history, and — once a rule asks — the calendar: the facts' period
    number and the latest earlier submission of each period ({number: facts}); a period
    missing from that dict had no submission."""

    def __init__(self, rule, facts, history, formulas=None, item=None, form=None, calendar=None,
                 ann=None):
        self.rule, self.facts, self.history = rule, facts, history
        self.ann = ann                  # the checker's side tables (bindings)
        self.formulas = formulas if formulas is not None else {}
        self.item = item
        self.form = form
        self.calendar = calendar

    def value(self, node):
        """The value of an expression here."""
        return evaluate(node, self)

    def read(self, entry, field):
        """A field of the facts, a history entry or a list item, checked and scaled."""
        return read(self, entry, field)

    def with_item(self, item):
        return Env(self.rule, self.facts, self.history, self.formulas, item, self.form,
                   self.calendar, self.ann)

    def periods(self):
        if self.calendar is None:
            self.calendar = periods.dated(self.form, self.facts, self.history, self.rule.name)
        return self.calendar

    def at(self, number):
        """The environment of the period `number` (with the periods before it)."""
        _current, past = self.periods()
        earlier = {k: v for k, v in past.items() if k < number}
        env = Env(self.rule, past[number], [], {}, None, self.form, (number, earlier), self.ann)
        for f in self.rule.formulas:
            env.formulas[f.name] = evaluate(f.expr, env)
        return env


def read(env, entry, field):
    return rt.read(entry, field.name, field.kind, _scale(field), env.rule.name, field.default)


def evaluate(node, env: Env):    # one branch per node type, on purpose
    if isinstance(node, A.Num):
        return node.value
    if isinstance(node, A.Str):
        return node.value
    if isinstance(node, A.Ref):
        b = env.ann.bound(node)
        if b.kind == "const":
            return b.value
        if b.kind == "formula":
            return env.formulas[b.name]
        if b.kind == "item":
            return read(env, env.item, b.field)
        return read(env, env.facts, b.field)
    if isinstance(node, A.Binary):
        a, b = evaluate(node.left, env), evaluate(node.right, env)
        if node.op == "+":
            return a + b
        if node.op == "-":
            return a - b
        if node.op == "*":
            return a * b
        if b == 0:
            raise RuleError.of("eval.division_by_zero", rule=env.rule.name, line=node.loc.line)
        return Decimal(a) / Decimal(b)
    if isinstance(node, A.Neg):
        return -evaluate(node.operand, env)
    if isinstance(node, A.PercentOf):
        return node.percent.value * evaluate(node.operand, env)
    if isinstance(node, A.BoolOp):
        values = (evaluate(i, env) for i in node.items)
        return all(values) if node.op == "and" else any(values)
    if isinstance(node, A.Not):
        return not evaluate(node.operand, env)
    if isinstance(node, A.Compare):
        return compare(node, env)
    if isinstance(node, A.Call):
        return call(node, env)
    raise TypeError(node)


OPS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
       ">=": lambda a, b: a >= b, "=": lambda a, b: a == b, "!=": lambda a, b: a != b}


def compare(node: A.Compare, env: Env) -> bool:
    def once(e):
        try:
            return OPS[node.op](evaluate(node.left, e), evaluate(node.right, e))
        except rt.NoHistory:
            return False
    if not once(env):
        return False
    if node.consecutive is None:
        return True
    current, past = env.periods()
    before = range(current - (node.consecutive.n - 1), current)
    if any(k not in past for k in before):      # a period without a submission breaks it
        return False
    return all(once(env.at(k)) for k in before)


def call(node: A.Call, env: Env):
    f, line = node.func, node.loc.line
    if node.window is not None:
        current, past = env.periods()
        earlier = node.window.n - 1
        if node.window.so_far:
            earlier = periods.earlier_inside(env.form.period, node.window.unit,
                                             periods.day_of(env.form, env.facts, env.rule.name))
        envs = [env] + [env.at(k) for k in range(current - earlier, current) if k in past]
        if f == "count":
            return sum(1 for e in envs if evaluate(node.args[0], e))
        values = [evaluate(node.args[0], e) for e in envs]
        return aggregate(f, values, env, line)
    if f in HISTORY_FUNCS:
        field = env.ann.bound(node.args[0]).field
        number, past = env.periods()
        if not past:
            raise rt.NoHistory.of("eval.no_history", rule=env.rule.name, field=field.name)
        if f == "baseline":
            values = [read(env, e, field) for e in past.values()]
            return Decimal(sum(values)) / len(values)
        if number - 1 not in past:
            raise rt.NoHistory.of("eval.no_history", rule=env.rule.name, field=field.name)
        prior = read(env, past[number - 1], field)
        current = read(env, env.facts, field)
        if f == "previous":
            return prior
        if f == "change":
            return current - prior
        if prior == 0:
            raise rt.NoHistory.of("eval.no_history", rule=env.rule.name, field=field.name)
        return Decimal(current - prior) / prior
    arg0 = node.args[0] if node.args else None
    b = env.ann.binding(arg0) if isinstance(arg0, A.Ref) else None
    if b is not None and b.kind in ("list", "list_field"):
        lst = b.field if b.kind == "list" else b.list_field
        items = read(env, env.facts, lst)
        chosen = [it for it in items
                  if node.where is None or evaluate(node.where, env.with_item(it))]
        if f == "count":
            return len(chosen)
        if f == "any":
            return any(evaluate(node.where, env.with_item(it)) for it in items)
        if f == "all":
            return all(evaluate(node.where, env.with_item(it)) for it in items)
        values = [read(env, it, b.field) for it in chosen]
        return aggregate(f, values, env, line)
    if f in ROUNDING:
        return round_to(evaluate(node.args[0], env), round_scale(node, env.ann))
    values = [evaluate(a, env) for a in node.args]
    if f == "abs":
        return abs(values[0])
    return min(values) if f == "min" else max(values)


def aggregate(f, values, env, line):
    if f == "sum":
        return sum(values)
    if not values:
        raise RuleError.of("eval.empty_window", rule=env.rule.name, line=line, func=f)
    if f == "average":
        return Decimal(sum(values)) / len(values)
    return min(values) if f == "min" else max(values)


# ---------------------------------------------------------------------- rules
def run(compiled, facts: dict, history=()):
    """The detail tuple the compiled evaluator returns, computed by walking the AST."""
    rule, form = compiled.rule, compiled.form
    env = Env(rule, facts, list(history), form=form, ann=compiled.ann)
    try:
        for formula in rule.formulas:
            env.formulas[formula.name] = evaluate(formula.expr, env)
        return KINDS[rule.kind].run(env, rule, form)
    except RuleError as err:
        rt.in_rule(err, rule.loc.file, rule.loc.line, rule.loc.column)
        raise
    except KeyError as err:
        raise rt.in_rule(RuleError.of("eval.missing_field", rule=rule.name, field=err.args[0]),
                         rule.loc.file, rule.loc.line, rule.loc.column) from None
    except (ArithmeticError, ValueError) as err:     # as the compiled rules say it
        raise rt.in_rule(RuleError.of("eval.out_of_range", rule=rule.name, detail=err.__class__.__name__),
                         rule.loc.file, rule.loc.line, rule.loc.column) from None
