"""Stage 2: Lark parse tree → typed AST (dsl/ast.py).  Pure shape-building; no name lookups."""
from __future__ import annotations

from functools import partial
from typing import NamedTuple, Optional

from lark import Token, Transformer, Tree

from . import ast as A
from .keywords import FUNCTION_BY_SPELLING, weekday_spelling
from .kinds import KINDS
from .kinds.common import set_once
from .parser import base_type
from .tokens import number_in, numbers_in, period_in, tokens, unquote
from .units import parse_band, parse_quantity

_COMPARE = {"≥": ">=", "≤": "<=", "≠": "!=", "==": "="}
_ARITH = {"×": "*", "÷": "/", "−": "-"}


def _edge(items, index):
    """(line, col, end_line, end_col) of the first (index 0) or last (-1) positioned item."""
    seq = items if index == 0 else reversed(items)
    for x in seq:
        if isinstance(x, Token):
            if x.line is None:
                continue
            column = x.column or 0
            return (x.line, column, x.end_line or x.line, x.end_column or column + len(x))
        loc = x[-1] if isinstance(x, tuple) and x and isinstance(x[-1], A.Loc) else getattr(x, "loc", None)
        if isinstance(loc, A.Loc) and loc.line:
            return (loc.line, loc.column, loc.end_line, loc.end_column)
        if isinstance(x, Tree):
            found = _edge(x.children, index)
            if found:
                return found
    return None


class RefItem(NamedTuple):
    """`name = value` in a reference declaration, before it goes into the Reference."""
    name: str
    value: A.Num
    loc: A.Loc


class _Names(list):
    """A name list that remembers where it stood."""
    loc: Optional[A.Loc] = None


class _Fields(dict):
    """Example fields that remember where they stood."""
    loc: Optional[A.Loc] = None


class _Items(list):
    """Example list items that remember where they stood."""
    loc: Optional[A.Loc] = None


