"""Retraction: a platform deleted a record → the facts it produced are retracted and each
period they were filed in is decided again on the facts that remain.

The same machinery as a resubmission: the period's latest live fact is evaluated as a
submission would be (plan.make, with the history before the period) and its decisions
supersede the period's current ones (tx_writer.decide), notifying when an alert's outcome
changes; a period with no live fact left has its current decisions superseded by none.  Facts
are never deleted: `retracted_at` is set, history reads live facts only, and the subject's live
count (fact_counts.n) goes down and its retractions' count (fact_counts.retracted) up, which
sends every worker's history cache back to a full read.
One audit entry `fact_retracted` per fact.  The deletion's delivery is stored with its answer,
so the same deletion delivered twice retracts once; a record whose facts are all retracted
already answers with nothing retracted.

Not re-decided: later periods that read the retracted fact as history (as with a late
resubmission), and forms an approval rule reads (their requests count toward a cycle, and an
approval a fact opened is refused a retraction: decide or reject it through the approval)."""
from __future__ import annotations

import hashlib
from collections import Counter

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from trimtab.server.domain import approval_effects, audit, history, period_decisions, plan as plans, tx_writer
from trimtab.server.domain.filing import file
from trimtab.server.domain.plan import Submission
from trimtab.server.domain.submission import Answer, after_commit, earlier_answer
from trimtab.server.messages import msg
from trimtab.server.storage.models import Approval, Delivery, Fact, FactCount, utcnow
from trimtab.server.core import limits, security
from trimtab.server.core.errors import DomainError


def retract(app, ruleset, client: str, delivery_id: str, source: str, raw: bytes,
            lang: str) -> Answer:
    """Retract the live facts of platform record `source`, delivered as `delivery_id` by
    `client` → the answer (the earlier one for a retried delivery)."""
    if len(delivery_id) > limits.MAX_DELIVERY_ID:
        raise DomainError("delivery_id_too_long", msg("a delivery id is at most {most} characters",
                                                      most=limits.MAX_DELIVERY_ID), security.DELIVERY)
    sessions, digest = app.extensions["trimtab.sessions"], hashlib.sha256(raw).hexdigest()
    try:
        with sessions() as session, session.begin():
            body = _retract(session, app, ruleset, client, source, lang)
            text = plans.answer_text(body)
            session.connection().execute(insert(Delivery.__table__), {
                "client": client, "delivery_id": delivery_id, "body_sha256": digest,
                "status": 200, "response": text, "created_at": utcnow(), "proof": None})
    except (IntegrityError, DomainError):
        answer = earlier_answer(sessions, client, delivery_id, None, digest)
        if answer is None:
            raise
        return answer
    after_commit(app, {"decisions": [], "notifications_queued": body["notifications_queued"]})
    return Answer(text)


def record_facts(sessions, source: str) -> dict | None:
    """What trimtab holds of platform record `source`: its latest live fact's facts, or None."""
    with sessions() as session:
        payload = session.scalars(select(Fact.payload).where(
            Fact.source_record == source, Fact.retracted_at.is_(None))
            .order_by(Fact.id.desc()).limit(1)).first()
    return None if payload is None else history.parse(payload)


def _retract(session, app, ruleset, client: str, source: str, lang: str) -> dict:
    facts = session.scalars(select(Fact).where(
        Fact.source_record == source, Fact.retracted_at.is_(None)).order_by(Fact.id)).all()
    body = {"source_record": source, "retracted": [f.id for f in facts], "periods": [],
            "notifications_queued": 0}
    if not facts:
        return body
    opened = session.scalars(select(Approval.id).where(
        Approval.fact_id.in_([f.id for f in facts]))).first()
    if opened is not None:
        raise DomainError("retraction_refused", msg("this record's request opened approval {approval}: "
                                                    "approve or reject it there; the fact stays",
                                                    approval=opened), "$")
    periods = sorted({(f.form, f.subject, f.period) for f in facts})
    # The periods' locks first, as the writers take them before a fact's counter row.
    for form, subject, period in periods:
        period_decisions.lock(session, form, subject, period)
    now = utcnow()
    for fact in facts:
        fact.retracted_at = now
        audit.append(session, action="fact_retracted", subject=fact.subject, actor=client,
                     details={"fact_id": fact.id, "form": fact.form, "period": fact.period,
                              "source_record": source}, ruleset_version=ruleset.version)
    session.flush()
    for (form, subject), n in Counter((f.form, f.subject) for f in facts).items():
        session.execute(update(FactCount).where(FactCount.form == form, FactCount.subject == subject)
                        .values(n=FactCount.n - n, retracted=FactCount.retracted + n))
    for form, subject, period in periods:
        decided, queued = _redecide(session, app, ruleset, form, subject, period, lang)
        body["periods"].append(decided)
        body["notifications_queued"] += queued
    return body


def _redecide(session, app, ruleset, form: str, subject: str, period: str, lang: str
              ) -> tuple[dict, int]:
    """The period decided again on its latest live fact → (what the answer says of it, the
    notifications queued)."""
    out = {"form": form, "subject": subject, "period": period, "fact_id": None, "decisions": []}
    latest = session.execute(select(Fact.id, Fact.payload, Fact.client).where(
        Fact.form == form, Fact.subject == subject, Fact.period == period,
        Fact.retracted_at.is_(None)).order_by(Fact.id.desc()).limit(1)).first()
    schema = ruleset.schemas.get(form)
    facts = None if latest is None or schema is None else history.checked_entry(schema, latest.payload)
    if facts is None or history.kind(ruleset, form) == history.REQUESTS:
        # Nothing left to decide on: the period's current decisions step aside for none.
        current = period_decisions.take(session, form, subject, period, [], utcnow())
        if current:
            period_decisions.take(session, form, subject, period, list(current), utcnow())
        return out, 0
    earlier = history.read(session, ruleset, form, subject, period)
    sub = Submission(form, facts, b"", latest.payload, latest.client, "", None, lang, True)
    plan = plans.make(ruleset, sub, "", file(schema, facts, app.config["TZ"]), earlier)
    ext = app.extensions
    queued = tx_writer.decide(session, plan, latest.id, ext["trimtab.channels"], ext["trimtab.routes"],
                              approval_effects.for_app(ext, app.config).base_url)
    out.update(fact_id=latest.id, decisions=plan.out)
    return out, queued
