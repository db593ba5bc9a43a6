"""What the platform's own engines need, derived from the rules: form schemas with the
constraints rules impose, and workflow definitions for approval chains and schedules.

Derived documents hold no version or time, so they change only when the rules' meaning does
(`trimtab build --check` can then tell stale files from fresh ones).
"""
from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from . import ast as A
from .keywords import WEEKDAYS
from .decision import plain, source_text
from .kinds import KINDS


def _num(value):
    return plain(Decimal(value))


def _text(compiled, node) -> str:
    return source_text(compiled, node)


def derived_form(ruleset, form: str) -> dict:
    """The form's JSON Schema with rule-derived constraints merged in."""
    schema = copy.deepcopy(ruleset.schemas[form].raw)
    props = schema.setdefault("properties", {})
    required = schema.setdefault("required", [])
    notes = []
    for r in ruleset.by_form.get(form, []):
        rule = r.rule
        for f in rule.formulas:
            b = r.ann.binding(f.expr)
            if f.bound is not None and f.bound.of is None and isinstance(f.expr, A.Ref) \
                    and b is not None and b.kind == "field":
                field = props.setdefault(f.expr.parts[0], {})
                field["minimum"] = _num(1 - f.bound.band)
                field["maximum"] = _num(1 + f.bound.band)
                notes.append({"rule": rule.name, "field": f.expr.parts[0],
                              "constraint": f"within ±{_num(f.bound.band * 100)}%"})
        hook = KINDS[rule.kind].derive_form
        if hook is not None:
            hook(rule, schema, props, required, notes)
    if notes:
        schema["x-trimtab-constraints"] = notes
    return schema


def workflows(ruleset, timezone: str = "Asia/Shanghai") -> list[dict]:
    """Workflow definitions (workflows/workflow.schema.json) for approvals and schedules."""
    out = []
    for r in ruleset.rules:
        hook = KINDS[r.kind].workflow
        if hook is not None:
            out.append(hook(r, _text))
    for s in ruleset.schedules:
        out.append(_schedule(s, timezone))
    return out


def _schedule(s: A.Schedule, timezone: str) -> dict:
    t = s.timing
    trigger: dict[str, Any]
    if t.kind == "weekly":
        trigger = {"type": "weekly", "weekday": _weekday(A.given(t.weekday)), "time": t.time}
    elif t.kind == "every_weeks":
        trigger = {"type": "every_n_weeks", "every": t.every, "weekday": _weekday(A.given(t.weekday)),
                   "time": t.time}
    elif t.kind == "every_days":
        days = t.every * (7 if t.every_unit == "week" else 1)
        trigger = {"type": "every_n_days", "every": days, "from": t.anchor, "time": t.time}
    elif t.kind == "monthly_day":       # a shorter month: on its last day
        trigger = {"type": "monthly_on_day", "day": t.day, "time": t.time}
    elif t.kind == "monthly_nth":
        trigger = {"type": "monthly_nth_weekday", "which": list(t.nths),
                   "weekday": _weekday(A.given(t.weekday)), "time": t.time}
    else:
        trigger = {"type": "before_event", "event": t.event, "hours": _num(A.given(t.lead).value)}
    trigger["timezone"] = timezone
    actions = [{"type": a.kind, ("report" if a.kind == "report" else "form"): a.what, "to": list(a.to)}
               for a in s.actions]
    return {"name": s.name, "kind": "schedule", "trigger": trigger, "actions": actions,
            "source": {"file": s.loc.file, "line": s.loc.line}}


_WEEKDAY_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def _weekday(word: str) -> str:
    return _WEEKDAY_NAMES[WEEKDAYS[word.lower()]]
