"""Trace records evaluate() leaves out, worked out when someone reads the trace.

The generated code records as little as it can (the evaluation path is the hot one): a
comparison's two sides but not its result, no verdict for `and` / `or` / `not` over
comparisons, none for a score's line on a yes/no field (its points say it).  What was left
out follows from what was kept and the result; Decision.trace asks here.
"""
from __future__ import annotations

import operator

from . import ast as A
from .trace import Compared, Valued


def folded_by_comparison(ann, folded: dict) -> dict:
    """{comparison's node id: (clause's node id, clause, the comparison)} for the clauses the
    compiler left unrecorded (compiler.RuleCompiler.clause: `and` / `or` / `not` over
    comparisons)."""
    def comparisons(node):
        if isinstance(node, A.Compare):
            yield node
        elif isinstance(node, A.Not):
            yield from comparisons(node.operand)
        else:
            for item in node.items:
                yield from comparisons(item)
    return {ann.id_of(leaf): (clause_id, clause, leaf) for clause_id, clause in folded.items()
            for leaf in comparisons(clause)}


def is_folded(folded: dict, node_id: int) -> bool:
    return any(clause_id == node_id for clause_id, _, _ in folded.values())


_OPS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}


def typed(compiled, raw: list) -> list:
    """The records evaluate() left, typed.  A comparison's record holds its two sides; its
    result is worked out here as the generated code did.  A comparison that raises here raised
    there too, stopping the evaluation just after its record was made: it has no result, and
    is left out (a trace shows only comparisons that were decided)."""
    out = []
    for rec in raw:
        kind = rec[0]
        if kind is Compared:
            try:
                held = _OPS[compiled.nodes[rec[1]].op](rec[2], rec[3])
            except (ArithmeticError, TypeError):
                break
            out.append(Compared(rec[1], rec[2], rec[3], held))
        else:
            out.append(kind._make(rec[1:]))
    return _with_verdicts(compiled.folded, out) if compiled.folded else out


def _with_verdicts(folded: dict, records: list) -> list:
    """Each folded clause's Valued record placed where evaluating it would have put it: right
    after its last comparison's record — unless a comparison it needs has no record (the
    evaluation stopped inside the clause)."""
    out: list = []
    held: dict = {}
    for i, rec in enumerate(records):
        out.append(rec)
        found = folded.get(rec.node) if type(rec) is Compared else None
        if found is None:
            continue
        held[found[2]] = rec.held
        following = records[i + 1] if i + 1 < len(records) else None
        if type(following) is not Compared or folded.get(following.node, (None,))[0] != found[0]:
            try:
                out.append(Valued(found[0], _verdict(found[1], held)))
            except KeyError:
                pass
            held = {}
    return out


def _verdict(node, held: dict):
    """The clause's value as the generated code computes it (Python's and / or / not), from
    its comparisons' results (comparison -> held); KeyError if one it needs was not reached."""
    if isinstance(node, A.Compare):
        return held[node]
    if isinstance(node, A.Not):
        return not _verdict(node.operand, held)
    value = None
    for item in node.items:
        value = _verdict(item, held)
        if (not value) if node.op == "and" else value:
            return value
    return value


def with_derived(records: list, derived: list) -> list:
    """The records a kind works out from its result (Kind.derived) placed where evaluating
    their clauses would have put them: before the first record of a later node.  (A score's
    node ids follow its evaluation: formulas first, then line by line; such a line makes no
    other record.)"""
    out = list(records)
    for rec in derived:
        at = next((k for k, kept in enumerate(out) if kept.node > rec.node), len(out))
        out.insert(at, rec)
    return out
