"""A submission planned once: what arrived, where it is filed, the decisions its rules made
(evaluated once, with the history already read) and the effects they may have.

A writer stores a plan: the two-statement PostgreSQL writer (server/domain/pg_intake.py) when it is
only a fact, its decisions and the delivery; the transactional one (server/domain/tx_writer.py) when an
alert's outcome for its period changes and channels are configured (notifications to queue) or
an approval opens.  Both render the same rows and the same answer from it."""
from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import msgspec

from trimtab.dsl.kinds import KINDS
from trimtab.dsl.ruleset import MAX_HISTORY

from trimtab.server.domain import period_decisions
from trimtab.server.domain.filing import Filing


class Submission(NamedTuple):
    """What arrived: `raw` the bytes (a retry must bring the same), `payload` the facts as JSON
    text, as they are stored; `proof` the request's signature, good for this delivery id only
    (None where the platform signs nothing); `lang` the answer's language."""
    form: str
    facts: object
    raw: bytes
    payload: str
    client: str
    delivery_id: str
    proof: str | None
    lang: str
    checked: bool = False   # the facts were decoded against the form's schema already
    source: str | None = None   # the platform record it came from (retraction.py)


COMPACT = "compact"          # a stored document's trace records (Decision.compact)
_ANSWER = msgspec.json.Encoder()


def answer_text(body: dict) -> str:
    """An answer's JSON text, as it is sent and stored with its delivery (a retry gets these
    very bytes).  msgspec writes it in a quarter of json.dumps' instructions (callgrind, the
    weekly_metrics answer: 158,000 → 38,000); no spaces after separators, non-ASCII as it is."""
    return _ANSWER.encode(body).decode()


RESPONSE_KEYS = ("rule", "kind", "value", "explanation", "error", "notify", "message", "level",
                 "violations", "steps")


class Plan(NamedTuple):
    sub: Submission
    digest: str             # sha256 of the raw body: a retry must match it
    filing: Filing
    version: str            # the rule set's
    decisions: list         # dsl Decisions, in rule order
    docs: list[dict]        # each decision's document, as stored (stored_doc)
    out: list[dict]         # the decisions as the answer lists them

    @property
    def asks_a_change(self) -> bool:
        """An approval rule decided on this submission (allowed or not): a change is judged on
        the figures the server holds, never on the ones the request states."""
        return any(d.kind == "approval" for d in self.decisions)

    @property
    def approval(self):
        """The first allowed approval decision: an approval to open (None: none)."""
        return next((d for d in self.decisions if _acts(d, "approval")), None)

    def notifies(self, current: dict) -> list[tuple[object, str]]:
        """(decision, change) for each alert whose period's outcome changes, as against the
        period's `current` decisions (period_decisions.Current by rule)."""
        return period_decisions.changes(self.decisions, current)

    def needs_transaction(self, current: dict, routes: dict | None) -> bool:
        """More to store than decisions: an approval to open, or notifications to queue
        (an alert's outcome changes and channels are configured)."""
        return self.approval is not None or bool(routes) and bool(self.notifies(current))

    def fact_row(self, now: dt.datetime) -> dict:
        f, sub = self.filing, self.sub
        return {"form": sub.form, "subject": f.subject, "period": f.period, "occurred_on": f.day,
                "payload": sub.payload, "client": sub.client, "received_at": now,
                "source_record": sub.source, **f.owner}

    def decision_values(self) -> list[dict]:
        """Each decision as its set stores it (rule, kind, fired, result, error_code: one
        element of decision_sets.decisions, period_decisions.store and pg_intake.WRITE); the
        rest — fact, period, version, time — are the set's."""
        return [{"rule": d.rule, "kind": d.kind, "fired": _fired(d), "result": doc,
                 "error_code": d.error.code if d.error else None}
                for d, doc in zip(self.decisions, self.docs)]

    def body(self, fact_id: int, approval: dict | None = None, queued: int = 0) -> dict:
        """The answer, as stored with the delivery."""
        return {"fact_id": fact_id, "period": self.filing.period, "ruleset_version": self.version,
                "decisions": self.out, "approval": approval, "notifications_queued": queued}


def make(ruleset, sub: Submission, digest: str, filing: Filing, history: list) -> Plan:
    """Evaluate every rule on the form in force on the filing's day, traced, once."""
    decisions = evaluate(ruleset, sub.form, sub.facts, history, filing.day)
    docs = [stored_doc(d, sub.lang) for d in decisions]
    out = [{k: doc.get(k) for k in RESPONSE_KEYS if k in doc} for doc in docs]
    return Plan(sub, digest, filing, ruleset.version, decisions, docs, out)


def stored_doc(d, lang: str) -> dict:
    """What a decision row keeps (`decisions.result`): the decision's JSON document without its
    trace lines — value, details and headline, which queries, reports and the answer read —
    and `compact`, its result and trace records, from which the lines are rendered when someone
    reads it (why.Reader), in the reader's language.  Rendering the lines was most of a
    webhook's document cost; nobody reads most decisions' traces."""
    doc = d.to_json(lang, with_trace=False)
    doc[COMPACT] = d.compact()
    return doc


def evaluate(ruleset, form: str, facts: dict, history: list, day: dt.date) -> list:
    """Every rule on `form` in force on `day`, traced; `facts` validated against the form's
    schema (submission.py validates before it plans: the rules need not check their types
    again); `history` as server/domain/history.py reads it: checked against the form already."""
    if form not in ruleset.by_form:
        return []
    # The latest periods only: one webhook's work is bounded however long the history grows.
    # (A slice is a plain list: periods.Dated keeps its period numbers only when none is cut.)
    if len(history) > MAX_HISTORY:
        history = history[-MAX_HISTORY:]
    return ruleset.evaluate(form, facts, history, trace=True, as_of=day.isoformat(), valid=True)


def _acts(d, kind: str) -> bool:
    """A fired alert (notifications to queue) or an allowed change (an approval to open)."""
    return d.kind == kind and d.error is None and bool(d.value)


def _fired(d) -> bool:
    """What the stored decision's `fired` says: a yes/no kind's yes (an alert fired, a change
    allowed); any other kind's decision, once made."""
    if d.error is not None:
        return False
    return bool(d.value) if KINDS[d.kind].yes_no else True
