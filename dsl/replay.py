"""Replay recorded facts through two rule-set versions and report the decisions that change.

Records are dicts `{"form": …, "facts": {…}}`, optionally with `"history"` (earlier periods)
and `"as_of"`.  Without an explicit history, each record's history is the records of the
same form and subject that came before it in the stream, so a file of facts in time order
replays the way the server saw them.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .decision import plain
from .diagnostics import RuleError

MAX_HISTORY = 60           # periods of history per subject: over a year of weeks, five of months


@dataclass
class Flip:
    index: int             # position of the record in the stream
    form: str
    rule: str
    group: str
    old: object
    new: object
    facts: dict
    history: list


@dataclass
class ReplayReport:
    old_version: str
    new_version: str
    records: int = 0
    decisions: int = 0
    changed: int = 0
    by_rule: Counter = field(default_factory=Counter)
    by_group: Counter = field(default_factory=Counter)
    by_transition: Counter = field(default_factory=Counter)     # (rule, old, new) -> n
    examples: list = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)            # why records were skipped
    errors: Counter = field(default_factory=Counter)             # (rule, code) -> decisions

    def to_json(self, old_set=None, new_set=None, lang: str = "en") -> dict:
        return {
            "old_version": self.old_version, "new_version": self.new_version,
            "records": self.records, "decisions_compared": self.decisions,
            "decisions_changed": self.changed,
            "by_rule": dict(self.by_rule.most_common()),
            "by_group": dict(self.by_group.most_common()),
            "transitions": [{"rule": r, "old": _show(o), "new": _show(n), "count": c}
                            for (r, o, n), c in self.by_transition.most_common()],
            "skipped": dict(self.skipped),
            "errors": [{"rule": r, "code": c, "count": n} for (r, c), n in self.errors.most_common()],
            "examples": [self.example_json(e, old_set, new_set, lang) for e in self.examples],
        }

    def example_json(self, flip: Flip, old_set, new_set, lang) -> dict:
        out = {"record": flip.index, "form": flip.form, "rule": flip.rule, "group": flip.group,
               "old": _show(flip.old), "new": _show(flip.new)}
        for key, rs in (("old_trace", old_set), ("new_trace", new_set)):
            rule = rs.rule(flip.rule) if rs is not None else None
            if rule is not None:
                out[key] = rule.evaluate(flip.facts, flip.history).explain(lang).splitlines()
        return out


def _show(value):
    return plain(list(value) if isinstance(value, tuple) else value)


def _decide(rules, facts, history) -> dict:
    out = {}
    for r in rules:
        try:
            out[r.name] = r.decide(facts, history)
        except RuleError as err:
            out[r.name] = ("error", err.code)
    return out


def replay(old_set, new_set, records, examples: int = 5, group_by: str | None = None,
           progress=None, progress_every: int = 1000) -> ReplayReport:
    """Run every record through both sets; `progress(n)` is called every `progress_every`."""
    report = ReplayReport(old_set.version, new_set.version)
    histories: dict = defaultdict(list)
    subject_field = {}
    for index, record in enumerate(records):
        report.records += 1
        if progress is not None and index % progress_every == 0:
            progress(index)
        form, facts = record.get("form"), record.get("facts")
        if not isinstance(facts, dict) or (form not in old_set.by_form and form not in new_set.by_form):
            report.skipped["unknown form" if isinstance(facts, dict) else "no facts"] += 1
            continue
        if form not in subject_field:
            schema = (new_set.schemas.get(form) or old_set.schemas.get(form))
            subject_field[form] = next(iter(schema.subjects), None) if schema else None
        subject = facts.get(subject_field[form]) if subject_field[form] else None
        key = (form, str(subject))
        history = record.get("history")
        if not isinstance(history, list):
            history = histories[key]
        as_of = record.get("as_of")
        old = _decide(old_set.in_force(form, as_of) if form in old_set.by_form else [], facts, history)
        new = _decide(new_set.in_force(form, as_of) if form in new_set.by_form else [], facts, history)
        group = str(facts.get(group_by) if group_by else
                    facts.get("team", facts.get("region", subject)))
        for name in old.keys() | new.keys():
            report.decisions += 1
            a, b = old.get(name, "(absent)"), new.get(name, "(absent)")
            for v in (a, b):
                if isinstance(v, tuple):
                    report.errors[(name, v[1])] += 1
            if _equal(a, b):
                continue
            report.changed += 1
            report.by_rule[name] += 1
            report.by_group[group] += 1
            report.by_transition[(name, _key(a), _key(b))] += 1
            if len(report.examples) < examples:
                report.examples.append(Flip(index, form, name, group, a, b, facts, list(history)))
        if record.get("history") is None:
            own = histories[key]
            own.append(facts)
            if len(own) > MAX_HISTORY:
                del own[0]
    if progress is not None:
        progress(report.records)
    return report


def _equal(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def _key(value):
    """A hashable, readable form of a decision value for counting transitions."""
    if isinstance(value, list):
        return "(list)"
    if isinstance(value, tuple):
        return ":".join(str(x) for x in value)
    return str(plain(value))
