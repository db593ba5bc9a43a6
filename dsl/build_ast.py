"""Stage 2: Lark parse tree → typed AST (dsl.ast).  Pure shape-building; no name lookups."""
from __future__ import annotations

import re
from decimal import Decimal

from lark import Token, Transformer, Tree

from . import ast as A
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


def _edge(items, index):
    """(line, col, end_line, end_col) of the first (index 0) or last (-1) positioned item."""
    seq = items if index == 0 else reversed(items)
    for x in seq:
        if isinstance(x, Token):
            if x.line is None:
                continue
            return (x.line, x.column, x.end_line or x.line, x.end_column or x.column + len(x))
        loc = x[-1] if isinstance(x, tuple) and x and isinstance(x[-1], A.Loc) else getattr(x, "loc", None)
        if isinstance(loc, A.Loc) and loc.line:
            return (loc.line, loc.column, loc.end_line, loc.end_column)
        if isinstance(x, Tree):
            found = _edge(x.children, index)
            if found:
                return found
    return None


class _Names(list):
    """A name list that remembers where it stood."""
    loc: A.Loc = None


class _Fields(dict):
    """Example fields that remember where they stood."""
    loc: A.Loc = None


class _Items(list):
    """Example list items that remember where they stood."""
    loc: A.Loc = None


def _tokens(children, *types):
    return [c for c in children if isinstance(c, Token) and base_type(c.type) in types]


