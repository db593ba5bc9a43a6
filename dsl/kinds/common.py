"""What every rule kind provides, and the few helpers kinds share.

A kind is one module (alert.py, score.py, …) holding its AST node and clause nodes, its typed
result, and one hook per stage; it describes itself with a `Kind` the stages find in the
registry (kinds/__init__.py).  The hooks are given the stage they serve (the builder, the
checker, the rule compiler, the interpreter's environment, the compiled rule) as an argument,
so a kind imports no stage and no stage imports a kind's insides.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Optional

from ..amounts import scale_from
from ..catalogs import tr
from ..ast import Num, Str, Word
from ..keywords import BOOL_WORDS
from ..parser import base_type
from ..units import parse_quantity


def _always(rule: Any, clause: Any, value: Any) -> bool:
    return True


@dataclass(frozen=True)
class Kind:
    name: str                   # the keyword: alert, score, …
    node: type                  # the AST node (a subclass of ast.Rule)
    result: type                # the typed result its compiled function returns (a NamedTuple)
    build: dict                 # grammar rule → builder(b, children) → AST node or clause node
    attach: Callable            # (rule, clause) → None: a built clause into its rule
    check: Callable             # (checker, rule, scope): names, types, domain checks
    limits: Callable            # (checker, rule): the numbers its clauses carry
    compile: Callable           # (rule compiler, rule): the body of the generated function
    run: Callable               # (env, rule, form) → result: the reference interpreter
    details: Callable           # (compiled, facts, result) → the decision's details
    headline: Callable          # (decision, lang) → one line of words
    diff: Callable              # (rule, add, text): its clauses for `trimtab diff`
    test_clauses: Callable      # (rule) → [(clause, its condition or None)] for coverage
    # Kinds whose decisions take well under a microsecond get a separate untraced, value-only
    # function for `decide`; for the others the traced function serves both, since a trace
    # costs little beside their work, and one function less halves Python's compile time.
    value_variant: bool = False
    expected: Optional[Callable] = None     # (checker, example, rule) → an example's expected
                                            # value; None: the kind takes no examples
    reached: Callable = _always     # (rule, clause, value): did an evaluation reach the clause?
    derive_form: Optional[Callable] = None  # (rule, props, required, notes): form constraints
    workflow: Optional[Callable] = None     # (compiled, text) → a workflow definition
    check_all: Optional[Callable] = None    # (checker, its rules): checks across the set
    records: Optional[Callable] = None      # (compiled, result, node id of) → trace records
                                            # a kind keeps in its result (a score's lines)
    trace_records: tuple = ()               # the trace record types of its own it makes, each
                                            # with its render() (see trace.py)
    derived: Optional[Callable] = None      # (compiled, result) → the records of the clauses
                                            # the compiler left to its result (compiled.derived)
    versions: Optional[Callable] = None     # (rule) → the rule as dated versions (a rating's
                                            # `part … from DATE` lines)
    names: Optional[Callable] = None        # (resolver, rule): the names its clauses carry,
                                            # ids or labels (names.py)
    words_key: Optional[Callable] = None    # (result) → a key when the decision's details and
                                            # headline follow from the result alone, else None
    params: Optional[Callable] = None       # (param_sites.Clause, rule): its tunable numbers,
                                            # each on its token (parameters.py)
    clause_names: dict = field(default_factory=dict)  # its clauses' names in `trimtab diff`
                                            # (a diff hook's first argument → word(), via tr())
    scheduled: Optional[Callable] = None    # (rule, form, annotations, source lines) → the rule
                                            # compiled for the scheduler, not for webhooks (an
                                            # alert's `when no FORM …`: kinds/silence.py), or None
    yes_no: bool = False                    # its value is yes or no, and a rule acted (an
                                            # alert fired, a change was allowed) only on yes


def expect_truth(ck: Any, ex: Any) -> Any:
    """An example of a kind whose value is true or false."""
    result = ex.result
    if isinstance(result, Word) and result.name in BOOL_WORDS:
        return BOOL_WORDS[result.name]
    ck.error("check.type_mismatch", ex.loc, expected="true or false", found=shown(result))
    return None


def expect_number(ck: Any, ex: Any) -> Any:
    """An example of a kind whose value is a number."""
    if isinstance(ex.result, Num):
        return ex.result.value
    ck.error("check.type_mismatch", ex.loc, expected="a number", found=shown(ex.result))
    return None


def shown(value: Any) -> str:
    """An example's written value, for a message."""
    if isinstance(value, Word):
        return value.name
    if isinstance(value, Num):
        return value.text
    if isinstance(value, Str):
        return value.value
    return "a list"


def missing(ck: Any, rule: Any, clause: str, loc: Any = None) -> None:
    ck.error("check.missing_clause", loc or rule.loc, kind=rule.kind, rule=rule.name, clause=clause)


def set_once(rule: Any, attr: str, clause: Any, word: str) -> None:
    """A clause a rule states once: a repeat is kept aside for the checker to report."""
    if getattr(rule, attr) is not None:
        rule.extra.append((word, clause.loc))
        return
    setattr(rule, attr, clause)


# ---------------------------------------------------------------------- rounding clause
@dataclass(eq=False)
class Rounding:
    """`round to 万[, largest remainder]`: the scale a split's or a pool's children are rounded
    to (by the largest-remainder method, the only remainder rule so far, also the default)."""
    text: str                       # the scale as written: 万, 0.01万, 元, 0.01
    step: Any                       # in the canonical unit (元 for money); None: not a scale
    money: bool
    mode: str                       # half_up | half_even
    loc: Any


def build_rounding(b: Any, children: list) -> Rounding:
    word = next(c for c in children if base_type(c.type) in ("QUANTITY", "NUMBER", "NAME"))
    mode = "half_even" if any(base_type(c.type) == "ROUND_EVEN_TO" for c in children) else "half_up"
    text = str(word)
    step, unit = None, None
    if base_type(word.type) == "NAME":
        unit = _SCALE_WORDS.get(text)
        step = None if unit is None else parse_quantity("1" + text)[0]
    else:
        step, unit = parse_quantity(text)
    return Rounding(text, None if step is None else Decimal(step), unit in ("yuan", "wan"), mode,
                    b.span(children))


_SCALE_WORDS = {"元": "yuan", "万": "wan", "万元": "wan"}


def check_rounding(ck: Any, rounding: Any, money: bool) -> None:
    """A stated scale is a positive step of the parent's kind: money for money."""
    if rounding is None:
        return
    if rounding.step is None or rounding.step <= 0:
        ck.error("check.bad_scale", rounding.loc, text=rounding.text)
    elif rounding.money and not money:
        ck.error("check.scale_not_money", rounding.loc, text=rounding.text)


def scale_of(rounding: Any, money: bool) -> Any:
    """The amounts.Scale a rule states, or the default for its kind of number."""
    if rounding is None:
        return scale_from(None, None, "half_up", money)
    return scale_from(rounding.step, None, rounding.mode, money)


def role_names(compiled, roles, lang: str, sep: str | None = None) -> str:
    """Roles as an explanation names them, joined by `sep` (a list's comma): ids in English;
    in Chinese a declared role's label (`销售总监`) or a built-in role's word (`直属上级`)."""
    sep = tr(lang, ", ") if sep is None else sep
    if lang == "en":
        return sep.join(roles)
    labels = compiled.role_labels
    return sep.join(labels.get(r) or tr(lang, r) for r in roles)
