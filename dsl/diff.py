"""What changed between two rule sets, in words an HRBP reads.

    健康度黄灯: threshold of `pipeline_coverage < 75%` 75% → 70%
    目标变更: step sales_director added (when abs(change) > 15%)

Each declaration is cut into clauses with a key (the case name, the step's role, the
weight's field, …).  Clauses whose meaning is equal are unchanged; the rest are added,
removed, or — when a removed and an added clause share a key — changed, and a change that
only moves numbers is told as those numbers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import ast as A
from .canon import canon
from .catalogs import tr, word
from .kinds import KINDS


@dataclass
class Change:
    rule: str
    what: str                   # added | removed | changed | rule_added | rule_removed
    clause: str                 # a label: "condition", "step", "threshold", …
    old: str | None
    new: str | None
    file: str | None = None
    line: int | None = None
    context: str | None = None  # for a threshold: the clause it sits in

    def words(self, lang: str = "en") -> str:
        label = tr(lang, _LABELS.get(self.clause, self.clause))
        args = {"rule": self.rule, "label": label, "old": self.old, "new": self.new, "context": self.context}
        if self.what == "rule_added":
            return tr(lang, "{rule}: new {label}").format(**args)
        if self.what == "rule_removed":
            return tr(lang, "{rule}: {label} removed").format(**args)
        if self.what == "added":
            return tr(lang, "{rule}: {label} added: {new}").format(**args)
        if self.what == "removed":
            return tr(lang, "{rule}: {label} removed: {old}").format(**args)
        if self.clause == "threshold":
            return tr(lang, "{rule}: threshold of {context} {old} → {new}").format(**args)
        return tr(lang, "{rule}: {label} {old} → {new}").format(**args)

    def to_json(self, lang: str = "en") -> dict:
        return {"rule": self.rule, "what": self.what, "clause": self.clause, "old": self.old,
                "new": self.new, "context": self.context, "file": self.file, "line": self.line,
                "text": self.words(lang)}


# What a clause is called (English; other languages through the catalog): the clauses every
# declaration may have, each kind's name (its own English word, marked in vocabulary.py) and
# each kind's clauses (its `clause_names`).
_LABELS = {
    "formula": word("formula"), "on": word("form"), "effective": word("effective date"),
    "timing": word("timing"), "action": word("action"), "example": word("example"),
    "reference": word("reference value"), "role": word("role"), "threshold": word("threshold"),
    "schedule": word("schedule"),
    **{name: name for name in KINDS},
    **{clause: label for kind in KINDS.values() for clause, label in kind.clause_names.items()},
}


# ---------------------------------------------------------------------- clauses of a decl
@dataclass
class _Clause:
    label: str
    key: str                    # what pairs an old and a new clause into a "change"
    meaning: str                # language-free; equal meaning = unchanged
    text: str                   # what a person reads
    node: object = None         # the AST node, for number-only changes
    line: int | None = None


def _text(node, lines) -> str:
    loc = getattr(node, "loc", None)
    if loc is None or not loc.line or loc.line > len(lines):
        return canon(node) if isinstance(node, A.Expr) else str(node)
    src = lines[loc.line - 1]
    piece = src[loc.column - 1: loc.end_column - 1] if loc.end_line == loc.line else src[loc.column - 1:]
    return "`" + re.sub(r"\s+", " ", piece.split("#")[0]).strip() + "`"


def _clauses(decl, lines) -> list[_Clause]:
    out: list[_Clause] = []

    def add(label, key, meaning, node=None, text=None):
        out.append(_Clause(label, key, meaning, text if text is not None else _text(node, lines),
                           node, getattr(getattr(node, "loc", None), "line", None)))

    if isinstance(decl, A.Reference):
        for name, num in decl.items.items():
            add("reference", name, canon(num), num, f"{decl.name}.{name} = {num.text}")
        return out
    if isinstance(decl, A.RoleDecl):
        add("role", decl.name, repr(decl.label), text=decl.label or decl.name)
        return out
    if isinstance(decl, A.Schedule):
        t = decl.timing
        add("timing", "timing", repr((t.kind, t.weekday, t.time, t.every, canon(t.lead) if t.lead else None,
                                      t.event, t.anchor, t.day, t.nths)), t)
        for a in decl.actions:
            add("action", f"{a.kind} {a.what}", repr((a.kind, a.what, a.to)), a)
        return out
    rule = decl
    if rule.on is not None:
        add("on", "on", repr((rule.on.form, rule.on.subject, rule.on.period)), rule.on)
    add("effective", "effective", repr(rule.effective), text=rule.effective or "-")
    for f in rule.formulas:
        add("formula", f.name, canon(f.expr) + (f" ±{f.bound.band}" if f.bound else ""), f)
    for ex in rule.examples:
        add("example", ex.note or repr(sorted(ex.fields)), repr(A.structure(ex)), ex)
    KINDS[rule.kind].diff(rule, add, lambda node: _text(node, lines))
    return out


def _numbers_only(old, new):
    """[(old number text, new number text)] when two nodes differ in numbers alone."""
    if old is None or new is None:
        return None
    a, b = A.structure(old), A.structure(new)
    found = []

    def walk(x, y, sign=""):
        if isinstance(x, dict) and isinstance(y, dict):
            if x.get("_") == "Neg" == y.get("_") and _is_num(x["operand"]) and _is_num(y["operand"]):
                return walk(x["operand"], y["operand"], "-")     # `-20%` is a Neg around 20%
            if x.get("_") == "Num" and y.get("_") == "Num":
                if x["value"] != y["value"] or x["unit"] != y["unit"]:
                    found.append((x, y, sign))
                return True
            return x.keys() == y.keys() and all(walk(x[k], y[k]) for k in x)
        if isinstance(x, list) and isinstance(y, list):
            return len(x) == len(y) and all(walk(i, j) for i, j in zip(x, y))
        return x == y
    if not walk(a, b) or not found:
        return None
    return [(sign + _num_text(x), sign + _num_text(y)) for x, y, sign in found]


def _is_num(node) -> bool:
    return isinstance(node, dict) and node.get("_") == "Num"


def _num_text(num: dict) -> str:
    value, unit = num["value"], num["unit"]
    from .units import UNITS
    if unit:
        shown = value / UNITS[unit][1]
        suffix = {"percent": "%", "hour": "h", "day": " days", "week": " weeks", "month": " months",
                  "yuan": "元", "wan": "万"}[unit]
        return f"{shown.normalize() if hasattr(shown, 'normalize') else shown:f}{suffix}" \
            if hasattr(shown, "normalize") else f"{shown}{suffix}"
    return str(value)


# ---------------------------------------------------------------------- the diff
def diff(old_set, new_set) -> list[Change]:
    """Changes from `old_set` to `new_set` (each a RuleSet or a CheckedRuleSet)."""
    old_decls, new_decls = _decls(old_set), _decls(new_set)
    changes: list[Change] = []
    for key in list(old_decls) + [k for k in new_decls if k not in old_decls]:
        o, n = old_decls.get(key), new_decls.get(key)
        name, kind = key[0], _kind(o or n)
        if o is None:
            assert n is not None        # the key came from one of the two sets
            changes.append(Change(name, "rule_added", kind, None, None, n[0].loc.file, n[0].loc.line))
        elif n is None:
            changes.append(Change(name, "rule_removed", kind, None, None, o[0].loc.file, o[0].loc.line))
        else:
            changes += _diff_decl(name, o, n)
    return changes


def _kind(entry) -> str:
    decl = entry[0]
    if isinstance(decl, A.Rule):
        return decl.kind
    return {A.Reference: "reference", A.RoleDecl: "role", A.Schedule: "schedule"}[type(decl)]


def _decls(ruleset) -> dict:
    checked = getattr(ruleset, "checked", ruleset)
    out = {}
    for f in checked.files:
        lines = f.text.splitlines()
        for d in f.decls:
            out[(d.name, type(d).__name__, getattr(d, "effective", None))] = (d, lines)
    return out


def _diff_decl(name, old, new) -> list[Change]:
    (od, olines), (nd, nlines) = old, new
    a, b = _clauses(od, olines), _clauses(nd, nlines)
    b_meanings = [c.meaning for c in b]
    a_meanings = [c.meaning for c in a]
    removed = [c for c in a if c.meaning not in b_meanings or _count(a, c) > _count(b, c)]
    added = [c for c in b if c.meaning not in a_meanings or _count(b, c) > _count(a, c)]
    out = []
    for c in list(removed):
        partner = next((x for x in added if x.label == c.label and x.key == c.key), None)
        if partner is None:
            continue
        removed.remove(c)
        added.remove(partner)
        numbers = _numbers_only(c.node, partner.node)
        if numbers:
            for old_n, new_n in numbers:
                out.append(Change(name, "changed", "threshold", old_n, new_n, nd.loc.file,
                                  partner.line, context=c.text))
        else:
            out.append(Change(name, "changed", c.label, c.text, partner.text, nd.loc.file, partner.line))
    out += [Change(name, "removed", c.label, c.text, None, od.loc.file, c.line) for c in removed]
    out += [Change(name, "added", c.label, None, c.text, nd.loc.file, c.line) for c in added]
    return out


def _count(clauses, c) -> int:
    return sum(1 for x in clauses if x.meaning == c.meaning)
