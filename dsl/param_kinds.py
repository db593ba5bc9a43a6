"""Each rule kind's tunable numbers (parameters.py): one function per kind, given the walk's
Clause (param_sites.py) and the rule node.  Limits are the checker's for the same clause."""
from __future__ import annotations

from decimal import Decimal

from .limits import MAX_COUNT, MAX_DECIMALS, MAX_DURATION_HOURS
from .param_sites import BAND, COUNT, POINTS, WEIGHT, Clause, Limits, UNIT_NAMES, _labels
from .catalogs import word
from .units import UNITS

NUMBER = Limits(Decimal(0), None, decimals=MAX_DECIMALS)


def alert(c: Clause, rule) -> None:
    when = rule.when
    if when is None:
        return
    if when.silence is not None:
        c.add(c.first(when.silence.loc, "CONSECUTIVE"), "when", "periods", "consecutive",
              _labels(word("periods without {x}"), when.silence.form), "count", COUNT)
    if when.at_least is not None:
        c.add(c.first(when.loc, "AT_LEAST_OF"), "when", "at_least", "at_least",
              _labels(word("conditions needed (at least N of {x})"), str(len(when.conditions))),
              "count", Limits(Decimal(1), Decimal(len(when.conditions))))
        for n, cond in enumerate(when.conditions, 1):
            c.numbered(f"when.{n}", c.in_expr(cond))
    else:
        for cond in when.conditions:
            c.numbered("when", c.in_expr(cond))


def score(c: Clause, rule) -> None:
    for n, line in enumerate(rule.lines, 1):
        clause = f"line.{n}"
        what = c.name_of(line.field) if line.field is not None else (line.item or "", line.item or "")
        if line.kind == "when":
            what = c.name_of(line.cond)
        amounts = c.sites.tokens_in(line.loc, "POINTS", "INT")
        c.add(amounts[0] if amounts else None, clause, "points", "points",
              _labels(word("points: {x}"), *what), "points", POINTS, signed=True)
        if line.kind == "every":
            c.add(c.first(line.loc, "FOR_EVERY"), clause, "every", "every",
                  _labels(word("for every N: {x}"), *what), "count", COUNT)
        found = []
        for cond in (line.cond, line.doubled):
            if cond is not None:
                found += c.in_expr(cond)
        c.numbered(clause, found)
        if line.cap is not None and len(amounts) > 1:
            c.add(amounts[-1], clause, "cap", "cap", _labels(word("cap: {x}"), *what), "points",
                  POINTS, signed=amounts[-1].type == "POINTS")
    for total, slot in ((rule.total_max, "max"), (rule.total_min, "min")):
        if total is not None:
            tok = c.sites.tokens_in(total.loc, "POINTS", "INT")
            c.add(tok[-1] if tok else None, f"total.{slot}", "points", "total",
                  _labels(word("total at most") if slot == "max" else word("total at least")), "points",
                  POINTS, signed=bool(tok) and tok[-1].type == "POINTS")
    if rule.counts is not None:
        c.add(c.first(rule.counts.loc, "COUNTS_TOWARD"), "counts", "weight", "weight",
              _labels(word("weight toward {x}"), rule.counts.rating), "percent", WEIGHT)


def status(c: Clause, rule) -> None:
    for case in rule.cases:
        if case.cond is not None:
            c.numbered(f"case.{case.name}", c.in_expr(case.cond))


def target(c: Clause, rule) -> None:
    s = rule.suggestion
    if s is not None:
        c.numbered("suggest", c.in_expr(s.expr))
        if s.band is not None:
            c.add(c.first(s.loc, "SIGNED_PERCENT"), "suggest", "range", "band",
                  _labels(word("suggested range")), "percent", BAND)
    if rule.reward is not None:
        c.add(c.first(rule.reward.loc, "PERCENT"), "reward", "rate", "rate",
              _labels(word("reward rate: {x}"), *c.name_of(rule.reward.actual)), "percent", WEIGHT)


