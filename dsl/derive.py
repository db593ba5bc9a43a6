"""What the platform's own engines need, derived from the rules: form schemas with the
constraints rules impose, and workflow definitions for approval chains and schedules.

Derived documents hold no version or time, so they change only when the rules' meaning does
(`trimtab build --check` can then tell stale files from fresh ones).
"""
from __future__ import annotations

import copy
from decimal import Decimal

from . import ast as A
from .checker import WEEKDAYS
from .decision import plain


def _num(value):
    return plain(Decimal(value))


def _text(compiled_or_rule, node) -> str:
    from .decision import source_text
    return source_text(compiled_or_rule, node)


def derived_form(ruleset, form: str) -> dict:
    """The form's JSON Schema with rule-derived constraints merged in."""
    schema = copy.deepcopy(ruleset.schemas[form].raw)
    props = schema.setdefault("properties", {})
    required = schema.setdefault("required", [])
    notes = []
    for r in ruleset.by_form.get(form, []):
        rule = r.rule
        for f in rule.formulas:
            if f.bound is not None and f.bound.of is None and isinstance(f.expr, A.Ref) \
                    and f.expr.binding is not None and f.expr.binding.kind == "field":
                field = props.setdefault(f.expr.parts[0], {})
                field["minimum"] = _num(1 - f.bound.band)
                field["maximum"] = _num(1 + f.bound.band)
                notes.append({"rule": rule.name, "field": f.expr.parts[0],
                              "constraint": f"within ±{_num(f.bound.band * 100)}%"})
        if isinstance(rule, A.Approval):
            for name in rule.require:
                if name not in required:
                    required.append(name)
                spec = props.setdefault(name, {})
                if spec.get("type") == "string":
                    spec["minLength"] = 1
                elif spec.get("type") == "array":
                    spec["minItems"] = 1
                notes.append({"rule": rule.name, "field": name, "constraint": "required"})
        if isinstance(rule, A.Split) and rule.adjust_band is not None:
            items = props.get(rule.across, {}).get("items")
            if isinstance(items, dict):
                band = _num(rule.adjust_band)
                items.setdefault("allOf", []).append({
                    "if": {"required": ["adjustment"],
                           "properties": {"adjustment": {"not": {"minimum": -band, "maximum": band}}}},
                    "then": {"required": [rule.reason_field],
                             "properties": {rule.reason_field: {"type": "string", "minLength": 1}}}})
                items.setdefault("properties", {}).setdefault("adjustment", {})["x-trimtab-free-band"] = band
                notes.append({"rule": rule.name, "field": f"{rule.across}[].{rule.reason_field}",
                              "constraint": f"required beyond ±{_num(rule.adjust_band * 100)}%"})
        if isinstance(rule, A.Status):
            schema.setdefault("x-trimtab-outputs", {})[rule.name] = {
                "type": "string", "enum": [c.name for c in rule.cases]}
    if notes:
        schema["x-trimtab-constraints"] = notes
    return schema


def workflows(ruleset, timezone: str = "Asia/Shanghai") -> list[dict]:
    """Workflow definitions (workflows/workflow.schema.json) for approvals and schedules."""
    out = []
    for r in ruleset.rules:
        if isinstance(r.rule, A.Approval):
            out.append(_approval(r))
    for s in ruleset.schedules:
        out.append(_schedule(s, timezone))
    return out


def _approval(compiled) -> dict:
    rule = compiled.rule
    steps = []
    for i, s in enumerate(rule.steps, 1):
        step = {"id": f"step{i}", "type": "countersign" if s.countersign else "approve",
                "roles": list(s.roles)}
        if s.cond is not None:
            step["when"] = _text(compiled, s.cond)
        steps.append(step)
    doc = {"name": rule.name, "kind": "approval", "trigger": {"form": rule.on.form,
                                                             "subject": rule.on.subject},
           "require": list(rule.require), "steps": steps,
           "source": {"file": rule.loc.file, "line": rule.loc.line}}
    if rule.formulas:
        doc["formulas"] = {f.name: _text(compiled, f.expr) for f in rule.formulas}
    if rule.limit is not None:
        n, unit, anchor = rule.cycle
        doc["limit"] = {"changes_per_cycle": rule.limit, "cycle": {"every": n, "unit": unit,
                                                                   "anchor": anchor},
                        "message": rule.limit_message}
    if rule.effective:
        doc["effective"] = rule.effective
    return doc


def _schedule(s: A.Schedule, timezone: str) -> dict:
    t = s.timing
    if t.kind == "weekly":
        trigger = {"type": "weekly", "weekday": _weekday(t.weekday), "time": t.time}
    elif t.kind == "every_weeks":
        trigger = {"type": "every_n_weeks", "every": t.every, "weekday": _weekday(t.weekday),
                   "time": t.time}
    else:
        trigger = {"type": "before_event", "event": t.event, "hours": _num(t.lead.value)}
    trigger["timezone"] = timezone
    actions = [{"type": a.kind, ("report" if a.kind == "report" else "form"): a.what, "to": list(a.to)}
               for a in s.actions]
    return {"name": s.name, "kind": "schedule", "trigger": trigger, "actions": actions,
            "source": {"file": s.loc.file, "line": s.loc.line}}


_WEEKDAY_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def _weekday(word: str) -> str:
    return _WEEKDAY_NAMES[WEEKDAYS[word.lower()]]