class _Builder(Transformer):
    def __init__(self, filename: str):
        super().__init__(visit_tokens=False)
        self.file = filename
        self._methods: dict = {}

    def transform(self, tree):
        """Bottom-up, like Transformer.transform, without its per-call wrapping (the AST
        builder is a third of load time on a large rule set)."""
        method = self._methods.get(tree.data)
        if method is None:
            method = self._methods[tree.data] = getattr(self, tree.data, None) or \
                (lambda children, _d=tree.data: Tree(_d, children))
        return method([self.transform(c) if isinstance(c, Tree) else c for c in tree.children])

    # ---------------------------------------------------------------- locations
    def _loc(self, tok: Token) -> A.Loc:
        return A.Loc(self.file, tok.line, tok.column, tok.end_line or tok.line,
                     tok.end_column or tok.column + len(tok))

    def _span(self, children) -> A.Loc:
        """From the first to the last token under `children` (the parser keeps no spans:
        computing them here, only for the nodes we build, is cheaper)."""
        first = _edge(children, 0)
        last = _edge(children, -1)
        if first is None:
            return A.Loc(self.file, 0, 0, 0, 0)
        return A.Loc(self.file, first[0], first[1], last[2], last[3])

    # ---------------------------------------------------------------- expressions
    def literal(self, children):
        tok = children[0]
        loc = self._span(children)
        if tok.type == "STRING":
            return A.Str(loc, value=_unquote(tok))
        value, unit = parse_quantity(str(tok))
        return A.Num(loc, value=value, unit=unit, text=str(tok))

    def ref(self, children):
        return children[0]

    def field_ref(self, children):
        return A.Ref(self._span(children), parts=[str(c) for c in children])

    def or_(self, children):
        items = [c for c in children if not isinstance(c, Token)]
        return items[0] if len(items) == 1 else A.BoolOp(self._span(children), op="or", items=items)

    def and_(self, children):
        items = [c for c in children if not isinstance(c, Token)]
        return items[0] if len(items) == 1 else A.BoolOp(self._span(children), op="and", items=items)

    def not_(self, children):
        return A.Not(self._span(children), operand=children[-1])

    def compare(self, children):
        left, op, right = children
        return A.Compare(self._span(children), op=_COMPARE.get(str(op), str(op)), left=left, right=right)

    def consecutive(self, children):
        left, op, right, phrase = children
        node = A.Compare(self._span(children), op=_COMPARE.get(str(op), str(op)), left=left, right=right)
        node.consecutive = A.Consecutive(int(_number_in(phrase)), _period_in(phrase),
                                         self._loc(phrase))
        return node

    def binary(self, children):
        left, op, right = children
        return A.Binary(self._span(children), op=_ARITH.get(str(op), str(op)), left=left, right=right)

    def neg(self, children):
        return A.Neg(self._span(children), operand=children[-1])

    def percent_of(self, children):
        pct_tok, _of, operand = children
        value, unit = parse_quantity(str(pct_tok))
        pct = A.Num(self._loc(pct_tok), value=value, unit=unit, text=str(pct_tok))
        return A.PercentOf(self._span(children), percent=pct, operand=operand)

    def paren(self, children):
        # Grouping changes nothing but the span: the expression now includes its parentheses.
        inner = children[1]
        inner.loc = self._span(children)
        return inner

    def call(self, children):
        name_tok, args = children[0], children[2]
        spelled = str(name_tok)
        call = A.Call(self._span(children), func=FUNCTION_BY_SPELLING.get(spelled, ""),
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
        names = _Names(str(c) for c in children)
        names.loc = self._span(children)
        return names

    def period(self, children):
        return {"WEEKLY": "week", "BIWEEKLY": "biweek", "MONTHLY": "month",
                "QUARTERLY": "quarter"}[base_type(children[0].type)]

    def on_form(self, children):
        names = _tokens(children, "NAME")
        period = next((c for c in children if isinstance(c, str) and not isinstance(c, Token)), None)
        return A.OnForm(str(names[0]), str(names[1]), period, self._span(children))

    def effective(self, children):
        return ("effective", str(_tokens(children, "DATE")[0]), self._span(children))

    def bound(self, children):
        band = parse_band(str(_tokens(children, "SIGNED_PERCENT")[0]))
        of = next((c for c in children if isinstance(c, A.Expr)), None)
        return A.Bound(band, of, self._span(children))

    def formula(self, children):
        name = str(children[0])
        expr = children[2] if isinstance(children[1], Token) else children[1]
        exprs = [c for c in children[1:] if isinstance(c, A.Expr)]
        bound = next((c for c in children if isinstance(c, A.Bound)), None)
        return A.Formula(name, exprs[0] if exprs else expr, bound, self._span(children))

    # ---------------------------------------------------------------- examples
    def example(self, children):
        note = _tokens(children, "STRING")
        fields = next(c for c in children if isinstance(c, dict))
        result = children[-1]
        return A.Example(_unquote(note[0]) if note else None, fields, result, self._span(children))

    def example_fields(self, children):
        fields = _Fields((name, value) for name, value, _loc in children)
        fields.loc = self._span([loc for _n, _v, loc in children])
        return fields

    def example_field(self, children):
        return (str(children[0]), children[1], self._span(children))

    def negative(self, children):
        num = children[-1]
        if isinstance(num, A.Num):
            num.value = -num.value
            num.text = "-" + num.text
        return num

    def word(self, children):
        return ("word", str(children[0]), self._loc(children[0]))

    def items(self, children):
        items = _Items(c for c in children if isinstance(c, dict))
        items.loc = self._span(children) if children else None
        return items

    def example_item(self, children):
        return children[0]

    def file_effective(self, children):
        return ("file_effective", str(_tokens(children, "DATE")[0]), self._span(children))

    # ---------------------------------------------------------------- alert clauses
    def when(self, children):
        return ("when", None, [children[-1]], self._span(children), None)

    def when_at_least(self, children):
        phrase = _tokens(children, "AT_LEAST_OF")[0]
        conds = [c for c in children if isinstance(c, A.Expr)]
        return ("when", int(_number_in(phrase)), conds, self._span(children), None)

    def when_silent(self, children):
        phrase = _tokens(children, "CONSECUTIVE")[0]
        form = _tokens(children, "NAME")[0]
        silence = A.Silence(str(form), int(_number_in(phrase)), _period_in(phrase),
                            self._span(children[1:]))
        return ("when", None, [], self._span(children), silence)

    def notify(self, children):
        return ("notify", children[-1], self._span(children))

    def notify_cleared(self, children):
        names = next(c for c in children if isinstance(c, _Names))
        return ("notify_cleared", names, self._span(children))

    def say(self, children):
        return ("say", _unquote(children[-1]), self._span(children))

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

    def points_every(self, children):
        phrase = _tokens(children, "FOR_EVERY")[0]
        ref = next(c for c in children if isinstance(c, A.Ref))
        return A.PointsLine("every", self._points(children), self._span(children),
                            n=int(_number_in(phrase)), field=ref, cap=self._cap(children))

    def points_per(self, children):
        ref = next(c for c in children if isinstance(c, A.Ref))
        return A.PointsLine("per", self._points(children), self._span(children), field=ref,
                            cap=self._cap(children))

    def points_when(self, children):
        cond = next(c for c in children if isinstance(c, A.Expr))
        return A.PointsLine("when", self._points(children), self._span(children), cond=cond,
                            cap=self._cap(children))

    def points_each(self, children):
        item = str(_tokens(children, "NAME")[0])
        cond = next(c for c in children if isinstance(c, A.Expr))
        return A.PointsLine("each", self._points(children), self._span(children), cond=cond,
                            item=item, cap=self._cap(children))

    def _amount(self, children) -> int:
        tok = [c for c in children if isinstance(c, Token) and c.type in ("POINTS", "INT")][-1]
        return int(str(tok).replace("−", "-"))

    def total_max(self, children):
        return ("total_max", self._amount(children), self._span(children))

    def total_min(self, children):
        return ("total_min", self._amount(children), self._span(children))

    def weight_into(self, children):
        phrase, name = children
        value, _unit = parse_quantity(_DIGITS.search(str(phrase)).group(0) + "%")
        return ("weight", Decimal(value), str(name), self._span(children))

    # ---------------------------------------------------------------- status / target
    def case(self, children):
        return A.Case(str(children[0]), children[-1], self._span(children))

    def otherwise(self, children):
        return A.Case(str(children[0]), None, self._span(children))

    def suggest(self, children):
        expr = next(c for c in children if isinstance(c, A.Expr))
        bands = _tokens(children, "SIGNED_PERCENT")
        return ("suggest", expr, parse_band(str(bands[0])) if bands else None, self._span(children))

    # ---------------------------------------------------------------- split / pool
    def divide(self, children):
        ref = next(c for c in children if isinstance(c, A.Ref))
        return ("divide", ref, str(_tokens(children, "NAME")[-1]), self._span(children))

    def split_weight(self, children):
        value, _unit = parse_quantity(str(_tokens(children, "PERCENT")[0]))
        return ("weight", str(_tokens(children, "NAME")[0]), Decimal(value), self._span(children))

    def adjust(self, children):
        band = parse_band(str(_tokens(children, "SIGNED_PERCENT")[0]))
        return ("adjust", band, str(_tokens(children, "NAME")[0]), self._span(children))

    def pool_size(self, children):
        return ("size", children[-1], self._span(children))

    def pool_share(self, children):
        return ("share", str(_tokens(children, "NAME")[0]), children[-1], self._span(children))

    # ---------------------------------------------------------------- approval
    def change_limit(self, children):
        msg = _tokens(children, "STRING")
        return ("limit", int(str(_tokens(children, "INT")[0])),
                _unquote(msg[0]) if msg else None, self._span(children))

    def cycle(self, children):
        dur = _tokens(children, "DURATION")[0]
        value, unit = parse_quantity(str(dur))
        n = int(_number_in(dur))
        date = _tokens(children, "DATE")
        return ("cycle", (n, unit, str(date[0]) if date else None), self._span(children))

    def require(self, children):
        return ("require", children[-1], self._span(children))

    def step(self, children):
        cond = next((c for c in children if isinstance(c, A.Expr)), None)
        return A.Step([str(_tokens(children, "NAME")[0])], cond, False, self._span(children))

    def countersign(self, children):
        cond = next((c for c in children if isinstance(c, A.Expr)), None)
        roles = next(c for c in children if isinstance(c, list))
        return A.Step(roles, cond, True, self._span(children))

    # ---------------------------------------------------------------- schedule
    def weekly_at(self, children):
        names, time = _tokens(children, "NAME"), _tokens(children, "TIME")
        return A.Timing("weekly", self._span(children), weekday=str(names[0]), time=str(time[0]))

    def every_weeks_at(self, children):
        dur = _tokens(children, "DURATION")[0]
        _value, unit = parse_quantity(str(dur))
        return A.Timing("every_weeks", self._span(children), weekday=str(_tokens(children, "NAME")[0]),
                        time=str(_tokens(children, "TIME")[0]), every=int(_number_in(dur)),
                        every_unit=unit)

    def before_event(self, children):
        dur = _tokens(children, "DURATION")[0]
        value, unit = parse_quantity(str(dur))
        lead = A.Num(self._loc(dur), value=value, unit=unit, text=str(dur))
        return A.Timing("before_event", self._span(children), lead=lead,
                        event=str(_tokens(children, "NAME")[0]))

    def report(self, children):
        return A.Action("report", str(_tokens(children, "NAME")[0]), children[-1], self._span(children))

    def remind(self, children):
        lists = [c for c in children if isinstance(c, list)]
        return A.Action("remind", str(_tokens(children, "NAME")[-1]), lists[0], self._span(children))

    # ---------------------------------------------------------------- declarations
    def reference(self, children):
        names = _tokens(children, "NAME")
        label = _tokens(children, "STRING")
        ref = A.Reference(str(names[0]), self._span(children),
                          label=_unquote(label[0]) if label else None)
        for item in children:
            if isinstance(item, tuple) and item[0] == "ref_item":
                _, name, num, loc = item
                ref.items[name] = num
                ref.item_locs[name] = loc
        return ref

    def ref_item(self, children):
        return ("ref_item", str(children[0]), children[-1], self._span(children))

    def role(self, children):
        label = _tokens(children, "STRING")
        return A.RoleDecl(str(_tokens(children, "NAME")[0]), self._span(children),
                          label=_unquote(label[0]) if label else None)

    def _rule(self, cls, children, **extra):
        name = _tokens(children, "NAME")[0]
        rule = cls(str(name), self._span(children), kind=cls.__name__.lower(), **extra)
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
        elif isinstance(c, A.Example):
            rule.examples.append(c)
        elif isinstance(c, tuple):
            tag = c[0]
            if tag == "effective":
                self._set_once(rule, "effective", c[1], c[2], "effective")
            elif tag == "when":
                if rule.when_loc is not None:
                    rule.extra.append(("when", c[3]))
                else:
                    rule.at_least, rule.conditions, rule.when_loc = c[1], c[2], c[3]
                    rule.silence = c[4]
            elif tag == "notify":
                rule.notify, rule.notify_loc = rule.notify + c[1], c[2]
            elif tag == "notify_cleared":
                rule.notify_cleared = rule.notify_cleared + c[1]
                rule.notify_cleared_loc = c[2]
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

    def alert(self, children):
        level = _tokens(children, "NAME")[1]
        return self._rule(A.Alert, children, level=str(level))

    def score(self, children):
        return self._rule(A.Score, children)

    def status(self, children):
        return self._rule(A.Status, children)

    def target(self, children):
        return self._rule(A.Target, children)

    def split(self, children):
        return self._rule(A.Split, children)

    def pool(self, children):
        return self._rule(A.Pool, children)

    def approval(self, children):
        return self._rule(A.Approval, children)

    def schedule(self, children):
        name = _tokens(children, "NAME")[0]
        timing = next(c for c in children if isinstance(c, A.Timing))
        actions = [c for c in children if isinstance(c, A.Action)]
        return A.Schedule(str(name), self._span(children), timing=timing, actions=actions)

    def start(self, children):
        # A top-level `effective DATE` dates the rules after it that carry no date of their own.
        decls, effective = [], None
        for c in children:
            if isinstance(c, tuple) and c[0] == "file_effective":
                effective = c[1]
            elif isinstance(c, A.Decl):
                if isinstance(c, A.Rule) and c.effective is None and effective is not None:
                    c.effective = effective
                decls.append(c)
        return decls


def build(tree, filename: str, text: str) -> A.RuleFile:
    decls = _Builder(filename).transform(tree)
    return A.RuleFile(filename, text, decls)
