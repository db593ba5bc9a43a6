"""alert: `when` conditions (or `at least N of` them) raise a level and notify roles.

    alert 健康度黄灯 level yellow
        on weekly_metrics per rep
        when at least 2 of:
            new_opportunities < 3 for 2 consecutive weeks
            pipeline_coverage < 75%
        notify direct_manager, hrbp
        say "{rep}: {matched} indicators are low"

`when no FORM for N consecutive weeks` makes a silence alert: the scheduler evaluates it
(kinds/silence.py, the kind's `scheduled` hook), since no submission brings its facts.
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple, Optional

from .. import ast as A
from ..canon import anchor, canon
from ..diagnostics import suggest
from ..schemas import spellings
from ..keywords import LEVELS
from ..tokens import number_in, period_in, tokens, unquote
from ..catalogs import tr, word
from ..words import WORDS_KEPT, render_message
from ..param_sites import COUNT, labels, Limits
from .common import Kind, expect_truth, missing, role_names, set_once
from .silence import CompiledSilence

PLACEHOLDERS = ("matched", "rule", "level", "subject")
SILENCE_PLACEHOLDERS = ("rule", "level", "subject", "form", "periods")   # no facts to name


# ---------------------------------------------------------------------- nodes
@dataclass(eq=False)
class Silence:
    """`when no FORM for N consecutive weeks`: the form did not arrive, N periods running."""
    form: str
    n: int
    unit: str
    loc: A.Loc = field(repr=False, compare=False)


@dataclass(eq=False)
class When:
    conditions: list                # the conditions; one for a plain `when`
    at_least: Optional[int]         # None: a single `when`
    silence: Optional[Silence]
    loc: A.Loc


@dataclass(eq=False)
class Notify:
    roles: list
    cleared: bool                   # `notify … when cleared`
    loc: A.Loc


@dataclass(eq=False)
class Say:
    text: str
    loc: A.Loc


@dataclass(eq=False)
class Alert(A.Rule):
    level: str = ""                 # yellow | orange | red (keywords.LEVELS), as checked
    level_word: str = ""            # as written: `黄`, `yellow` or a word the checker refuses
    level_loc: Optional[A.Loc] = field(default=None, repr=False, compare=False)
    when: Optional[When] = None
    notices: list = field(default_factory=list)     # Notify clauses, in order
    say: Optional[Say] = None

    @property
    def conditions(self) -> list:
        return self.when.conditions if self.when is not None else []

    @property
    def at_least(self) -> Optional[int]:
        return self.when.at_least if self.when is not None else None

    @property
    def silence(self) -> Optional[Silence]:
        return self.when.silence if self.when is not None else None

    @property
    def message(self) -> Optional[str]:
        return self.say.text if self.say is not None else None

    @property
    def notify(self) -> list:
        return [r for n in self.notices if not n.cleared for r in n.roles]

    @property
    def notify_cleared(self) -> list:
        return [r for n in self.notices if n.cleared for r in n.roles]

    def notify_loc(self, cleared: bool = False) -> Optional[A.Loc]:
        locs = [n.loc for n in self.notices if n.cleared == cleared]
        return locs[-1] if locs else None


class AlertResult(NamedTuple):
    fired: bool
    matched: int                    # how many conditions held


# ---------------------------------------------------------------------- building
def build_alert(b, children):
    level = tokens(children, "NAME")[1]
    return b.rule(Alert, children, level=LEVELS.get(str(level), str(level)), level_word=str(level),
                  level_loc=b.loc(level))


def build_when(b, children):
    return When([children[-1]], None, None, b.span(children))


def build_when_at_least(b, children):
    phrase = tokens(children, "AT_LEAST_OF")[0]
    conds = [c for c in children if isinstance(c, A.Expr)]
    return When(conds, int(number_in(phrase)), None, b.span(children))


def build_when_silent(b, children):
    phrase = tokens(children, "CONSECUTIVE")[0]
    form = tokens(children, "NAME")[0]
    silence = Silence(str(form), int(number_in(phrase)), period_in(phrase), b.span(children[1:]))
    return When([], None, silence, b.span(children))


def build_notify(b, children):
    return Notify(list(children[-1]), False, b.span(children))


def build_notify_cleared(b, children):
    names = next(c for c in children if isinstance(c, list))
    return Notify(list(names), True, b.span(children))


def build_say(b, children):
    return Say(unquote(children[-1]), b.span(children))


def attach(rule: Alert, c) -> None:
    if isinstance(c, When):
        set_once(rule, "when", c, "when")
    elif isinstance(c, Notify):
        rule.notices.append(c)
    elif isinstance(c, Say):
        set_once(rule, "say", c, "say")


# ---------------------------------------------------------------------- checking
def check(ck, rule: Alert, scope) -> None:
    if rule.level_word not in LEVELS:
        ck.error("check.unknown_level", rule.level_loc, name=rule.level_word,
                 suggestion=suggest(rule.level_word, LEVELS))
    if rule.when is None:
        missing(ck, rule, "when")
    if rule.silence is not None:
        check_silence(ck, rule, scope)
    for cond in rule.conditions:
        ck.condition(cond, scope)
    if rule.at_least is not None and not 1 <= rule.at_least <= len(rule.conditions):
        ck.error("check.bad_percent", A.given(rule.when).loc, what="N", low=1,
                 high=len(rule.conditions), value=rule.at_least)
    if not rule.notify:
        missing(ck, rule, "notify")
    ck.check_roles(rule.notify, rule.notify_loc())
    ck.check_roles(rule.notify_cleared, rule.notify_loc(cleared=True))
    if rule.say is not None:
        check_placeholders(ck, rule.say, scope,
                           SILENCE_PLACEHOLDERS if rule.silence is not None else None)


def expected(ck, ex, rule: Alert):
    """An example's yes or no.  A silence alert takes none: it is evaluated for a person on a
    day of the calendar, not on a form's facts (a rule test gives it `today:` and `history:`)."""
    if rule.silence is not None:
        ck.error("check.silence_example", ex.loc, rule=rule.name)
        return None
    return expect_truth(ck, ex)


