"""Stage 2 output: typed AST nodes with source locations — expressions, the clauses every
rule may carry, and the declarations.  Each rule kind's own node and clauses live in its
module under kinds/.

No stage writes into these nodes after the builder: what the checker learns (types, bindings,
node ids) is kept beside them (annotations.py).  Later stages never look at Lark trees.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple, Optional, TypeVar

T = TypeVar("T")


def given(part: Optional[T]) -> T:
    """A part the checker has made sure of (stages after it only see what it accepted)."""
    assert part is not None, "a checked rule has this part"
    return part


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


@dataclass(eq=False)
class Num(Expr):
    value: Decimal | int = Decimal(0)   # in the canonical unit of its dimension
    unit: Optional[str] = None      # unit as written: percent, hour, day, week, month, yuan, wan
    text: str = ""


@dataclass(eq=False)
class Str(Expr):
    value: str = ""


@dataclass(eq=False)
class Ref(Expr):
    parts: list = field(default_factory=list)   # e.g. ["industry", "effective_visits"]

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(eq=False)
class Window:
    n: int             # periods, the current one included (0 with so_far: known only then)
    unit: str          # week | month | quarter
    loc: Loc = field(repr=False, compare=False)
    so_far: bool = False    # `this month`: the form's periods so far inside the current `unit`


@dataclass(eq=False)
class Call(Expr):
    func: str = ""                  # canonical function name (keywords.FUNCTIONS)
    spelled: str = ""               # as written, for messages
    args: list = field(default_factory=list)
    where: Optional[Expr] = None
    window: Optional[Window] = None


@dataclass(eq=False, kw_only=True)
class Binary(Expr):
    op: str = "+"                   # + - * /
    left: Expr
    right: Expr


@dataclass(eq=False, kw_only=True)
class Neg(Expr):
    operand: Expr


@dataclass(eq=False, kw_only=True)
class PercentOf(Expr):
    percent: Num
    operand: Expr


@dataclass(eq=False)
class Consecutive:
    n: int
    unit: str
    loc: Loc = field(repr=False, compare=False)


@dataclass(eq=False, kw_only=True)
class Compare(Expr):
    op: str = "<"                   # < <= > >= = !=
    left: Expr
    right: Expr
    consecutive: Optional[Consecutive] = None


@dataclass(eq=False)
class BoolOp(Expr):
    op: str = "and"                 # and | or
    items: list = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class Not(Expr):
    operand: Expr


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
class Effective:
    """`effective DATE`: in a rule, when it takes effect; alone at the top of a file, the date of
    every rule below it that states none."""
    date: str
    loc: Loc
    top: bool = False


@dataclass(eq=False)
class Formula:
    name: str
    expr: Expr
    bound: Optional[Bound]
    loc: Loc


@dataclass(eq=False)
class Timing:
    # weekly | every_weeks | every_days | monthly_day | monthly_nth | before_event
    kind: str
    loc: Loc
    weekday: Optional[str] = None
    time: Optional[str] = None
    every: int = 1                  # every N weeks; every N days (or weeks) from `anchor`
    every_unit: str = "week"
    lead: Optional[Num] = None      # 48 hours before …
    event: Optional[str] = None
    anchor: Optional[str] = None    # every N days from DATE: the first day it fires
    day: Optional[int] = None       # monthly on day D
    nths: tuple = ()                # monthly on the 2nd and 4th <weekday>: (2, 4)


@dataclass(eq=False)
class Action:
    kind: str                       # report | remind
    what: str
    to: list
    loc: Loc


class Word(NamedTuple):
    """A bare word written as an example's value (`status = 达标`, `allowed = true`)."""
    name: str
    loc: Loc


@dataclass(eq=False)
class Example:
    """`example "note": field = value, … → expected`; the checker turns it into facts and an
    expected value (annotations.Annotations.example)."""
    note: Optional[str]
    fields: dict                    # name -> value: Num, Str, Word or list of dicts
    result: object                  # the expected value, same shapes
    loc: Loc


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
    """Everything that evaluates facts of one form; each kind's node (kinds/) extends it."""
    kind: str = ""
    on: Optional[OnForm] = None
    effective: Optional[str] = None
    formulas: list = field(default_factory=list)
    examples: list = field(default_factory=list)
    extra: list = field(default_factory=list)       # clauses seen twice, for the checker


@dataclass(eq=False, kw_only=True)
class Schedule(Decl):
    timing: Timing
    actions: list = field(default_factory=list)


@dataclass(eq=False)
class RuleFile:
    path: str
    text: str
    decls: list = field(default_factory=list)


_NOT_MEANING = {"loc", "spelled", "text", "item_locs"}


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