def split(c: Clause, rule) -> None:
    for w in rule.weights:
        en, zh = c.name_of_field(w.field)
        c.add(c.first(w.loc, "PERCENT"), f"weight.{w.field}", "weight", "weight",
              _labels(word("weight: {x}"), en, zh), "percent", WEIGHT, group=f"{c.rule}/weights")
    a = rule.adjust
    if a is not None:
        bands = c.sites.tokens_in(a.loc, "SIGNED_PERCENT")
        slots = ["limit"] if a.capped else ["band", "limit"]
        for slot, tok in zip(slots, bands):
            template = word("adjustment limit") if slot == "limit" else \
                word("adjustment without a reason")
            c.add(tok, "adjust", slot, "band", _labels(template), "percent", BAND)


def pool(c: Clause, rule) -> None:
    if rule.size is not None:
        c.numbered("size", c.in_expr(rule.size.expr))
    if rule.share is not None:
        c.numbered("share", c.in_expr(rule.share.by))


def rating(c: Clause, rule) -> None:
    for p in rule.parts:
        since = f"@{p.since}" if p.since else ""
        en, zh = c.name_of(p.ref)
        labels = _labels(word("weight: {x}"), en, zh) if not since else \
            _labels(word("weight: {x} from {date}"), en, zh, date=p.since)
        c.add(c.first(p.loc, "PERCENT"), f"part.{p.ref.dotted}{since}", "weight", "weight",
              labels, "percent", WEIGHT, group=f"{c.rule}/weights")


def approval(c: Clause, rule) -> None:
    if rule.limit is not None:
        c.add(c.first(rule.limit.loc, "INT"), "limit", "changes", "changes",
              _labels(word("changes per cycle")), "count", Limits(Decimal(0), Decimal(MAX_COUNT)))
    cycle = rule.cycle
    if cycle is not None:
        c.add(c.first(cycle.loc, "DURATION"), "cycle", "every", "cycle", _labels(word("cycle length")),
              UNIT_NAMES.get(cycle.unit, cycle.unit), _duration(cycle.unit))
    for n, step in enumerate(rule.steps, 1):
        if step.cond is not None:
            c.numbered(f"step.{n}", c.in_expr(step.cond))


def schedule(c: Clause, sched) -> None:
    t = sched.timing
    if t.kind in ("every_weeks", "every_days"):
        c.add(c.first(t.loc, "DURATION"), "timing", "every", "cycle", _labels(word("interval: every N")),
              UNIT_NAMES.get(t.every_unit, t.every_unit), _duration(t.every_unit))
    elif t.kind == "monthly_day":
        c.add(c.first(t.loc, "DAY_OF_MONTH"), "timing", "day", "day", _labels(word("day of the month")),
              "day_of_month", Limits(Decimal(1), Decimal(31)))
    elif t.kind == "monthly_nth":
        tok = c.first(t.loc, "NTH_WEEKDAYS")
        for i in range(len(t.nths)):
            c.add(tok, "timing", f"nth.{i + 1}", "nth", _labels(word("which weekday of the month")),
                  "nth_weekday", Limits(Decimal(1), Decimal(5)), index=i)
    elif t.kind == "before_event" and t.lead is not None:
        unit = t.lead.unit or "hour"
        c.add(c.sites.token_at(t.lead.loc), "timing", "lead", "lead",
              _labels(word("lead time before {x}"), t.event or ""), UNIT_NAMES.get(unit, unit),
              Limits(Decimal(0), _duration(unit).high, low_open=True))


def reference(c: Clause, ref) -> None:
    for name, num in ref.items.items():
        c.add(c.sites.token_at(num.loc), f"item.{name}", "value", "reference",
              _labels(word("reference value: {x}"), f"{ref.name}.{name}"),
              UNIT_NAMES.get(num.unit or "", "number"), NUMBER)


def _duration(unit: str) -> Limits:
    """A whole number of `unit`s, at least 1, within MAX_DURATION_HOURS (check_limits)."""
    hours = UNITS[unit][1] if unit in UNITS and UNITS[unit][0] == "duration" else Decimal(1)
    return Limits(Decimal(1), Decimal(MAX_DURATION_HOURS) / hours // 1)


HANDLERS = {"alert": alert, "score": score, "status": status, "target": target, "split": split,
            "pool": pool, "rating": rating, "approval": approval}
