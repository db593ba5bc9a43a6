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

from typing import NamedTuple, Optional

from .ast import given
from .decision import Decision
from .kinds.alert import Alert
from .periods import key_of, ordinal
from .trace import Silent
from .words import render_message, t as _t

LISTED = 4          # up to this many missing periods are named one by one


class SilenceResult(NamedTuple):
    fired: bool
    matched: int                    # 1 when fired, as an alert's conditions
    missing: tuple                  # the keys of the periods without a submission
    since: Optional[str]            # the stretch's first period: what identifies it
    last: Optional[str]             # the period last submitted for, if any


class CompiledSilence:
    """A silence alert, ready to evaluate (nothing to compile: it has no expressions).  It is
    its own decision hooks (details, headline, render)."""

    reads_periods = False
    source = ""
    result = SilenceResult          # the type of its decisions' results (Decision.raw)

    def __init__(self, rule: Alert, form, ann, lines: list):
        self.rule, self.form, self.ann, self.lines = rule, form, ann, lines
        self.nodes = ann.nodes
        self.name, self.kind = rule.name, rule.kind
        self.hooks = self
        self.folded: dict = {}      # no clause verdicts to fold in (decision.Decision.trace)

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
        return Decision.make(self, facts, raw, records)

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
            text = _t(lang, f"{d.rule} ({x['level']}) fired: no {form} for "
                            f"{span(x['missing'], lang)}; notify {', '.join(x['notify'])}",
                      f"{d.rule}（{x['level']}）已触发：{span(x['missing'], lang)} 未提交 {form}；"
                      f"通知 {'、'.join(x['notify'])}")
            return text + (f" — {x['message']}" if x.get("message") else "")
        return _t(lang, f"{d.rule} did not fire: {_last(x['last_submitted'], form, lang)}",
                  f"{d.rule} 未触发：{_last(x['last_submitted'], form, lang)}")

    def render(self, rec: Silent, text: str, where: str, lang: str) -> str:
        missing, last = rec.missing, rec.last
        n = given(self.rule.silence).n
        if len(missing) >= n:
            return _t(lang, f"✓ {text}: nothing for {span(missing, lang)} ({where})",
                      f"✓ {text}：{span(missing, lang)} 未提交（{where}）")
        return _t(lang, f"✗ {text}: {len(missing)} period(s) missing, {n} needed; "
                        f"{_last(last, self.form.name, lang)} ({where})",
                  f"✗ {text}：缺 {len(missing)} 期，需连续 {n} 期；{_last(last, self.form.name, lang)}（{where}）")


def span(keys, lang: str) -> str:
    """"2026-W30 and 2026-W31"; a long run as "2026-W20 to 2026-W31 (12 periods)"."""
    keys = list(keys)
    if not keys:
        return ""
    if len(keys) > LISTED:
        return _t(lang, f"{keys[0]} to {keys[-1]} ({len(keys)} periods)",
                  f"{keys[0]} 至 {keys[-1]}（共 {len(keys)} 期）")
    if lang == "zh":
        return "、".join(keys)
    return keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + " and " + keys[-1]


def _last(key, form: str, lang: str) -> str:
    if key is None:
        return _t(lang, f"no {form} yet, nothing missing", f"尚无 {form}，无缺失")
    return _t(lang, f"{form} last submitted for {key}", f"{form} 最近提交于 {key}")
