"""Stage 2: Lark parse tree → typed AST (dsl.ast).  Pure shape-building; no name lookups."""
from __future__ import annotations

import re
from decimal import Decimal

from lark import Token, Transformer, Tree, v_args
from lark.exceptions import VisitError

from . import ast as A
from .diagnostics import Diagnostic, DiagnosticError
from .keywords import FUNCTION_BY_SPELLING, PERIOD_BY_WORD
from .parser import base_type
from .units import parse_band, parse_quantity

_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_PERIOD_WORD = re.compile(r"(weeks?|months?|quarters?|个周|周|个月|月|个季度|季度)\s*$")
_COMPARE = {"≥": ">=", "≤": "<=", "≠": "!=", "==": "="}
_ARITH = {"×": "*", "÷": "/", "−": "-"}


def _number_in(token: Token) -> Decimal:
    return Decimal(_DIGITS.search(str(token)).group(0))


def _period_in(token: Token) -> str:
    return PERIOD_BY_WORD[_PERIOD_WORD.search(str(token)).group(1)]


def _unquote(token: Token) -> str:
    return str(token)[1:-1]


def _tokens(children, *types):
    return [c for c in children if isinstance(c, Token) and base_type(c.type) in types]


class _Builder(Transformer):
    def __init__(self, filename: str):
        super().__init__(visit_tokens=False)
        self.file = filename

    # ---------------------------------------------------------------- locations
    def _loc(self, meta_or_token) -> A.Loc:
        m = meta_or_token
        if isinstance(m, Token):
            return A.Loc(self.file, m.line, m.column, m.end_line or m.line,
                         m.end_column or m.column + len(m))
        if getattr(m, "empty", False):
            return A.Loc(self.file, 0, 0, 0, 0)
        return A.Loc(self.file, m.line, m.column, m.end_line, m.end_column)

    # ---------------------------------------------------------------- expressions
    @v_args(meta=True)
    def literal(self, meta, children):
        tok = children[0]
        loc = self._loc(meta)
        if tok.type == "STRING":
            return A.Str(loc, value=_unquote(tok))
        value, unit = parse_quantity(str(tok))
        return A.Num(loc, value=value, unit=unit, text=str(tok))

    @v_args(meta=True)
    def ref(self, meta, children):
        return children[0]

    @v_args(meta=True)
    def field_ref(self, meta, children):
        return A.Ref(self._loc(meta), parts=[str(c) for c in children])

    @v_args(meta=True)
    def or_(self, meta, children):
        items = [c for c in children if not isinstance(c, Token)]
        return items[0] if len(items) == 1 else A.BoolOp(self._loc(meta), op="or", items=items)

    @v_args(meta=True)
    def and_(self, meta, children):
        items = [c for c in children if not isinstance(c, Token)]
        return items[0] if len(items) == 1 else A.BoolOp(self._loc(meta), op="and", items=items)

    @v_args(meta=True)
    def not_(self, meta, children):
        return A.Not(self._loc(meta), operand=children[-1])

    @v_args(meta=True)
    def compare(self, meta, children):
        left, op, right = children
        return A.Compare(self._loc(meta), op=_COMPARE.get(str(op), str(op)), left=left, right=right)

    @v_args(meta=True)
    def consecutive(self, meta, children):
        left, op, right, phrase = children
        node = A.Compare(self._loc(meta), op=_COMPARE.get(str(op), str(op)), left=left, right=right)
        node.consecutive = A.Consecutive(int(_number_in(phrase)), _period_in(phrase),
                                         self._loc(phrase))
        return node

    @v_args(meta=True)
    def binary(self, meta, children):
        left, op, right = children
        return A.Binary(self._loc(meta), op=_ARITH.get(str(op), str(op)), left=left, right=right)

    @v_args(meta=True)
    def neg(self, meta, children):
        return A.Neg(self._loc(meta), operand=children[-1])

    @v_args(meta=True)
    def percent_of(self, meta, children):
        pct_tok, _of, operand = children
        value, unit = parse_quantity(str(pct_tok))
        pct = A.Num(self._loc(pct_tok), value=value, unit=unit, text=str(pct_tok))
        return A.PercentOf(self._loc(meta), percent=pct, operand=operand)

    @v_args(meta=True)
    def call(self, meta, children):
        name_tok, args = children[0], children[1]
        spelled = str(name_tok)
        call = A.Call(self._loc(meta), func=FUNCTION_BY_SPELLING.get(spelled, ""),
                      spelled=spelled)
        call.args, call.where, call.window = args
        return call

    def call_args(self, children):
        args, where, window = [], None, None
        expect_where = False
        for c in children:
            if isinstance(c, Token) and base_type(c.type) == "WHERE":
                expect_where = True
            elif isinstance(c, Token) and c.type == "LAST_WINDOW":
                window = A.Window(int(_number_in(c)), _period_in(c), self._loc(c))
            elif expect_where:
                where, expect_where = c, False
            else:
                args.append(c)
        return args, where, window

    # ---------------------------------------------------------------- shared clauses
    def name_list(self, children):
        return [str(c) for c in children]

    def period(self, children):
        return {"WEEKLY": "week", "BIWEEKLY": "biweek", "MONTHLY": "month",
                "QUARTERLY": "quarter"}[base_type(children[0].type)]

    @v_args(meta=True)
    def on_form(self, meta, children):
        names = _tokens(children, "NAME")
        period = next((c for c in children if isinstance(c, str) and not isinstance(c, Token)), None)
        return A.OnForm(str(names[0]), str(names[1]), period, self._loc(meta))

    @v_args(meta=True)
    def effective(self, meta, children):
        return ("effective", str(_tokens(children, "DATE")[0]), self._loc(meta))

    @v_args(meta=True)
    def bound(self, meta, children):
        band = parse_band(str(_tokens(children, "SIGNED_PERCENT")[0]))
        of = next((c for c in children if isinstance(c, A.Expr)), None)
        return A.Bound(band, of, self._loc(meta))

    @v_args(meta=True)
    def formula(self, meta, children):
        name = str(children[0])
        expr = children[2] if isinstance(children[1], Token) else children[1]
        exprs = [c for c in children[1:] if isinstance(c, A.Expr)]
        bound = next((c for c in children if isinstance(c, A.Bound)), None)
        return A.Formula(name, exprs[0] if exprs else expr, bound, self._loc(meta))

    # ---------------------------------------------------------------- alert clauses
    @v_args(meta=True)
    def when(self, meta, children):
        return ("when", None, [children[-1]], self._loc(meta))

    @v_args(meta=True)
    def when_at_least(self, meta, children):
        phrase = _tokens(children, "AT_LEAST_OF")[0]
        conds = [c for c in children if isinstance(c, A.Expr)]
        return ("when", int(_number_in(phrase)), conds, self._loc(meta))

    @v_args(meta=True)
    def notify(self, meta, children):
        return ("notify", children[-1], self._loc(meta))

    @v_args(meta=True)
    def say(self, meta, children):
        return ("say", _unquote(children[-1]), self._loc(meta))

    # ---------------------------------------------------------------- score clauses
    def _cap(self, children):
        cap = next((c for c in children if isinstance(c, Tree) and c.data == "cap"), None)
        if cap is None:
            return None
        return int(str(cap.children[-1]).replace("−", "-"))

    def cap(self, children):
        return Tree("cap", children)

    def _points(self, children) -> int:
        return int(str(_tokens(children, "POINTS")[0]).replace("−", "-"))

    @v_args(meta=True)
    def points_every(self, meta, children):
        phrase = _tokens(children, "FOR_EVERY")[0]
        ref = next(c for c in children if isinstance(c, A.Ref))
        return A.PointsLine("every", self._points(children), self._loc(meta),
                            n=int(_number_in(phrase)), field=ref, cap=self._cap(children))

    @v_args(meta=True)
    def points_per(self, meta, children):
        ref = next(c for c in children if isinstance(c, A.Ref))
        return A.PointsLine("per", self._points(children), self._loc(meta), field=ref,
                            cap=self._cap(children))

    @v_args(meta=True)
    def points_when(self, meta, children):
        cond = next(c for c in children if isinstance(c, A.Expr))
        return A.PointsLine("when", self._points(children), self._loc(meta), cond=cond,
                            cap=self._cap(children))

    @v_args(meta=True)
    def points_each(self, meta, children):
        item = str(_tokens(children, "NAME")[0])
        cond = next(c for c in children if isinstance(c, A.Expr))
        return A.PointsLine("each", self._points(children), self._loc(meta), cond=cond,
                            item=item, cap=self._cap(children))

    def _amount(self, children) -> int:
        tok = [c for c in children if isinstance(c, Token) and c.type in ("POINTS", "INT")][-1]
        return int(str(tok).replace("−", "-"))

    @v_args(meta=True)
    def total_max(self, meta, children):
        return ("total_max", self._amount(children), self._loc(meta))

    @v_args(meta=True)
    def total_min(self, meta, children):
        return ("total_min", self._amount(children), self._loc(meta))

    @v_args(meta=True)
    def weight_into(self, meta, children):
        phrase, name = children
        value, _unit = parse_quantity(_DIGITS.search(str(phrase)).group(0) + "%")
        return ("weight", Decimal(value), str(name), self._loc(meta))

    # ---------------------------------------------------------------- status / target
    @v_args(meta=True)
    def case(self, meta, children):
        return A.Case(str(children[0]), children[-1], self._loc(meta))

    @v_args(meta=True)
    def otherwise(self, meta, children):
        return A.Case(str(children[0]), None, self._loc(meta))

    @v_args(meta=True)
    def suggest(self, meta, children):
        expr = next(c for c in children if isinstance(c, A.Expr))
        bands = _tokens(children, "SIGNED_PERCENT")
        return ("suggest", expr, parse_band(str(bands[0])) if bands else None, self._loc(meta))

    # ---------------------------------------------------------------- split / pool
    @v_args(meta=True)
    def divide(self, meta, children):
        ref = next(c for c in children if isinstance(c, A.Ref))
        return ("divide", ref, str(_tokens(children, "NAME")[-1]), self._loc(meta))

    @v_args(meta=True)
    def split_weight(self, meta, children):
        value, _unit = parse_quantity(str(_tokens(children, "PERCENT")[0]))
        return ("weight", str(_tokens(children, "NAME")[0]), Decimal(value), self._loc(meta))

    @v_args(meta=True)
    def adjust(self, meta, children):
        band = parse_band(str(_tokens(children, "SIGNED_PERCENT")[0]))
        return ("adjust", band, str(_tokens(children, "NAME")[0]), self._loc(meta))

    @v_args(meta=True)
    def pool_size(self, meta, children):
        return ("size", children[-1], self._loc(meta))

    @v_args(meta=True)
    def pool_share(self, meta, children):
        return ("share", str(_tokens(children, "NAME")[0]), children[-1], self._loc(meta))

    # ---------------------------------------------------------------- approval
    @v_args(meta=True)
    def change_limit(self, meta, children):
        msg = _tokens(children, "STRING")
        return ("limit", int(str(_tokens(children, "INT")[0])),
                _unquote(msg[0]) if msg else None, self._loc(meta))

    @v_args(meta=True)
    def cycle(self, meta, children):
        dur = _tokens(children, "DURATION")[0]
        value, unit = parse_quantity(str(dur))
        n = int(_number_in(dur))
        date = _tokens(children, "DATE")
        return ("cycle", (n, unit, str(date[0]) if date else None), self._loc(meta))

    @v_args(meta=True)
    def require(self, meta, children):
        return ("require", children[-1], self._loc(meta))

    @v_args(meta=True)
    def step(self, meta, children):
        cond = next((c for c in children if isinstance(c, A.Expr)), None)
        return A.Step([str(_tokens(children, "NAME")[0])], cond, False, self._loc(meta))

    @v_args(meta=True)
    def countersign(self, meta, children):
        cond = next((c for c in children if isinstance(c, A.Expr)), None)
        roles = next(c for c in children if isinstance(c, list))
        return A.Step(roles, cond, True, self._loc(meta))

    # ---------------------------------------------------------------- schedule
    @v_args(meta=True)
    def weekly_at(self, meta, children):
        names, time = _tokens(children, "NAME"), _tokens(children, "TIME")
        return A.Timing("weekly", self._loc(meta), weekday=str(names[0]), time=str(time[0]))

    @v_args(meta=True)
    def every_weeks_at(self, meta, children):
        dur = _tokens(children, "DURATION")[0]
        _value, unit = parse_quantity(str(dur))
        return A.Timing("every_weeks", self._loc(meta), weekday=str(_tokens(children, "NAME")[0]),
                        time=str(_tokens(children, "TIME")[0]), every=int(_number_in(dur)),
                        every_unit=unit)

    @v_args(meta=True)
    def before_event(self, meta, children):
        dur = _tokens(children, "DURATION")[0]
        value, unit = parse_quantity(str(dur))
        lead = A.Num(self._loc(dur), value=value, unit=unit, text=str(dur))
        return A.Timing("before_event", self._loc(meta), lead=lead,
                        event=str(_tokens(children, "NAME")[0]))

    @v_args(meta=True)
    def report(self, meta, children):
        return A.Action("report", str(_tokens(children, "NAME")[0]), children[-1], self._loc(meta))

    @v_args(meta=True)
    def remind(self, meta, children):
        lists = [c for c in children if isinstance(c, list)]
        return A.Action("remind", str(_tokens(children, "NAME")[-1]), lists[0], self._loc(meta))

    # ---------------------------------------------------------------- declarations
    @v_args(meta=True)
    def reference(self, meta, children):
        names = _tokens(children, "NAME")
        label = _tokens(children, "STRING")
        ref = A.Reference(str(names[0]), self._loc(meta),
                          label=_unquote(label[0]) if label else None)
        for item in children:
            if isinstance(item, tuple) and item[0] == "ref_item":
                _, name, num, loc = item
                ref.items[name] = num
                ref.item_locs[name] = loc
        return ref

    @v_args(meta=True)
    def ref_item(self, meta, children):
        return ("ref_item", str(children[0]), children[-1], self._loc(meta))

    @v_args(meta=True)
    def role(self, meta, children):
        label = _tokens(children, "STRING")
        return A.RoleDecl(str(_tokens(children, "NAME")[0]), self._loc(meta),
                          label=_unquote(label[0]) if label else None)

    def _rule(self, cls, meta, children, **extra):
        name = _tokens(children, "NAME")[0]
        rule = cls(str(name), self._loc(meta), kind=cls.__name__.lower(), **extra)
        for c in children:
            if isinstance(c, Token):
                continue
            self._attach(rule, c)
        return rule

    def _set_once(self, rule, attr, value, loc, clause):
        if getattr(rule, attr) is not None:
            rule.extra.append((clause, loc))
            return
        setattr(rule, attr, value)

    def _attach(self, rule, c):   # noqa: C901 — a flat dispatch over clause shapes
        if isinstance(c, A.OnForm):
            self._set_once(rule, "on", c, c.loc, "on")
        elif isinstance(c, A.Formula):
            rule.formulas.append(c)
        elif isinstance(c, A.PointsLine):
            rule.lines.append(c)
        elif isinstance(c, A.Case):
            rule.cases.append(c)
        elif isinstance(c, A.Step):
            rule.steps.append(c)
        elif isinstance(c, tuple):
            tag = c[0]
            if tag == "effective":
                self._set_once(rule, "effective", c[1], c[2], "effective")
            elif tag == "when":
                if rule.when_loc is not None:
                    rule.extra.append(("when", c[3]))
                else:
                    rule.at_least, rule.conditions, rule.when_loc = c[1], c[2], c[3]
            elif tag == "notify":
                rule.notify, rule.notify_loc = rule.notify + c[1], c[2]
            elif tag == "say":
                self._set_once(rule, "message", c[1], c[2], "say")
                rule.message_loc = rule.message_loc or c[2]
            elif tag in ("total_max", "total_min"):
                self._set_once(rule, tag, c[1], c[2], "total")
                rule.total_loc = c[2]
            elif tag == "weight" and isinstance(rule, A.Score):
                self._set_once(rule, "weight", c[1], c[3], "counts")
                rule.rating, rule.weight_loc = c[2], c[3]
            elif tag == "weight":
                rule.weights.append((c[1], c[2], c[3]))
            elif tag == "suggest":
                self._set_once(rule, "suggest", c[1], c[3], "suggest")
                rule.range_band, rule.suggest_loc = c[2], c[3]
            elif tag == "divide":
                self._set_once(rule, "total", c[1], c[3], "divide")
                rule.across, rule.divide_loc = c[2], c[3]
            elif tag == "adjust":
                self._set_once(rule, "adjust_band", c[1], c[3], "adjust")
                rule.reason_field, rule.adjust_loc = c[2], c[3]
            elif tag == "size":
                self._set_once(rule, "size", c[1], c[2], "size")
            elif tag == "share":
                self._set_once(rule, "among", c[1], c[3], "share")
                rule.by, rule.share_loc = c[2], c[3]
            elif tag == "limit":
                self._set_once(rule, "limit", c[1], c[3], "at most")
                rule.limit_message, rule.limit_loc = c[2], c[3]
            elif tag == "cycle":
                self._set_once(rule, "cycle", c[1], c[2], "cycle")
                rule.cycle_loc = c[2]
            elif tag == "require":
                rule.require, rule.require_loc = rule.require + c[1], c[2]

    @v_args(meta=True)
    def alert(self, meta, children):
        level = _tokens(children, "NAME")[1]
        return self._rule(A.Alert, meta, children, level=str(level))

    @v_args(meta=True)
    def score(self, meta, children):
        return self._rule(A.Score, meta, children)

    @v_args(meta=True)
    def status(self, meta, children):
        return self._rule(A.Status, meta, children)

    @v_args(meta=True)
    def target(self, meta, children):
        return self._rule(A.Target, meta, children)

    @v_args(meta=True)
    def split(self, meta, children):
        return self._rule(A.Split, meta, children)

    @v_args(meta=True)
    def pool(self, meta, children):
        return self._rule(A.Pool, meta, children)

    @v_args(meta=True)
    def approval(self, meta, children):
        return self._rule(A.Approval, meta, children)

    @v_args(meta=True)
    def schedule(self, meta, children):
        name = _tokens(children, "NAME")[0]
        timing = next(c for c in children if isinstance(c, A.Timing))
        actions = [c for c in children if isinstance(c, A.Action)]
        return A.Schedule(str(name), self._loc(meta), timing=timing, actions=actions)

    def start(self, children):
        return [c for c in children if isinstance(c, A.Decl)]


def build(tree, filename: str, text: str) -> A.RuleFile:
    try:
        decls = _Builder(filename).transform(tree)
    except VisitError as err:    # Lark wraps what a transformer raises: unwrap it here
        inner = err.orig_exc
        if isinstance(inner, DiagnosticError):
            raise inner from None
        line = getattr(getattr(err, "obj", None), "meta", None)
        raise DiagnosticError([Diagnostic("parse.syntax_error", {"detail": str(inner)},
                                          filename, getattr(line, "line", 0) or 0,
                                          getattr(line, "column", 0) or 0)]) from None
    return A.RuleFile(filename, text, decls)