def check_silence(ck, rule: Alert, scope) -> None:
    """`when no FORM for N consecutive weeks`: the rule's own form, a periodic one, its
    period word, at least one period."""
    s, form = A.given(rule.silence), scope.form
    ck.node_id(s, scope)
    if s.form != form.name:
        ck.error("check.silence_other_form", s.loc, name=s.form, form=form.name)
    elif form.period is None:
        ck.error("check.no_history_for_form", s.loc, what="no", form=form.name)
    elif s.unit != form.period:
        ck.error("check.period_mismatch", s.loc, form=form.name, actual=form.period, wanted=s.unit)
    if s.n < 1:
        ck.error("check.bad_interval", s.loc, what="no", unit=s.unit)


def check_placeholders(ck, say: Say, scope, only=None) -> None:
    known = set(only) if only is not None else \
        set(PLACEHOLDERS) | set(spellings(scope.form.fields)) | set(scope.formulas)
    try:
        names = [f for _t, f, _s, _c in string.Formatter().parse(say.text) if f]
    except ValueError:
        names = []
    for name in names:
        if name not in known:
            ck.error("check.unknown_placeholder", say.loc, name=name, suggestion=suggest(name, known))


def limits(ck, rule: Alert) -> None:
    s = rule.silence
    if s is not None:
        ck.limit_count(s.n, s.loc, "N", low=0)


# ---------------------------------------------------------------------- evaluating
def compile_body(c, rule: Alert) -> None:
    if rule.at_least is None:
        cond = rule.conditions[0]
        c.emit(f"fired = bool({c.clause(cond, c.gen(cond))})")
        c.emit_return("fired", "1 if fired else 0")
        return
    c.emit("m = 0")
    for cond in rule.conditions:
        c.emit(f"if {c.clause(cond, c.gen(cond))}: m += 1")
    c.emit_return(f"m >= {c.const(rule.at_least)}", "m")


def run(env, rule: Alert, form) -> AlertResult:
    held = sum(1 for c in rule.conditions if env.value(c))
    return AlertResult(held >= (rule.at_least or 1), held)


# ---------------------------------------------------------------------- words
def details(compiled, facts: dict, raw: AlertResult) -> dict:
    rule = compiled.rule
    fixed = compiled.words.get("details")
    if fixed is None:           # the rule's own part, the same in every decision (once a rule)
        fixed = compiled.words["details"] = (rule.level, rule.at_least or 1, rule.notify,
                                             rule.notify_cleared)
    level, needed, notify, cleared = fixed
    out: dict[str, Any] = {"fired": raw.fired, "level": level, "matched": raw.matched,
                           "needed": needed, "notify": list(notify)}
    if cleared:
        out["notify_cleared"] = list(cleared)
    if rule.message and raw.fired:
        values = dict(facts)
        values.update(matched=raw.matched, rule=rule.name, level=level,
                      subject=facts.get(A.given(rule.on).subject, ""))
        out["message"] = render_message(rule.message, values)
    return out


