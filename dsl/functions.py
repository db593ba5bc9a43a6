"""Stage 4, second half: a rule's generated functions, assembled around the bodies the rule
compiler writes (compiler.py) and compiled once per rule shape.

    value(f, h=(), valid=False)     the headline value alone (`decide`); a RuleError when
                                    the facts do not fit.  Compiled on the first `decide`.
    evaluate(f, h=(), trace=True, valid=False)
                                    a Decision with its trace records; never an exception:
                                    what went wrong is the Decision's error

`valid=True`: the caller vouches that the facts were validated against the form's schema
(compiler.RuleCompiler.read_block), so their fields' types are not checked again.

A rule that reads earlier periods lays its history out on the calendar first
(periods.timeline).  The rule's values are globals of the functions' namespace (one per
rule), so the source depends only on the rule's shape and a code cache (source → code
object, owned by the caller: one per rule-set load) lets rules of one shape share a single
compile(); each rule runs its own copy of that code (_own_copy).
"""
from __future__ import annotations

from types import CodeType

from . import ast as A
from .annotations import Annotations
from .check_exprs import HISTORY_FUNCS
from .compiler import RuleCompiler, TooComplex
from .diagnostics import RuleError
from .kinds import KINDS
from .limits import MAX_RULE_SOURCE
from .reuse import CodeCache
from .runtime import namespace

# An evaluation error of the facts (a missing field, a wrong type, no result) said as what
# went wrong (runtime.failure): raised by the value function, a Decision with its error from
# `evaluate`.  Each is placed in the rule when it is raised, never before: the happy path
# pays nothing.
_RAISE = ["except RuleError as e:", "    raise in_rule(e, *PLACE)",
          "except FACT_FAULTS as e:", "    raise failure(e, R, FORM, LINE, PLACE) from None"]
_FAILED = "DEC(SELF, f, None, TR, {error})"
# Total: a bug of ours is still this rule's own error, never an exception.
_DECIDED = ["except Exception as e:",
            f"    return {_FAILED.format(error='failure(e, R, FORM, LINE, PLACE)')}"]
# Laying the history out on the calendar, before the body: any failure but a RuleError is ours.
_INTERNAL = "RuleError.of('eval.internal', rule=R, line=LINE, detail=f'{e.__class__.__name__}: {str(e)[:120]}')"


def function_text(comp: RuleCompiler, form, calendar: bool) -> str:
    """One function around the body `comp` writes: `value` (or `detail`), or `evaluate`
    when `comp` traces.  `calendar`: the rule reads earlier periods."""
    body = comp.body(form)
    if not comp.traced:
        text = [f"def {'value' if comp.value_only else 'detail'}(f, h=(), valid=False):", "    try:"]
        if calendar:
            text.append("        h = timeline(SCHEMA, f, h, R)")
        text += [f"        {line}" for line in body]
        return "\n".join(text + [f"    {line}" for line in _RAISE]) + "\n"
    # The records, T; what the Decision keeps, TR: T itself, or nothing when trace=False.  A
    # rule whose evaluation records nothing shares one empty tuple (no list to make).  With
    # records worked out when read (comp.derived), TR is None when trace=False: none to add.
    records = any("T.append((" in line or "guarded_traced(T" in line for line in body)
    text = ["def evaluate(f, h=(), trace=True, valid=False):"]
    if records:
        text += ["    T = []", f"    TR = T if trace else {'None' if comp.derived else '[]'}"]
    else:
        text.append("    TR = () if trace else None" if comp.derived else "    TR = ()")
    if calendar:
        text += ["    try:", "        h = timeline(SCHEMA, f, h, R)",
                 "    except RuleError as e:", f"        return {_FAILED.format(error='in_rule(e, *PLACE)')}",
                 "    except Exception as e:",
                 f"        return {_FAILED.format(error=f'in_rule({_INTERNAL}, *PLACE)')}"]
    text.append("    try:")
    text += [f"        {line}" for line in body]
    decided = _DECIDED
    if comp.derived:        # stopped by an error: no result to work them out from, so now
        late = comp.const(tuple((done, value, node)
                                for node, (_, done, value) in sorted(comp.derived.items())))
        decided = [line.replace("None, TR,", f"None, reached(TR, locals(), {late}),") for line in decided]
    return "\n".join(text + [f"    {line}" for line in decided]) + "\n"


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


