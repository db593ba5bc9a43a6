"""The history of a form an approval rule listens to: the subject's earlier requests.

Every earlier request of the subject on the form that was neither rejected by its approvers nor
refused by its rule counts toward the rule's `at most N … per cycle`.  Reading them reads
approvals, so they are read in the writer's transaction (server/domain/tx_writer.py), never on
the two-statement path (server/domain/history.py says which forms read which history).
"""
from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import select

from trimtab.server.storage.models import Approval, Decision, Fact


def requests(session, form: str, subject: str) -> list[dict]:
    """Every earlier request of `subject` on `form`, oldest first, that was neither rejected by
    its approvers nor refused by its approval rule."""
    rejected = set(session.scalars(select(Approval.fact_id).where(
        Approval.subject == subject, Approval.status == "rejected")))
    rows = session.execute(
        select(Fact.id, Fact.payload).where(Fact.form == form, Fact.subject == subject,
                                            Fact.retracted_at.is_(None))
        .order_by(Fact.id)).all()
    refused = _refused_fact_ids(session, [r.id for r in rows])
    return [json.loads(p, parse_float=Decimal) for i, p in rows
            if i not in rejected and i not in refused]


def _refused_fact_ids(session, fact_ids) -> set:
    """Requests whose approval rule refused them: they are not changes."""
    if not fact_ids:
        return set()
    found = session.execute(select(Decision.fact_id).where(
        Decision.fact_id.in_(fact_ids), Decision.kind == "approval", Decision.fired.is_(False)))
    return {r.fact_id for r in found}