def words_key(raw) -> tuple | None:
    """What an alert's document and headline follow from, when they follow from the result
    alone (Decision.to_json keeps them once per rule): one that did not fire — its matched
    count, at most one per condition.  A fired alert's message names the facts."""
    return None if raw[0] else (raw[0], raw[1])


def headline(d, lang: str) -> str:
    x, name, n = d.details, d.rule, len(d.compiled.rule.conditions)
    if x["fired"]:
        # All but the message follows from the rule and the count that held: worked out once
        kept = d.compiled.words
        text = kept.get(("fired", lang, x["matched"]))
        if text is None:
            text = tr(lang, "{rule} ({level}) fired: {matched} of {n} conditions held (needs {needed}); "
                            "notify {notify}").format(rule=name, level=tr(lang, x["level"]),
                                                      matched=x["matched"], n=n, needed=x["needed"],
                                                      notify=role_names(d.compiled, x["notify"], lang))
            if len(kept) < WORDS_KEPT:
                kept[("fired", lang, x["matched"])] = text
        if x.get("message"):
            text += f" — {x['message']}"
        return text
    return tr(lang, "{rule} did not fire: {matched} of {n} conditions held (needs {needed})").format(
        rule=name, matched=x["matched"], n=n, needed=x["needed"])


def diff(rule: Alert, add, text) -> None:
    add("level", "level", rule.level, text=rule.level)
    add("at_least", "at_least", repr(rule.at_least), text=str(rule.at_least or 1))
    for c in rule.conditions:
        add("condition", anchor(c), canon(c), c)
    add("notify", "notify", repr(sorted(rule.notify)), text=", ".join(rule.notify))
    if rule.notify_cleared:
        add("notify", "notify when cleared", repr(sorted(rule.notify_cleared)),
            text=", ".join(rule.notify_cleared))
    add("message", "message", repr(rule.message), text=f'"{rule.message or ""}"')


def test_clauses(rule: Alert) -> list:
    return [(c, c) for c in rule.conditions]


# ---------------------------------------------------------------------- names
def names(r, rule: Alert) -> None:
    for cond in rule.conditions:
        r.expr(cond)
    if rule.silence is not None:
        r.form_at(rule.silence, "form", rule.silence.loc)
    for notice in rule.notices:
        r.roles_at(notice, "roles", notice.loc)
    if rule.say is not None:
        r.placeholders(rule.say, "text")


# ---------------------------------------------------------------------- tunable numbers
def params(c, rule) -> None:
    when = rule.when
    if when is None:
        return
    if when.silence is not None:
        c.add(c.first(when.silence.loc, "CONSECUTIVE"), "when", "periods", "consecutive",
              labels(word("periods without {x}"), when.silence.form), "count", COUNT)
    if when.at_least is not None:
        c.add(c.first(when.loc, "AT_LEAST_OF"), "when", "at_least", "at_least",
              labels(word("conditions needed (at least N of {x})"), str(len(when.conditions))),
              "count", Limits(Decimal(1), Decimal(len(when.conditions))))
        for n, cond in enumerate(when.conditions, 1):
            c.numbered(f"when.{n}", c.in_expr(cond))
    else:
        for cond in when.conditions:
            c.numbered("when", c.in_expr(cond))


KIND = Kind(
    name="alert", node=Alert, result=AlertResult,
    build={"alert": build_alert, "when": build_when, "when_at_least": build_when_at_least,
           "when_silent": build_when_silent, "notify": build_notify,
           "notify_cleared": build_notify_cleared, "say": build_say},
    attach=attach, check=check, limits=limits, expected=expected,
    compile=compile_body, run=run, details=details, headline=headline, diff=diff,
    test_clauses=test_clauses, value_variant=True, names=names, words_key=words_key, params=params,
    scheduled=lambda rule, form, ann, lines: None if rule.silence is None else CompiledSilence(rule, form, ann, lines),
    clause_names={"condition": word("condition"), "notify": word("recipients"), "message": word("message"),
                  "level": word("level"), "at_least": word("needed")}, yes_no=True)