class _Builder(Transformer):
    def __init__(self, filename: str):
        super().__init__(visit_tokens=False)
        self.file = filename
        # Each kind builds its own declaration and clauses (kinds/*.py, `build`).
        self._methods: dict = {name: partial(fn, self) for kind in KINDS.values()
                               for name, fn in kind.build.items()}

    def transform(self, tree):
        """Bottom-up, like Transformer.transform, without its per-call wrapping (the AST
        builder is a third of load time on a large rule set)."""
        method = self._methods.get(tree.data)
        if method is None:
            method = self._methods[tree.data] = getattr(self, tree.data, None) or \
                (lambda children, _d=tree.data: Tree(_d, children))
        return method([self.transform(c) if isinstance(c, Tree) else c for c in tree.children])

    # ---------------------------------------------------------------- locations
    def loc(self, tok: Token) -> A.Loc:
        line, column = tok.line or 0, tok.column or 0
        return A.Loc(self.file, line, column, tok.end_line or line, tok.end_column or column + len(tok))

    def span(self, children) -> A.Loc:
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
        loc = self.span(children)
        if tok.type == "STRING":
            return A.Str(loc, value=unquote(tok))
        value, unit = parse_quantity(str(tok))
        return A.Num(loc, value=value, unit=unit, text=str(tok))

    def field_ref(self, children):
        return A.Ref(self.span(children), parts=[str(c) for c in children])

    def or_(self, children):
        items = [c for c in children if not isinstance(c, Token)]
        return items[0] if len(items) == 1 else A.BoolOp(self.span(children), op="or", items=items)

    def and_(self, children):
        items = [c for c in children if not isinstance(c, Token)]
        return items[0] if len(items) == 1 else A.BoolOp(self.span(children), op="and", items=items)

    def not_(self, children):
        return A.Not(self.span(children), operand=children[-1])

    def compare(self, children):
        left, op, right = children
        return A.Compare(self.span(children), op=_COMPARE.get(str(op), str(op)), left=left, right=right)

    def consecutive(self, children):
        left, op, right, phrase = children
        node = A.Compare(self.span(children), op=_COMPARE.get(str(op), str(op)), left=left, right=right)
        node.consecutive = A.Consecutive(int(number_in(phrase)), period_in(phrase),
                                         self.loc(phrase))
        return node

    def binary(self, children):
        left, op, right = children
        return A.Binary(self.span(children), op=_ARITH.get(str(op), str(op)), left=left, right=right)

    def neg(self, children):
        return A.Neg(self.span(children), operand=children[-1])

    def percent_of(self, children):
        pct_tok, _of, operand = children
        value, unit = parse_quantity(str(pct_tok))
        pct = A.Num(self.loc(pct_tok), value=value, unit=unit, text=str(pct_tok))
        return A.PercentOf(self.span(children), percent=pct, operand=operand)

    def paren(self, children):
        # Grouping changes nothing but the span: the expression now includes its parentheses.
        inner = children[1]
        inner.loc = self.span(children)
        return inner

    def call(self, children):
        name_tok, args = children[0], children[2]
        spelled = str(name_tok)
        call = A.Call(self.span(children), func=FUNCTION_BY_SPELLING.get(spelled, ""),
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
                window = A.Window(int(number_in(c)), period_in(c), self.loc(c))
            elif isinstance(c, Token) and c.type == "THIS_PERIOD":
                window = A.Window(0, period_in(c), self.loc(c), so_far=True)
            elif expect_where:
                where, expect_where = c, False
            else:
                args.append(c)
        return args, where, window

    # ---------------------------------------------------------------- shared clauses
    def name_list(self, children):
        names = _Names(str(c) for c in children)
        names.loc = self.span(children)
        return names

    def period(self, children):
        return {"WEEKLY": "week", "BIWEEKLY": "biweek", "MONTHLY": "month",
                "QUARTERLY": "quarter"}[base_type(children[0].type)]

    def on_form(self, children):
        names = tokens(children, "NAME")
        period = next((c for c in children if isinstance(c, str) and not isinstance(c, Token)), None)
        return A.OnForm(str(names[0]), str(names[1]), period, self.span(children))

    def effective(self, children):
        return A.Effective(str(tokens(children, "DATE")[0]), self.span(children))

    def bound(self, children):
        band = parse_band(str(tokens(children, "SIGNED_PERCENT")[0]))
        of = next((c for c in children if isinstance(c, A.Expr)), None)
        return A.Bound(band, of, self.span(children))

    def formula(self, children):
        name = str(children[0])
        expr = children[2] if isinstance(children[1], Token) else children[1]
        exprs = [c for c in children[1:] if isinstance(c, A.Expr)]
        bound = next((c for c in children if isinstance(c, A.Bound)), None)
        return A.Formula(name, exprs[0] if exprs else expr, bound, self.span(children))

    # ---------------------------------------------------------------- examples
    def example(self, children):
        note = tokens(children, "STRING")
        fields = next(c for c in children if isinstance(c, dict))
        result = children[-1]
        return A.Example(unquote(note[0]) if note else None, fields, result, self.span(children))

    def example_fields(self, children):
        fields = _Fields((name, value) for name, value, _loc in children)
        fields.loc = self.span([loc for _n, _v, loc in children])
        return fields

    def example_field(self, children):
        return (str(children[0]), children[1], self.span(children))

    def negative(self, children):
        num = children[-1]
        if isinstance(num, A.Num):
            num.value = -num.value
            num.text = "-" + num.text
        return num

    def word(self, children):
        return A.Word(str(children[0]), self.loc(children[0]))

    def items(self, children):
        items = _Items(c for c in children if isinstance(c, dict))
        items.loc = self.span(children) if children else None
        return items

    def example_item(self, children):
        return children[0]

    def file_effective(self, children):
        return A.Effective(str(tokens(children, "DATE")[0]), self.span(children), top=True)

    # ---------------------------------------------------------------- schedule
    def weekly_at(self, children):
        names, time = tokens(children, "NAME"), tokens(children, "TIME")
        return A.Timing("weekly", self.span(children), weekday=weekday_spelling(str(names[0])), time=str(time[0]))

    def every_weeks_at(self, children):
        dur = tokens(children, "DURATION")[0]
        _value, unit = parse_quantity(str(dur))
        return A.Timing("every_weeks", self.span(children), weekday=weekday_spelling(str(tokens(children, "NAME")[0])),
                        time=str(tokens(children, "TIME")[0]), every=int(number_in(dur)),
                        every_unit=unit or "")

    def every_days_at(self, children):
        dur = tokens(children, "DURATION")[0]
        _value, unit = parse_quantity(str(dur))
        return A.Timing("every_days", self.span(children), time=str(tokens(children, "TIME")[0]),
                        every=int(number_in(dur)), every_unit=unit or "",
                        anchor=str(tokens(children, "DATE")[0]))

    def monthly_day_at(self, children):
        return A.Timing("monthly_day", self.span(children), time=str(tokens(children, "TIME")[0]),
                        day=int(number_in(tokens(children, "DAY_OF_MONTH")[0])))

    def monthly_nth_at(self, children):
        nths = numbers_in(tokens(children, "NTH_WEEKDAYS")[0])
        return A.Timing("monthly_nth", self.span(children), weekday=weekday_spelling(str(tokens(children, "NAME")[0])),
                        time=str(tokens(children, "TIME")[0]), nths=nths)

    def before_event(self, children):
        dur = tokens(children, "DURATION")[0]
        value, unit = parse_quantity(str(dur))
        lead = A.Num(self.loc(dur), value=value, unit=unit, text=str(dur))
        return A.Timing("before_event", self.span(children), lead=lead,
                        event=str(tokens(children, "NAME")[0]))

    def report(self, children):
        return A.Action("report", str(tokens(children, "NAME")[0]), children[-1], self.span(children))

    def remind(self, children):
        lists = [c for c in children if isinstance(c, list)]
        return A.Action("remind", str(tokens(children, "NAME")[-1]), lists[0], self.span(children))

    # ---------------------------------------------------------------- declarations
    def reference(self, children):
        names = tokens(children, "NAME")
        label = tokens(children, "STRING")
        ref = A.Reference(str(names[0]), self.span(children),
                          label=unquote(label[0]) if label else None)
        for item in children:
            if isinstance(item, RefItem):
                ref.items[item.name] = item.value
                ref.item_locs[item.name] = item.loc
        return ref

    def ref_item(self, children):
        return RefItem(str(children[0]), children[-1], self.span(children))

    def role(self, children):
        label = tokens(children, "STRING")
        return A.RoleDecl(str(tokens(children, "NAME")[0]), self.span(children),
                          label=unquote(label[0]) if label else None)

    def rule(self, cls, children, **extra):
        """A rule of one kind: its common clauses here, the rest by its kind's attach hook."""
        name = tokens(children, "NAME")[0]
        rule = cls(str(name), self.span(children), kind=cls.__name__.lower(), **extra)
        attach = KINDS[rule.kind].attach
        for c in children:
            if isinstance(c, Token):
                continue
            if isinstance(c, A.OnForm):
                set_once(rule, "on", c, "on")
            elif isinstance(c, A.Effective):
                if rule.effective is not None:
                    rule.extra.append(("effective", c.loc))
                else:
                    rule.effective = c.date
            elif isinstance(c, A.Formula):
                rule.formulas.append(c)
            elif isinstance(c, A.Example):
                rule.examples.append(c)
            else:
                attach(rule, c)
        return rule

    def schedule(self, children):
        name = tokens(children, "NAME")[0]
        timing = next(c for c in children if isinstance(c, A.Timing))
        actions = [c for c in children if isinstance(c, A.Action)]
        return A.Schedule(str(name), self.span(children), timing=timing, actions=actions)

    def start(self, children):
        # A top-level `effective DATE` dates the rules after it that carry no date of their own.
        decls: list = []
        effective = None
        for c in children:
            if isinstance(c, A.Effective):
                effective = c.date
            elif isinstance(c, A.Decl):
                if isinstance(c, A.Rule) and c.effective is None and effective is not None:
                    c.effective = effective
                versions = KINDS[c.kind].versions if isinstance(c, A.Rule) else None
                decls.extend(versions(c) if versions is not None else [c])
        return decls


def build(tree, filename: str, text: str) -> A.RuleFile:
    decls = _Builder(filename).transform(tree)
    return A.RuleFile(filename, text, decls)
