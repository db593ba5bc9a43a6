"""The transactional writer: a plan stored in the caller's transaction — the fact, its
decisions (superseding the period's current ones, under the period's lock), the notifications
its alerts queue, the approval it opens and the delivery with its answer, together or not at
all.  It takes every plan; PostgreSQL's two-statement writer (pg_intake.py) takes the plans
that are only a fact and its decisions."""
from __future__ import annotations


from sqlalchemy import bindparam, exists, insert, select
from sqlalchemy.orm import Session

from trimtab.server.domain import approval_effects, period_decisions
from trimtab.server.domain.approval_flow import (approval_json, check_current_target, open_approval, resolve_role)
from trimtab.server.domain.filing import check_org_relation
from trimtab.server.storage.models import Delivery, Fact, Person, utcnow
from trimtab.server.domain.alert_notices import enqueue_alert
from trimtab.server.domain import plan as plans
from trimtab.server.domain.plan import Plan

# Core tables for the webhook's hot path: the ORM's unit of work and entity loading cost more
# than the rules there.
FACTS, PEOPLE = Fact.__table__, Person.__table__
_F = FACTS.c
FACT_COLUMNS = ("form", "subject", "period", "occurred_on", "payload", "client", "received_at",
                "rep", "region", "source_record")
INSERT_DELIVERY = insert(Delivery.__table__)


def _insert_fact(columns: tuple, of_known_rep: bool):
    """INSERT of a fact (RETURNING its id); `of_known_rep`: only if its rep is in the
    organisation chart — one statement where a lookup first would be a second round trip."""
    if not of_known_rep:
        return insert(FACTS).returning(_F.id)
    region = bindparam("region", type_=_F.region.type)
    return insert(FACTS).from_select(
        columns,
        select(*[bindparam(k, type_=_F[k].type).label(k) for k in columns])
        .where(exists().where(PEOPLE.c.id == bindparam("rep"),
                              region.is_(None) | PEOPLE.c.region.is_(None)
                              | (PEOPLE.c.region == region)))).returning(_F.id)


# Statements built once: building and cache-keying a statement per request cost as much as
# running it.  The id is given when PostgreSQL's read took it already (pg_intake.READ).
INSERT_FACT = {(known, given): _insert_fact(("id",) * given + FACT_COLUMNS, known)
               for known in (False, True) for given in (False, True)}


def write(session: Session, plan: Plan, fact_id: int | None = None, channels: dict | None = None,
          routes: dict | None = None, effects=None) -> tuple[dict, str]:
    """Store `plan` in the session's transaction → (the answer, its JSON text).  `effects`
    (approval_effects.Effects): where an approval it opens is announced."""
    facts, f = plan.sub.facts, plan.filing
    if plan.asks_a_change:
        check_current_target(session, facts)
    if plan.decisions:
        # The period's lock before the fact's insert, as in pg_intake.WRITE: the insert locks
        # the subject's counter row (fact_counts), and the writers take the two in one order.
        period_decisions.lock(session, plan.sub.form, f.subject, f.period)
    fact_id = store_fact(session, plan.fact_row(utcnow()), facts.get("rep"), fact_id)
    queued = decide(session, plan, fact_id, channels, routes, effects.base_url if effects else "")
    approval = None
    if plan.approval is not None:
        approval = open_approval(session, plan.approval, fact_id, facts, plan.version)
        queued += approval_effects.opened(session, approval, effects,
                                          plan.approval.explain(effects.lang) if effects else "")
    body = plan.body(fact_id, approval_json(approval) if approval else None, queued)
    text = plans.answer_text(body)
    session.connection().execute(INSERT_DELIVERY, {
        "client": plan.sub.client, "delivery_id": plan.sub.delivery_id,
        "body_sha256": plan.digest, "status": 200, "response": text, "created_at": utcnow(),
        "proof": plan.sub.proof})
    return body, text


def decide(session: Session, plan: Plan, fact_id: int, channels: dict | None = None,
           routes: dict | None = None, base_url: str = "") -> int:
    """The plan's decisions of `fact_id`, superseding its period's current ones (under the
    period's lock), and the notifications their changes queue → how many were queued.  A
    resubmission and a retraction's re-evaluation (server/domain/retraction.py) both end here.
    `base_url`: the server as people reach it (the messages link to each decision's why)."""
    f, now = plan.filing, utcnow()
    values = plan.decision_values()
    current, ids = {}, {}
    if values:
        # The period's earlier decisions step aside first: one set heads a period (an index).
        current = period_decisions.take(session, plan.sub.form, f.subject, f.period,
                                        [v["rule"] for v in values], now, new_head=True)
        first = period_decisions.store(session, fact_id, plan.sub.form, f.subject, f.period,
                                       plan.version, now, values)
        # each message links to its decision and takes its id from it
        ids = {v["rule"]: first + place for place, v in enumerate(values)}
    queued = 0
    for d, change in (plan.notifies(current) if routes else []):
        queued += enqueue_alert(session, d, fact_id, plan.sub.facts, routes or {}, channels or {},
                                resolve_role, change, ids.get(d.rule), base_url)
    return queued


def store_fact(session: Session, row: dict, rep, fact_id: int | None = None) -> int:
    """Insert a fact and return its id (`fact_id` when given); a fact naming a rep only if the
    rep is known."""
    given = fact_id is not None
    if given:
        row = {"id": fact_id, **row}
    if rep is None:
        return session.connection().execute(INSERT_FACT[False, given], row).scalar_one()
    fact_id = session.connection().execute(INSERT_FACT[True, given],
                                           {**row, "rep": str(rep)}).scalar()
    if fact_id is None:
        known = session.get(Person, str(rep))
        check_org_relation(None if known is None else (known.region,), rep, row.get("region"))
    return fact_id