def _own_copy(code: CodeType) -> CodeType:
    """The same code as a separate object, nested functions (lambdas) included.  A rule's
    values are globals of its own namespace (read as fast as closure cells, and no cell to
    copy into every call's frame); CPython keeps what it learned about a global read in the
    code object, so rules sharing a shape's code would keep unlearning each other's
    namespaces: each rule gets its own copy of the compiled code (no compile: a copy)."""
    return code.replace(co_consts=tuple(_own_copy(c) if isinstance(c, CodeType) else c
                                        for c in code.co_consts))


def compile_rule(rule: A.Rule, form, ann: Annotations, code_cache: CodeCache | dict | None = None,
                 value_cache: CodeCache | dict | None = None):
    """(decide, evaluate) functions, the generated source, the functions' globals, the
    clauses whose verdicts the trace leaves to be folded in when read (node id -> node) and
    those whose records the kind works out from its result (RuleCompiler.derived).

    decide(facts, history=(), valid=False) → the headline value (RuleError when the facts
    do not fit); evaluate(facts, history=(), trace=True, valid=False) → a Decision (its error
    set when they do not fit), with the trace records.  The caller puts the Decision type
    (DEC) and the compiled rule (SELF) into the globals before calling them.

    Only `evaluate` is compiled here.  A kind with a value-only function of its own gets a
    ValueOnFirstUse in the place of `decide`: the server decides with `evaluate` alone, and
    replay, the one caller of `decide`, pays once per rule shape.  `value_cache` is the code
    cache those later compiles share (`code_cache` when None).
    """
    calendar = reads_periods(ann.nodes)
    comp = RuleCompiler(rule, ann, traced=True, value_only=False)
    src = function_text(comp, form, calendar)
    ns = dict(_NAMESPACE)
    ns.update(R=rule.name, FORM=form.name, SCHEMA=form, LINE=rule.loc.line,
              PLACE=(rule.loc.file, rule.loc.line, rule.loc.column))
    _define(src, comp.consts, ns, code_cache)
    evaluate = ns["evaluate"]
    if KINDS[rule.kind].value_variant:
        cache = value_cache if value_cache is not None else code_cache
        return ValueOnFirstUse(rule, form, ann, calendar, ns, cache), evaluate, src, ns, \
            comp.folded, comp.derived

    def decide(facts, history=(), valid=False):
        decision = evaluate(facts, history, False, valid)
        if decision.error is not None:
            raise decision.error
        return decision.outcome[0]
    return decide, evaluate, src, ns, comp.folded, comp.derived


def _define(src: str, consts: dict, ns: dict, code_cache) -> None:
    """Compile `src` (once per shape, through the cache) and define its functions in `ns`,
    each with its own copy of the code.  TooComplex when the source is too long for one."""
    if len(src) > 2 * MAX_RULE_SOURCE:
        raise TooComplex(ns["R"])
    code = code_cache.get(src) if code_cache is not None else None
    if code is None:
        code = compile(src, "<rule>", "exec")
        if code_cache is not None:
            code_cache[src] = code
    ns.update(consts)       # names carry the variant's prefix (TC…, VC…): no clashes
    exec(code, ns)          # source generated from our templates only (see module doc)
    for fn_code in code.co_consts:      # the functions `src` defines
        if isinstance(fn_code, CodeType):
            ns[fn_code.co_name].__code__ = _own_copy(fn_code)


class ValueOnFirstUse:
    """A rule's value-only function, not yet written: `make()` writes and compiles it into the
    rule's namespace (through the shared code cache) and gives it.  CompiledRule calls it the
    first time its `decide` is read, and keeps the function: callers hold the generated
    function itself, as before.  Two threads that both come first compile it twice, to the
    same effect."""

    def __init__(self, rule: A.Rule, form, ann: Annotations, calendar: bool, ns: dict, code_cache):
        self.rule, self.form, self.ann, self.calendar, self.ns = rule, form, ann, calendar, ns
        self.code_cache = code_cache

    def make(self):
        value = self.ns.get("value")
        if value is None:
            comp = RuleCompiler(self.rule, self.ann, traced=False, value_only=True)
            try:
                _define(function_text(comp, self.form, self.calendar), comp.consts, self.ns,
                        self.code_cache)
            except (TooComplex, SyntaxError, RecursionError, MemoryError):
                # no deeper than `evaluate`, which compiled: said as the load would have
                loc = self.rule.loc
                raise RuleError.of("check.too_complex", rule=self.rule.name).at(
                    loc.file, loc.line, loc.column) from None
            value = self.ns["value"]
        return value
