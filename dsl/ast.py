"""Stage 2 output: typed AST nodes with source locations.

The checker fills in `ty` (and, for names, `binding`) on expression nodes; later stages read
those annotations and never look at Lark trees.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Optional


@dataclass
class Loc:
    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


# ------------------------------------------------------------------ expressions
@dataclass(eq=False)
class Expr:
    loc: Loc = field(repr=False, compare=False)
    ty: Any = field(default=None, init=False, repr=False, compare=False)
    node_id: int = field(default=-1, init=False, repr=False, compare=False)


@dataclass(eq=False)
class Num(Expr):
    value: Decimal = Decimal(0)     # in the canonical unit of its dimension
    unit: Optional[str] = None      # unit as written: percent, hour, day, week, month, yuan, wan
    text: str = ""


@dataclass(eq=False)
class Str(Expr):
    value: str = ""


@dataclass(eq=False)
class Ref(Expr):
    parts: list = field(default_factory=list)   # e.g. ["industry", "effective_visits"]
    binding: Any = field(default=None, init=False, repr=False)

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(eq=False)
class Window:
    n: int
    unit: str          # week | month | quarter
    loc: Loc = field(repr=False, compare=False)


@dataclass(eq=False)
class Call(Expr):
    func: str = ""                  # canonical function name (keywords.FUNCTIONS)
    spelled: str = ""               # as written, for messages
    args: list = field(default_factory=list)
    where: Optional[Expr] = None
    window: Optional[Window] = None


@dataclass(eq=False)
class Binary(Expr):
    op: str = "+"                   # + - * /
    left: Expr = None
    right: Expr = None


@dataclass(eq=False)
class Neg(Expr):
    operand: Expr = None


@dataclass(eq=False)
class PercentOf(Expr):
    percent: Num = None
    operand: Expr = None


@dataclass(eq=False)
class Consecutive:
    n: int
    unit: str
    loc: Loc = field(repr=False, compare=False)


@dataclass(eq=False)
class Silence:
    """`when no FORM for N consecutive weeks`: the form did not arrive, N periods running."""
    form: str
    n: int
    unit: str
    loc: Loc = field(repr=False, compare=False)
    node_id: int = field(default=-1, repr=False, compare=False)


@dataclass(eq=False)
class Compare(Expr):
    op: str = "<"                   # < <= > >= = !=
    left: Expr = None
    right: Expr = None
    consecutive: Optional[Consecutive] = None


@dataclass(eq=False)
class BoolOp(Expr):
    op: str = "and"                 # and | or
    items: list = field(default_factory=list)


@dataclass(eq=False)
class Not(Expr):
    operand: Expr = None


# ------------------------------------------------------------------ clauses
@dataclass(eq=False)
class OnForm:
    form: str
    subject: str
    period: Optional[str]
    loc: Loc


@dataclass(eq=False)
class Bound:
    band: Decimal                   # 0.15 for ±15%
    of: Optional[Expr]              # the centre; None means 100%
    loc: Loc


@dataclass(eq=False)
class Formula:
    name: str
    expr: Expr
    bound: Optional[Bound]
    loc: Loc


@dataclass(eq=False)
class PointsLine:
    kind: str                       # every | per | when | each
    points: int
    loc: Loc
    n: int = 1                      # for every N
    field: Optional[Ref] = None     # every / per
    cond: Optional[Expr] = None     # when / each
    item: Optional[str] = None      # each: the list field's item name as written
    cap: Optional[int] = None
    node_id: int = -1


@dataclass(eq=False)
class Case:
    name: str
    cond: Optional[Expr]            # None for `otherwise`
    loc: Loc


@dataclass(eq=False)
class Step:
    roles: list                     # one role for a step, several for a countersign
    cond: Optional[Expr]
    countersign: bool
    loc: Loc


@dataclass(eq=False)
class Timing:
    kind: str                       # weekly | every_weeks | before_event
    loc: Loc
    weekday: Optional[str] = None
    time: Optional[str] = None
    every: int = 1                  # every N weeks
    every_unit: str = "week"
    lead: Optional[Num] = None      # 48 hours before …
    event: Optional[str] = None


@dataclass(eq=False)
class Action:
    kind: str                       # report | remind
    what: str
    to: list
    loc: Loc


@dataclass(eq=False)
class Example:
    """`example "note": field = value, … → expected`; the checker fills facts and expected."""
    note: Optional[str]
    fields: dict                    # name -> value: Num, Str, ("word", name) or list of dicts
    result: object                  # the expected value, same shapes
    loc: Loc
    facts: dict = field(default_factory=dict, repr=False)
    expected: object = None


# ------------------------------------------------------------------ declarations
@dataclass(eq=False)
class Decl:
    name: str
    loc: Loc


@dataclass(eq=False)
class Reference(Decl):
    label: Optional[str] = None
    items: dict = field(default_factory=dict)       # name -> Num
    item_locs: dict = field(default_factory=dict)


@dataclass(eq=False)
class RoleDecl(Decl):
    label: Optional[str] = None


@dataclass(eq=False)
class Rule(Decl):
    """Everything that evaluates facts of one form."""
    kind: str = ""
    on: Optional[OnForm] = None
    effective: Optional[str] = None
    formulas: list = field(default_factory=list)
    examples: list = field(default_factory=list)
    extra: list = field(default_factory=list)       # clauses seen twice, for the checker


@dataclass(eq=False)
class Alert(Rule):
    level: str = ""
    conditions: list = field(default_factory=list)
    at_least: Optional[int] = None                  # None: a single `when`
    when_loc: Optional[Loc] = None
    silence: Optional[Silence] = None               # when no FORM …: run by the scheduler
    notify: list = field(default_factory=list)
    notify_loc: Optional[Loc] = None
    notify_cleared: list = field(default_factory=list)     # `notify … when cleared`
    notify_cleared_loc: Optional[Loc] = None
    message: Optional[str] = None
    message_loc: Optional[Loc] = None


@dataclass(eq=False)
class Score(Rule):
    lines: list = field(default_factory=list)
    total_max: Optional[int] = None
    total_min: Optional[int] = None
    total_loc: Optional[Loc] = None
    weight: Optional[Decimal] = None
    rating: Optional[str] = None
    weight_loc: Optional[Loc] = None


@dataclass(eq=False)
class Status(Rule):
    cases: list = field(default_factory=list)


@dataclass(eq=False)
class Target(Rule):
    suggest: Optional[Expr] = None
    range_band: Optional[Decimal] = None
    suggest_loc: Optional[Loc] = None


@dataclass(eq=False)
class Split(Rule):
    total: Optional[Ref] = None
    across: Optional[str] = None
    divide_loc: Optional[Loc] = None
    weights: list = field(default_factory=list)     # (item field, Decimal share, Loc)
    adjust_band: Optional[Decimal] = None
    reason_field: Optional[str] = None
    adjust_loc: Optional[Loc] = None


@dataclass(eq=False)
class Pool(Rule):
    size: Optional[Expr] = None
    among: Optional[str] = None
    by: Optional[Expr] = None
    share_loc: Optional[Loc] = None


@dataclass(eq=False)
class Approval(Rule):
    limit: Optional[int] = None
    limit_message: Optional[str] = None
    limit_loc: Optional[Loc] = None
    cycle: Optional[tuple] = None                   # (n, unit, anchor date text or None)
    cycle_loc: Optional[Loc] = None
    require: list = field(default_factory=list)
    require_loc: Optional[Loc] = None
    steps: list = field(default_factory=list)


@dataclass(eq=False)
class Schedule(Decl):
    timing: Optional[Timing] = None
    actions: list = field(default_factory=list)


@dataclass(eq=False)
class RuleFile:
    path: str
    text: str
    decls: list = field(default_factory=list)


_NOT_MEANING = {"loc", "ty", "node_id", "binding", "spelled", "text", "item_locs", "facts", "expected",
                "when_loc", "notify_loc", "notify_cleared_loc", "message_loc", "total_loc", "weight_loc", "suggest_loc",
                "divide_loc", "adjust_loc", "share_loc", "limit_loc", "cycle_loc", "require_loc"}


def structure(node):
    """What a node means, without where it stands or how its keywords were spelled: two
    files that format to different languages have equal structures when they mean the same."""
    from dataclasses import fields, is_dataclass
    if isinstance(node, Loc):
        return None
    if is_dataclass(node):
        out = {"_": type(node).__name__}
        for f in fields(node):
            if f.name in _NOT_MEANING:
                continue
            out[f.name] = structure(getattr(node, f.name))
        if isinstance(node, RuleFile):
            out.pop("path", None)
            out.pop("text", None)
        return out
    if isinstance(node, (list, tuple)):
        return [structure(x) for x in node]
    if isinstance(node, dict):
        return {k: structure(v) for k, v in node.items()}
    return node
