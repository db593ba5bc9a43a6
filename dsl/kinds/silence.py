"""Silence: `when no FORM for N consecutive weeks` — an alert about a form that did not arrive.

No webhook brings such a fact, so these rules are not evaluated on submissions: the server's
scheduler asks, for each person expected to submit, when they last did.  The rule, its
decision details and its words live here together; the decision is an ordinary alert
Decision (stored, explained and notified like any other).

The missing stretch is the run of complete periods after the last submitted one (the current,
unfinished period never counts).  For someone who never submitted, it runs from the period
after `watch_from` (when they joined the chart).  `since` — the stretch's first period —
identifies it: the same stretch raises one alert however often it is looked at.
"""
from __future__ import annotations

import datetime as dt

from typing import Any, NamedTuple, Optional

from ..ast import given
from ..decision import Decision
from ..periods import key_of, ordinal
from ..catalogs import tr
from ..words import render_message
from .common import role_names

LISTED = 4          # up to this many missing periods are named one by one


class SilenceResult(NamedTuple):
    fired: bool
    matched: int                    # 1 when fired, as an alert's conditions
    missing: tuple                  # the keys of the periods without a submission
    since: Optional[str]            # the stretch's first period: what identifies it
    last: Optional[str]             # the period last submitted for, if any


class Silent(NamedTuple):
    """A trace record (trace.py): the look at the calendar — the periods missing, the last
    one submitted."""
    node: int
    missing: tuple
    last: Optional[str]

    @property
    def outcome(self) -> bool:
        return False

    def render(self, compiled: "CompiledSilence", text: str, where: str, lang: str) -> str:
        missing, n = self.missing, given(compiled.rule.silence).n
        if len(missing) >= n:
            return tr(lang, "✓ {text}: nothing for {span} ({where})").format(
                text=text, span=span(missing, lang), where=where)
        return tr(lang, "✗ {text}: {count} period(s) missing, {n} needed; {last} ({where})").format(
            text=text, count=len(missing), n=n, last=_last(self.last, compiled.form.name, lang), where=where)


class CompiledSilence:
    """A silence alert, ready to evaluate (nothing to compile: it has no expressions).  It is
    its own decision hooks (details, headline).  `rule`: the alert (alert.Alert, which
    makes this through its kind's `scheduled` hook)."""

    reads_periods = False
    source = ""
    by_scheduler = True             # the scheduler evaluates it, not a webhook (RuleSet)
    result = SilenceResult          # the type of its decisions' results (Decision.raw)
    trace_records = (Silent,)       # its own trace record, for reading stored decisions back

    def __init__(self, rule: Any, form, ann, lines: list):
        self.rule, self.form, self.ann, self.lines = rule, form, ann, lines
        self.role_labels: dict = {}           # role -> its declared label (explanations in zh)
        self.words: dict = {}                 # what its words take from the rule alone, once
        self.nodes = ann.nodes
        self.name, self.kind = rule.name, rule.kind
        self.hooks = self
        self.folded: dict = {}      # no clause verdicts to fold in (decision.Decision.trace)
        self.derived: dict = {}     # nor records to work out from the result

    def evaluate(self, subject: str, today: dt.date, last: dt.date | None = None,
                 watch_from: dt.date | None = None, trace: bool = True) -> Decision:
        """Is `subject` silent on `today`, having last submitted for `last` (None: never)?"""
        kind, n = self.form.period, given(self.rule.silence).n
        current = ordinal(kind, today)
        if last is not None:
            first = ordinal(kind, last) + 1
        elif watch_from is not None:
            first = ordinal(kind, watch_from) + 1
        else:
            first = current - n
        missing = tuple(key_of(kind, p) for p in range(first, current))
        fired = len(missing) >= n
        since = missing[0] if fired and (last is not None or watch_from is not None) else None
        raw = SilenceResult(fired, 1 if fired else 0, missing, since,
                            key_of(kind, ordinal(kind, last)) if last is not None else None)
        records = [(Silent, self.ann.id_of(self.rule.silence), missing, raw[4])] if trace else []
        facts = {given(self.rule.on).subject: subject}
        return Decision(self, facts, raw, records, None)

    # ------------------------------------------------------------------ decision hooks
    def details(self, compiled, facts: dict, raw: SilenceResult) -> dict:
        rule = self.rule
        fired, matched, missing, since, last = raw
        details = {"fired": fired, "level": rule.level, "matched": matched, "needed": 1,
                   "notify": list(rule.notify), "form": self.form.name, "missing": list(missing),
                   "since": since, "last_submitted": last}
        if rule.message and fired:
            details["message"] = render_message(rule.message, {
                "rule": rule.name, "level": rule.level, "form": self.form.name,
                "subject": facts.get(given(rule.on).subject, ""), "periods": span(missing, "zh")})
        return details

    def headline(self, d: Decision, lang: str) -> str:
        x, form = d.details, self.form.name
        if x["fired"]:
            text = tr(lang, "{rule} ({level}) fired: no {form} for {span}; notify {notify}").format(
                rule=d.rule, level=tr(lang, x["level"]), form=form, span=span(x["missing"], lang),
                notify=role_names(self, x["notify"], lang))
            return text + (f" — {x['message']}" if x.get("message") else "")
        return tr(lang, "{rule} did not fire: {last}").format(rule=d.rule,
                                                            last=_last(x["last_submitted"], form, lang))


def span(keys, lang: str) -> str:
    """"2026-W30 and 2026-W31"; a long run as "2026-W20 to 2026-W31 (12 periods)"."""
    keys = list(keys)
    if not keys:
        return ""
    if len(keys) > LISTED:
        return tr(lang, "{first} to {last} ({count} periods)").format(first=keys[0], last=keys[-1], count=len(keys))
    if lang == "zh":
        return "、".join(keys)
    return keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + " and " + keys[-1]


def _last(key, form: str, lang: str) -> str:
    if key is None:
        return tr(lang, "no {form} yet, nothing missing").format(form=form)
    return tr(lang, "{form} last submitted for {key}").format(form=form, key=key)
