"""Decisions and their plain-language explanations (zh-CN and en)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from . import ast as A
from .amounts import Amount
from .trace import GENERIC, Compared, Missing, Short, Valued
from .trace_read import is_folded, typed, with_derived
from .units import UNIT_WORDS, dimension, in_unit
from .catalogs import tr
from .diagnostics import RuleError
from .runtime import in_rule
from .words import JSON_SCALARS, WORDS_KEPT, plain, render_message, show

__all__ = ["Decision", "plain", "render_message", "show", "source_text", "render_record"]


class Decision(msgspec.Struct, gc=False, eq=False):
    """What one rule decided for one set of facts: its compiled rule, the facts, the kind's
    result as a plain tuple (`outcome`; None on error), the trace records as evaluate() left
    them (`records`; None when evaluated with trace=False) and the error (a RuleError when the
    facts did not fit).

    A msgspec Struct, built by the generated evaluate() on every evaluation: it costs 120 ns
    to make where a tuple subclass cost 310 (tuple's subtype path allocates twice) — on this
    path's traced decisions, a third of what the trace adds (docs/performance.md).  Not
    tracked by the garbage collector (`gc=False`; tracking would add 30 ns): a Decision refers
    to its rule, facts, result, records, error and details, none of which refers back to a
    Decision, so it is never part of a cycle.  The details dict and the words are built only
    when someone asks, the details once (`built`: a notification reads them several times, the
    headline and the stored document once more).  Not frozen, for that one field, which
    nothing else writes; compared by identity (`eq=False`): two evaluations are two
    decisions."""

    compiled: Any               # ruleset.CompiledRule (or CompiledSilence)
    facts: Any
    outcome: Any
    records: Any
    error: Any
    built: Any = None           # the details, once someone asked (Decision.details)

    @property
    def raw(self):
        """The rule's result: its kind's NamedTuple (AlertResult, ScoreResult, …); None on
        error.  Kept as a plain tuple until someone asks."""
        raw = self.outcome
        return None if raw is None else self.compiled.hooks.result._make(raw)

    @property
    def trace(self) -> list:
        """The trace records (trace.py), in evaluation order.  Kept as tagged tuples
        (record type, fields…) until someone asks; the verdicts of clauses folded at compile
        time (`and` / `or` / `not` over comparisons) are added here, and the records a kind
        works out from its result (a score's yes/no lines)."""
        compiled = self.compiled
        if self.records is None:        # evaluated with trace=False
            return []
        records = typed(compiled, self.records)
        if compiled.derived and self.outcome is not None:
            return with_derived(records, compiled.hooks.derived(compiled, self.outcome))
        return records

    @property
    def rule(self) -> str:
        return self.compiled.name

    @property
    def kind(self) -> str:
        return self.compiled.kind

    @property
    def value(self):
        """The headline: fired?, points, case, suggested amount, shares, allowed?"""
        return None if self.outcome is None else self.outcome[0]

    @property
    def details(self) -> dict:
        """The decision in fields (its kind's `details` hook), built on the first asking and
        kept; {} after an error.  The callers read it and never change it."""
        built = self.built
        if built is None:
            built = self.built = {} if self.outcome is None else \
                self.compiled.hooks.details(self.compiled, self.facts, self.raw)
        return built

    # ------------------------------------------------------------------ stored, explained later
    def compact(self) -> dict:
        """What to store to explain this decision later, JSON-ready and exact: the result and
        the trace records as evaluate() left them (`"as": "evaluated"`; no words, and not the
        verdicts or records worked out when the trace is read — they follow again from these).
        `Decision.revive` with the same compiled rule and facts gives a Decision whose details,
        headline and explanation are this one's."""
        # On every webhook's path: JSON's own values and plain Decimals (most of a trace's
        # values) packed inline, without a call.
        error, records = self.error, self.records
        return {"rule": self.compiled.name, "raw": _pack(self.outcome), "as": EVALUATED,
                "trace": None if records is None else
                [[rec[0].__name__, *[v if (t := type(v)) in _AS_IS else {"$d": str(v)}
                                     if t is Decimal else _pack(v) for v in rec[1:]]]
                 for rec in records],
                "error": None if error is None else
                {"code": error.code, "args": _pack(error.details)} if isinstance(error, RuleError) else None}

    @classmethod
    def revive(cls, compiled, facts, doc: dict) -> "Decision":
        """The Decision `compact()` stored, for `compiled` (the same version of the rule)."""
        if doc.get("rule") != compiled.name:
            raise ValueError(f"a decision of {doc.get('rule')!r}, not of {compiled.name!r}")
        raw = _unpack(doc["raw"])
        types = _record_types(compiled)
        if doc.get("as") == EVALUATED:
            evaluated = None if doc["trace"] is None else \
                [(types[rec[0]], *_unpack(rec[1:])) for rec in doc["trace"]]
            return cls(compiled, facts, raw, evaluated, _error(compiled, doc))
        # Stored before 2026-11-30: the records as Decision.trace reads them
        stored = [(types[rec[0]], *_unpack(rec[1:4] if rec[0] == "Compared" else rec[1:]))
                  for rec in doc["trace"]          # as evaluate() records: see trace_read.typed
                  if not (rec[0] == "Valued" and is_folded(compiled.folded, rec[1]))]
        trace: list | None = stored
        if compiled.derived and raw is not None:    # worked out when read, as evaluate() left them
            trace = [rec for rec in stored if not (rec[0] is Valued and rec[1] in compiled.derived)]
            trace = None if len(trace) == len(stored) else trace    # none stored: trace=False
        return cls(compiled, facts, raw, trace, _error(compiled, doc))

    def __repr__(self) -> str:
        return f"Decision({self.rule!r}, value={self.value!r}, error={self.error!r})"

    def to_json(self, lang: str = "en", with_trace: bool = True) -> dict:
        compiled = self.compiled
        header = compiled.words.get("header")
        if header is None:          # the rule's own fields, the same in every decision
            loc = compiled.rule.loc
            header = compiled.words["header"] = {"rule": compiled.name, "kind": compiled.kind,
                                                 "form": compiled.form.name, "file": loc.file,
                                                 "line": loc.line}
        if self.error is not None:
            out = dict(header)
            out["error"] = self.error.to_json(lang)
            return out
        # A kind whose words follow from the result alone (an alert that did not fire: most
        # decisions) names a key for them: they are worked out once per rule, result and language.
        key = getattr(compiled.hooks, "words_key", None)
        key = key(self.outcome) if key is not None else None
        said = None if key is None else compiled.words.get((lang, key))
        if said is None:
            said = dict(header)
            value = self.value
            said["value"] = value if type(value) in _AS_IS else plain(value)
            details = self.details
            # JSON's own values as they are (most of them): plain() for the rest
            said.update({k: v if type(v) in _AS_IS else plain(v) for k, v in details.items()})
            # The kind's headline reads the details too: built above, kept on the decision
            said["explanation"] = compiled.hooks.headline(self, lang)
            if key is not None and len(compiled.words) < WORDS_KEPT:
                compiled.words[(lang, key)] = said
        # The caller's own dict (a stored document adds its records); its lists are shared
        # with the kept words, and nothing changes them in place.
        out = dict(said)
        if with_trace:
            out["trace"] = self.explain_lines(lang)
        return out

    def headline(self, lang: str = "en") -> str:
        if self.error is not None:
            return self.error.message(lang)
        return self.compiled.hooks.headline(self, lang)

    def explain_lines(self, lang: str = "en", held_only: bool = False) -> list[str]:
        """The trace in words, one line per record; `held_only`: only what held — the values
        that made an alert fire and their thresholds (a notification's lines)."""
        lines, previous = [], None
        records = list(self.trace)
        compiled = self.compiled
        kept = getattr(compiled.hooks, "records", None)
        if kept is not None and self.raw is not None:       # records a kind keeps in its result
            records += kept(compiled, self.raw, compiled.ann.id_of)
        if held_only:
            records = [rec for rec in records if _held(rec)]
        # Node ids follow the source, so sorting by id tells the story in the file's order.
        for rec in sorted(records, key=_record_id):
            if not _said_already(self.compiled, rec, previous):
                lines.append(render_record(self.compiled, rec, lang))
            previous = rec
        return lines

    def explain(self, lang: str = "en") -> str:
        lines = [self.headline(lang)] + ["  " + line for line in self.explain_lines(lang)]
        return "\n".join(lines)


def _held(rec) -> bool:
    """A record that speaks for the result: a comparison or clause that held, a value worked
    out, a silence; not what failed or was missing."""
    kind = type(rec)
    if kind is Compared:
        return bool(rec.held)
    if kind is Valued:
        return rec.value is not False
    return kind not in (Missing, Short)


GENERIC_RECORDS = {cls.__name__: cls for cls in GENERIC}


def _record_types(compiled) -> dict:
    """Record types by name, for reading stored records back: the generic ones and those the
    rule's kind makes (its hooks' `trace_records`)."""
    own = compiled.hooks.trace_records
    return {**GENERIC_RECORDS, **{cls.__name__: cls for cls in own}} if own else GENERIC_RECORDS


EVALUATED = "evaluated"     # a compact document's records as evaluate() left them (Decision.compact)


def _error(compiled, doc: dict):
    """The RuleError a compact document stored, placed in its rule; None."""
    err = doc.get("error")
    if err is None:
        return None
    loc = compiled.rule.loc
    return in_rule(RuleError.of(err["code"], **_unpack(err["args"])), loc.file, loc.line, loc.column)
_AS_IS = JSON_SCALARS          # JSON's own: most trace values


def _pack(value):
    """JSON-ready and exact: a Decimal is {"$d": "0.15"}, an Amount {"$a": "0.15"}, a tuple
    {"$t": [...]}; the common values first (every webhook's decisions are packed)."""
    if type(value) in _AS_IS:
        return value
    if isinstance(value, Amount):
        return {"$a": str(value)}
    if isinstance(value, Decimal):
        return {"$d": str(value)}
    if isinstance(value, tuple):
        return {"$t": [v if type(v) in _AS_IS else _pack(v) for v in value]}
    if isinstance(value, list):
        return [v if type(v) in _AS_IS else _pack(v) for v in value]
    if isinstance(value, dict):
        return {k: _pack(v) for k, v in value.items()}
    return value


def _unpack(value):
    if isinstance(value, list):
        return [_unpack(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and "$d" in value:        # no formula or field is called `$d`
            return Decimal(value["$d"])
        if len(value) == 1 and "$a" in value:
            return Amount(value["$a"])
        if len(value) == 1 and "$t" in value:
            return tuple(_unpack(v) for v in value["$t"])
        return {k: _unpack(v) for k, v in value.items()}
    return value


def _record_id(record) -> int:
    return record[0]


def _said_already(compiled, rec, previous) -> bool:
    """A clause's verdict after its own comparison was shown with its values (unless it is a
    streak, whose verdict is more than this period's comparison), or after the record that
    says why it could not hold (a missing period, too little history)."""
    if previous is None or previous.node != rec.node or type(rec) not in _VERDICTS:
        return False
    if type(previous) is Compared:
        return getattr(compiled.nodes[rec.node], "consecutive", None) is None
    return type(previous) in (Missing, Short)


_VERDICTS = (Valued, Short)


# ---------------------------------------------------------------------- trace records
def source_text(compiled, node) -> str:
    loc = node.loc
    lines = compiled.lines
    if not (0 < loc.line <= len(lines)):
        return ""
    text = lines[loc.line - 1]
    if loc.end_line == loc.line:
        return text[loc.column - 1: loc.end_column - 1].strip()
    return text[loc.column - 1:].strip()


def _label(compiled, node_id: int):
    """(node, its source text, file:line) — the same for every decision of a rule, so kept
    on the compiled rule after the first time (rendering traces is on the webhook's path)."""
    labels = compiled.__dict__.setdefault("_labels", {})
    found = labels.get(node_id)
    if found is None:
        node = compiled.nodes[node_id]
        found = labels[node_id] = (node, source_text(compiled, node),
                                   f"{compiled.rule.loc.file.rsplit('/', 1)[-1]}:{node.loc.line}")
    return found


def _duration_unit(compiled, node) -> str:
    """The unit a comparison of durations is shown in: the one its literal was written in
    (`> 60 天`), else its field's (x-unit), else hours."""
    for side in (node.right, node.left):
        if isinstance(side, A.Num) and side.unit and dimension(side.unit) == "duration":
            return side.unit
    for side in (node.left, node.right):
        f = getattr(compiled.ann.binding(side), "field", None)
        if f is not None and dimension(f.unit) == "duration":
            return f.unit
    return "hour"


def in_words(value, unit: str, lang: str) -> str:
    """A duration in `unit`, named: 1464 hours → '61 天' / '61 days'."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return show(value)
    number = show(in_unit(value, unit))
    one, several = UNIT_WORDS[lang if lang in UNIT_WORDS else "en"][unit]
    return f"{number} {one if number == '1' else several}"


def _compared(compiled, node_id: int, node):
    """(operator, the left side's type, the unit a duration is shown in or None, a streak?)
    of a comparison — kept on the compiled rule like _label."""
    kept = compiled.__dict__.setdefault("_compared", {})
    found = kept.get(node_id)
    if found is None:
        ty = compiled.ann.ty(node.left)
        found = kept[node_id] = (
            node.op if isinstance(node, A.Compare) else "?", ty,
            _duration_unit(compiled, node) if getattr(ty, "dim", None) == "duration" else None,
            getattr(node, "consecutive", None) is not None)
    return found


def _valued(compiled, node_id: int, node, text: str):
    """(the value's label — `name = text` for a named formula —, its type), kept likewise."""
    kept = compiled.__dict__.setdefault("_valued", {})
    found = kept.get(node_id)
    if found is None:
        name = next((f.name for f in compiled.rule.formulas if f.expr is node), None)
        found = kept[node_id] = (f"{name} = {text}" if name is not None and name != text else text,
                                 compiled.ann.ty(node))
    return found


def render_record(compiled, rec, lang) -> str:
    node, text, where = _label(compiled, rec.node)
    kind = type(rec)
    if kind is Compared:
        op, ty, unit, streak = _compared(compiled, rec.node, node)
        if unit is not None:                                # 61 天 > 60 天, not 1464 > 1440
            left, right = in_words(rec.left, unit, lang), in_words(rec.right, unit, lang)
        else:
            left, right = show(rec.left, ty), show(rec.right, ty)
        if streak:
            this_period = tr(lang, "this period")
            return f"· {text}: {this_period} {left} {op} {right} ({where})"
        verdict = tr(lang, "holds") if rec.held else tr(lang, "does not hold")
        return f"{'✓' if rec.held else '✗'} {text}: {left} {op} {right} {verdict} ({where})"
    if kind is Missing:
        return tr(lang, "✗ {text}: nothing was submitted for {period} ({where})").format(
            text=text, period=rec.period, where=where)
    if kind is Short:
        return tr(lang, "✗ {text}: not enough history ({where})").format(text=text, where=where)
    if kind is not Valued:                  # a kind's own record words itself (see trace.py)
        return rec.render(compiled, text, where, lang)
    value = rec.value
    if isinstance(value, bool):
        verdict = tr(lang, "holds") if value else tr(lang, "does not hold")
        return f"{'✓' if value else '✗'} {text} {verdict} ({where})"
    label, ty = _valued(compiled, rec.node, node, text)
    return f"{label} → {show(value, ty)} ({where})"
