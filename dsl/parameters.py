"""The numbers an HRBP tunes in a rule file — thresholds, weights, points, bands, cycles — as
parameters a form can show and edit (issue 16, "no-code parameters").

Found from the typed AST, never by searching the text: each rule's clauses are walked (the
walk per kind is in param_sites.py) and every number is placed on the token the parser read it
from, down to its digits, so that set_parameter (below) can replace those characters and
nothing else.  The text stays the source: a parameter is a view of it.

A parameter's id is `rule/clause/slot` (`健康度黄灯/when.5/1`, `区域目标拆分/adjust/limit`):
the rule's name (with `@DATE` for a dated version), the clause by its name or its place among
its kind (the 5th condition, the 2nd points line), and the number's slot in it — a name for a
clause's own number, else its place among the clause's numbers.  Editing another number moves
no id.
"""
from __future__ import annotations

import re
from decimal import Decimal

from . import ast as A
from .build_ast import build
from .catalogs import tr, word
from .diagnostics import RuleError
from .kinds import KINDS
from .param_sites import (BAND, NUMBER, UNIT_NAMES, Clause, Limits, Parameter, Sites, duration_limits,
                          field_names, labels)
from .parser import parse

__all__ = ["Parameter", "parameters", "set_parameter", "set_parameters"]
_DECIMAL_TEXT = re.compile(r"[+-]?\d+(?:\.\d+)?")
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def parameters(source, schemas: dict, filename: str = "<input>") -> list[Parameter]:
    """Every tunable number of a rule file, in the order of the text.  `source` is the file's
    text or its parsed RuleFile (whose text is parsed again: the AST keeps no token of a
    clause's own numbers).  Raises RuleError (parse.*) when the text does not parse."""
    text = source if isinstance(source, str) else source.text
    filename = filename if isinstance(source, str) else source.path
    tree = parse(text, filename)
    rule_file = build(tree, filename, text)
    sites = Sites(text, tree, filename, schemas)
    walk(sites, rule_file)
    return sorted(sites.found, key=lambda p: p.start)


def walk(sites: Sites, rule_file: A.RuleFile) -> None:
    for decl in rule_file.decls:
        if isinstance(decl, A.Reference):
            reference(Clause(sites, decl.name, "reference", {}), decl)
        elif isinstance(decl, A.Schedule):
            schedule(Clause(sites, decl.name, "schedule", {}), decl)
        elif isinstance(decl, A.Rule):
            key = decl.name + (f"@{decl.effective}" if decl.effective else "")
            schema = sites.schemas.get(decl.on.form) if decl.on is not None else None
            clause = Clause(sites, key, decl.kind, field_names(schema))
            for formula in decl.formulas:
                formula_params(clause, formula)
            kind = KINDS.get(decl.kind)
            if kind is not None and kind.params is not None:
                kind.params(clause, decl)


def formula_params(c: Clause, formula: A.Formula) -> None:
    name = f"formula.{formula.name}"
    found = c.in_expr(formula.expr)
    if formula.bound is not None and formula.bound.of is not None:
        found += c.in_expr(formula.bound.of)
    c.numbered(name, found)
    if formula.bound is not None:
        c.add(c.first(formula.bound.loc, "SIGNED_PERCENT"), name, "band", "band",
              labels(word("allowed band: {x}"), formula.name), "percent", BAND)


def schedule(c: Clause, sched) -> None:
    t = sched.timing
    if t.kind in ("every_weeks", "every_days"):
        c.add(c.first(t.loc, "DURATION"), "timing", "every", "cycle", labels(word("interval: every N")),
              UNIT_NAMES.get(t.every_unit, t.every_unit), duration_limits(t.every_unit))
    elif t.kind == "monthly_day":
        c.add(c.first(t.loc, "DAY_OF_MONTH"), "timing", "day", "day", labels(word("day of the month")),
              "day_of_month", Limits(Decimal(1), Decimal(31)))
    elif t.kind == "monthly_nth":
        tok = c.first(t.loc, "NTH_WEEKDAYS")
        for i in range(len(t.nths)):
            c.add(tok, "timing", f"nth.{i + 1}", "nth", labels(word("which weekday of the month")),
                  "nth_weekday", Limits(Decimal(1), Decimal(5)), index=i)
    elif t.kind == "before_event" and t.lead is not None:
        unit = t.lead.unit or "hour"
        c.add(c.sites.token_at(t.lead.loc), "timing", "lead", "lead",
              labels(word("lead time before {x}"), t.event or ""), UNIT_NAMES.get(unit, unit),
              Limits(Decimal(0), duration_limits(unit).high, low_open=True))


def reference(c: Clause, ref) -> None:
    for name, num in ref.items.items():
        c.add(c.sites.token_at(num.loc), f"item.{name}", "value", "reference",
              labels(word("reference value: {x}"), f"{ref.name}.{name}"),
              UNIT_NAMES.get(num.unit or "", "number"), NUMBER)


# ---------------------------------------------------------------------- editing
def set_parameter(text: str, parameter_id: str, new_value, schemas: dict, *,
                  filename: str = "<input>", sources=None) -> str:
    """`text` with one parameter set to `new_value`, written in the rule's own notation (a
    percent stays `80%`, 万 stays 万, a full-width number stays full-width); every other
    character is kept.  `new_value` is a number in the parameter's notation (80 for 80%), or a
    text that may end in its unit (`"80%"`).  Refused with RuleError: `param.unknown`,
    `param.bad_value`, `param.out_of_range`, or whatever the load of the changed rule set says
    (`sources`: the set's (file, text) pairs, this file among them or not; else this file
    alone).  A value equal to the one written gives back `text` unchanged, without a load."""
    return set_parameters(text, {parameter_id: new_value}, schemas, filename=filename,
                          sources=sources)


def set_parameters(text: str, changes: dict, schemas: dict, *, filename: str = "<input>",
                   sources=None) -> str:
    """Several parameters at once, checked together: weights that must add up to 100% move
    together (`group`)."""
    from .ruleset import load_sources
    found = {p.id: p for p in parameters(text, schemas, filename)}
    edits = []
    for pid, raw in changes.items():
        p = found.get(pid)
        if p is None:
            raise RuleError.of("param.unknown", id=pid).at(filename)
        edits.append((p.start, p.end, _written(text, p, _value(text, p, raw))))
    new = text
    for start, end, chars in sorted(edits, reverse=True):
        new = new[:start] + chars + new[end:]
    if new == text:                 # nothing changed: nothing new to check
        return text
    others = [(name, src) for name, src in (sources or ()) if name != filename]
    load_sources([*others, (filename, new)], schemas)
    return new


def _value(text: str, p: Parameter, raw) -> Decimal:
    """The new value as a decimal in the parameter's notation, within its limits."""
    value = _read(raw, p.suffix)
    if value is None or not value.is_finite():
        raise _refusal("param.bad_value", text, p, raw)
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if value != value.to_integral_value() and places > p.decimals or not p.allows(value):
        raise _refusal("param.out_of_range", text, p, raw)
    return value


def _refusal(code: str, text: str, p: Parameter, raw) -> RuleError:
    lines = text.splitlines()
    allowed_en, allowed_zh = allowed_words(p)
    return RuleError.of(code, label=p.label_en, label_zh=p.label_zh, value=str(raw),
                        allowed=allowed_en, allowed_zh=allowed_zh).at(
        p.file, p.line, p.column, lines[p.line - 1] if p.line <= len(lines) else "")


def allowed_words(p: Parameter) -> tuple[str, str]:
    """The limits in words, en and zh: `a whole number, at least 1, at most 31`."""
    parts = [word_pair(word("a whole number")) if p.decimals == 0 else
             word_pair(word("at most {n} decimals"), n=p.decimals)]
    if p.minimum is not None:
        parts.append(word_pair(word("above {n}") if p.min_open else word("at least {n}"), n=_shown(p.minimum)))
    if p.maximum is not None:
        parts.append(word_pair(word("below {n}") if p.max_open else word("at most {n}"), n=_shown(p.maximum)))
    return ", ".join(en for en, _zh in parts), "，".join(zh for _en, zh in parts)


def word_pair(template: str, **args) -> tuple[str, str]:
    return template.format(**args), tr("zh", template).format(**args)


def _shown(limit: Decimal) -> str:
    return format(limit.normalize(), "f") if limit == limit.to_integral_value() else format(limit, "f")


def _read(raw, suffix: str) -> Decimal | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, Decimal)):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw))
    if not isinstance(raw, str):
        return None
    written = raw.strip().replace("−", "-").replace("＋", "+").replace("－", "-")
    if suffix and written.endswith(suffix):
        written = written[:-len(suffix)].rstrip()
    if not _DECIMAL_TEXT.fullmatch(written):
        return None
    return Decimal(written)


def _written(text: str, p: Parameter, value: Decimal) -> str:
    """The characters for `value` in the place of `p`'s: its sign when the span holds one,
    whole numbers without a point, full-width digits for full-width digits."""
    digits = format(abs(value), "f")
    if value == value.to_integral_value() and p.decimals == 0:
        digits = str(int(abs(value)))
    old = text[p.start:p.end]
    if old[-2:] in ("st", "nd", "rd", "th"):
        digits += _ordinal(int(value))
    if old[:1] in "+-−":
        minus = "−" if old[0] == "−" else "-"
        digits = ("+" if value >= 0 else minus) + digits
    if any("０" <= ch <= "９" for ch in old):
        digits = digits.translate(_FULL_WIDTH)
    return digits


def _ordinal(n: int) -> str:
    """The English ordinal's suffix: 1st, 2nd, 3rd, 4th (the grammar's nths are 1 to 5)."""
    return "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
